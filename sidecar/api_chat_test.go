package sidecar_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"rtk-sidecar/webhooks"
)

func TestChatAPI(t *testing.T) {
	e := newLKEnv(t, webhooks.Options{})
	m := e.meeting("Chat")
	ada, adaTok := e.addParticipant(m.ID, "ada", "group_call_participant")
	// A preset that may not send to the chat.
	doc := presetDoc(t, "mute_chat")
	chatPerms := doc["permissions"].(map[string]any)["chat"].(map[string]any)
	chatPerms["public"].(map[string]any)["can_send"] = false
	chatPerms["private"].(map[string]any)["can_receive"] = false
	e.must(200, "POST", basePathF+"/presets", doc)
	quiet, quietTok := e.addParticipant(m.ID, "quiet", "mute_chat")
	send := func(tok string, body any) response { return e.do("POST", "/client/v1/chat", "Bearer "+tok, body) }

	wantError(t, e.do("POST", "/client/v1/chat", "-", map[string]any{"message": "hi"}), 401)
	wantError(t, send(adaTok, map[string]any{"message": "hi"}), 412, "is in no room")
	e.join(m, ada)
	wantError(t, send(adaTok, map[string]any{}), 400, `"message" is required`)
	wantError(t, send(adaTok, "{not json"), 400)
	wantError(t, send(adaTok, map[string]any{"message": " "}), 400, `"message" is required`)

	r := send(adaTok, map[string]any{"message": "hello, room"})
	if r.Status != 201 || r.data()["message"] != "hello, room" || r.data()["meetingId"] != m.ID || r.data()["participantId"] != ada ||
		r.data()["displayName"] != "Name ada" || r.data()["id"] == "" || r.data()["sessionId"] == "" {
		t.Fatalf("send: %d %s", r.Status, r.Raw)
	}
	if pk := e.sfu.Packets(); len(pk) != 1 || pk[0].Topic != "rtk.chat" || pk[0].Room != m.ID || !strings.Contains(string(pk[0].Data), `"hello, room"`) {
		t.Errorf("packets = %+v", pk)
	}
	e.join(m, quiet)
	wantError(t, send(quietTok, map[string]any{"message": "psst"}), 403, "does not allow")
	wantError(t, send(adaTok, map[string]any{"message": "psst", "to": quiet}), 403, "does not allow receiving private messages")
	// A private message to someone who may receive it: to the two of them only.
	pm := send(quietTok, map[string]any{"message": "just you", "to": ada})
	if pm.Status != 201 || pm.data()["toParticipantId"] != ada {
		t.Fatalf("private message: %d %s", pm.Status, pm.Raw)
	}
	if pk := e.sfu.Packets(); len(pk) != 2 || strings.Join(pk[1].Identities, ",") != ada+","+quiet {
		t.Errorf("private packet to %v", pk[len(pk)-1].Identities)
	}

	h := e.do("GET", "/client/v1/chat", "Bearer "+adaTok, nil)
	msgs, _ := h.data()["messages"].([]any)
	if h.Status != 200 || h.data()["meetingId"] != m.ID || len(msgs) != 2 || msgs[0].(map[string]any)["message"] != "hello, room" || msgs[1].(map[string]any)["message"] != "just you" {
		t.Fatalf("history: %d %s", h.Status, h.Raw)
	}

	// The session's chat, through the REST API and its signed link (no API key).
	sid := r.data()["sessionId"].(string)
	x := e.must(200, "GET", basePathF+"/sessions/"+sid+"/chat", nil)
	link, _ := x.data()["chat_download_url"].(string)
	if link == "" || x.data()["chat_download_url_expiry"] == "" {
		t.Fatalf("export: %s", x.Raw)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(e.srv.URL + u.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || err != nil ||
		len(rows) != 3 || rows[1][2] != ada || rows[1][4] != "hello, room" || rows[2][5] != ada {
		t.Fatalf("download: %d %q %q (%v)", res.StatusCode, res.Header.Get("Content-Type"), body, err)
	}
	q := u.Query()
	sig := q.Get("signature")
	tampered := "A" + sig[1:]
	if sig[0] == 'A' { // a signature that starts with A would be left as it is
		tampered = "B" + sig[1:]
	}
	q.Set("signature", tampered)
	wantError(t, e.do("GET", u.Path+"?"+q.Encode(), "-", nil), 403, "not valid")
	wantError(t, e.do("GET", basePathF+"/sessions/no-such-session/chat", "", nil), 404)
	wantError(t, e.do("GET", "/accounts/"+otherAcc+"/realtime/kit/"+otherApp+"/sessions/"+sid+"/chat", "Bearer "+otherKey, nil), 404)
}
