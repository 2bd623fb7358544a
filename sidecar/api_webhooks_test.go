package sidecar_test

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/webhooks"
)

func TestWebhooksCRUD(t *testing.T) {
	e := newLKEnv(t, webhooks.Options{})
	base := basePathF + "/webhooks"
	r := e.must(201, "POST", base, map[string]any{"name": " Main ", "url": "https://example.com/hook",
		"events": []string{"meeting.started", "meeting.ended", "meeting.started"}})
	w := r.data()
	id, _ := w["id"].(string)
	if id == "" || w["name"] != "Main" || w["url"] != "https://example.com/hook" || w["enabled"] != true ||
		fmt.Sprint(w["events"]) != "[meeting.started meeting.ended]" || w["created_at"] == "" || w["updated_at"] == "" {
		t.Fatalf("created webhook = %s", r.Raw)
	}
	for _, tc := range []struct {
		body any
		want string
	}{
		{map[string]any{"url": "https://x", "events": []string{"meeting.started"}}, `"name" is required`},
		{map[string]any{"name": "x", "events": []string{"meeting.started"}}, `"url" is required`},
		{map[string]any{"name": "x", "url": "https://x"}, `"events" is required`},
		{map[string]any{"name": "x", "url": "ftp://x", "events": []string{"meeting.started"}}, `"url" must be an http(s) URL`},
		{map[string]any{"name": "x", "url": "https://x", "events": []string{}}, `"events" must list at least one event`},
		{map[string]any{"name": "x", "url": "https://x", "events": []string{"meeting.exploded"}}, `"events" has an unknown event "meeting.exploded"`},
		{map[string]any{"name": "x", "url": "https://x", "events": "meeting.started"}, `"events" must be an array`},
	} {
		wantError(t, e.do("POST", base, "", tc.body), 400, tc.want)
	}

	list := e.must(200, "GET", base, nil).list()
	if len(list) != 1 || e.must(200, "GET", base, nil).Body["paging"] != nil {
		t.Errorf("list = %v, want one webhook and no paging", list)
	}
	r = e.must(200, "PATCH", base+"/"+id, map[string]any{"enabled": false})
	if r.data()["enabled"] != false || r.data()["name"] != "Main" {
		t.Errorf("patched = %s", r.Raw)
	}
	wantError(t, e.do("PATCH", base+"/"+id, "", map[string]any{"url": "not a url"}), 400, `"url" must be an http(s) URL`)
	wantError(t, e.do("PUT", base+"/"+id, "", map[string]any{"name": "Only a name"}), 400, `"url" is required`)
	r = e.must(200, "PUT", base+"/"+id, map[string]any{"name": "Replaced", "url": "http://example.com/2", "events": []string{"meeting.ended"}})
	if r.data()["enabled"] != true || r.data()["name"] != "Replaced" || fmt.Sprint(r.data()["events"]) != "[meeting.ended]" {
		t.Errorf("replaced = %s", r.Raw)
	}
	if got := e.must(200, "GET", base+"/"+id, nil).data(); got["url"] != "http://example.com/2" {
		t.Errorf("get after replace = %v", got)
	}
	// Another app sees nothing of it.
	otherBase := "/accounts/" + otherAcc + "/realtime/kit/" + otherApp + "/webhooks/" + id
	wantError(t, e.do("GET", otherBase, "Bearer "+otherKey, nil), 404, "webhook "+id+" not found")
	r = e.must(200, "DELETE", base+"/"+id, nil)
	if r.data()["id"] != id {
		t.Errorf("deleted = %s", r.Raw)
	}
	wantError(t, e.do("GET", base+"/"+id, "", nil), 404)
	wantError(t, e.do("DELETE", base+"/"+id, "", nil), 404)
	wantError(t, e.do("GET", base+"/"+id+"/deliveries", "", nil), 404)

	// The public key, without credentials.
	r = e.do("GET", "/.well-known/webhooks.json", "-", nil)
	key, _ := r.data()["publicKey"].(string)
	if r.Status != 200 || r.Body["success"] != true || r.Body["message"] != "" || !strings.HasPrefix(key, "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("well-known = %d %s", r.Status, r.Raw)
	}
}

// hookReceiver is a receiver of RealtimeKit webhooks as a customer writes
// one: it fetches the public key from /.well-known/webhooks.json, verifies
// every signature, and dedupes by delivery id.
type hookReceiver struct {
	t   *testing.T
	srv *httptest.Server
	pub *rsa.PublicKey

	mu       sync.Mutex
	status   func(n int) int // the answer to the n-th request (from 1)
	requests int
	order    []string          // delivery ids, first acceptance order
	seen     map[string]int    // delivery id -> acceptances
	bodies   map[string][]byte // delivery id -> body
	headers  map[string]http.Header
}

func newHookReceiver(t *testing.T, sidecarURL string) *hookReceiver {
	t.Helper()
	res, err := http.Get(sidecarURL + "/.well-known/webhooks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var wk struct {
		Data struct {
			PublicKey string `json:"publicKey"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&wk); err != nil {
		t.Fatal(err)
	}
	pub, err := webhooks.ParsePublicKey(wk.Data.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	h := &hookReceiver{t: t, pub: pub, status: func(int) int { return 200 }, seen: map[string]int{},
		bodies: map[string][]byte{}, headers: map[string]http.Header{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	prefix := "rtk"
	if r.Header.Get("dyte-signature") != "" {
		prefix = "dyte"
	}
	if err := webhooks.Verify(h.pub, body, r.Header.Get(prefix+"-signature")); err != nil {
		h.t.Errorf("webhook with a bad signature: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := r.Header.Get(prefix + "-uuid")
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	status := h.status(h.requests)
	if status < 300 {
		if h.seen[id] == 0 {
			h.order = append(h.order, id)
			h.bodies[id] = body
			h.headers[id] = r.Header.Clone()
		}
		h.seen[id]++
	}
	w.WriteHeader(status)
}

// answered returns how many requests the receiver has answered.
func (h *hookReceiver) answered() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests
}

func (h *hookReceiver) setStatus(f func(n int) int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = f
}

// events returns the accepted events as "name" or "name:participantId".
func (h *hookReceiver) events() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, id := range h.order {
		var b struct {
			Event       string         `json:"event"`
			Participant map[string]any `json:"participant"`
		}
		_ = json.Unmarshal(h.bodies[id], &b)
		s := b.Event
		if b.Participant != nil {
			s += ":" + fmt.Sprint(b.Participant["participantId"])
		}
		out = append(out, s)
	}
	return out
}

func (h *hookReceiver) body(i int) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b map[string]any
	_ = json.Unmarshal(h.bodies[h.order[i]], &b)
	return b
}

func eventuallyT(t *testing.T, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := cond()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, missing)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fastWebhooks() webhooks.Options {
	return webhooks.Options{Timeout: 2 * time.Second, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		PollInterval: 50 * time.Millisecond}
}

// TestWebhookDelivery: a meeting's life, from LiveKit's webhooks to a
// receiver that is down for a while: every event arrives signed, once per
// delivery id after dedupe, in order, with the documented payloads.
func TestWebhookDelivery(t *testing.T) {
	e := newLKEnv(t, fastWebhooks())
	rcv := newHookReceiver(t, e.srv.URL)
	dyte := newHookReceiver(t, e.srv.URL)
	e.must(201, "POST", basePathF+"/webhooks", map[string]any{"name": "all", "url": rcv.srv.URL, "events": webhooks.EventNames})
	e.must(201, "POST", "/v2/webhooks", map[string]any{"name": "dyte", "url": dyte.srv.URL, "events": []string{"meeting.started"}})
	var upMu sync.Mutex
	up := false
	rcv.setStatus(func(int) int {
		upMu.Lock()
		defer upMu.Unlock()
		if up {
			return 200
		}
		return 503
	})

	m := e.meeting("Delivery")
	ada, _ := e.addParticipant(m.ID, "ada", "group_call_host")
	bob, _ := e.addParticipant(m.ID, "bob", "group_call_host")
	e.join(m, ada)
	e.join(m, bob)
	e.sfu.Leave(m.ID, bob)
	e.sfu.Finish(m.ID)
	want := []string{"meeting.started", "meeting.participantJoined:" + ada, "meeting.participantJoined:" + bob,
		"meeting.participantLeft:" + bob, "meeting.participantLeft:" + ada, "meeting.ended"}

	eventuallyT(t, 10*time.Second, func() string {
		if got := dyte.events(); !slices.Equal(got, want[:1]) {
			return fmt.Sprintf("dyte webhook got %v", got)
		}
		return ""
	})
	eventuallyT(t, 10*time.Second, func() string { // a few 503s, retries among them
		if n := rcv.answered(); n <= len(want) {
			return fmt.Sprintf("%d requests answered, want more than the %d events", n, len(want))
		}
		return ""
	})
	if got := rcv.events(); len(got) != 0 {
		t.Fatalf("accepted %v while answering 503", got)
	}
	upMu.Lock()
	up = true
	upMu.Unlock()
	eventuallyT(t, 10*time.Second, func() string {
		if got := rcv.events(); !slices.Equal(got, want) {
			return fmt.Sprintf("events %v, want %v", got, want)
		}
		return ""
	})

	rcv.mu.Lock()
	for id, n := range rcv.seen {
		if n != 1 {
			t.Errorf("delivery %s accepted %d times", id, n)
		}
	}
	if rcv.requests <= len(want) {
		t.Errorf("%d requests: the receiver's 503s were not retried", rcv.requests)
	}
	hdr := rcv.headers[rcv.order[0]]
	rcv.mu.Unlock()
	if hdr.Get("rtk-webhook-id") == "" || hdr.Get("rtk-uuid") != rcv.order[0] || hdr.Get("dyte-uuid") != "" {
		t.Errorf("headers = %v", hdr)
	}
	dyte.mu.Lock()
	dh := dyte.headers[dyte.order[0]]
	dyte.mu.Unlock()
	if dh.Get("dyte-webhook-id") == "" || dh.Get("dyte-signature") == "" || dh.Get("rtk-uuid") != "" {
		t.Errorf("dyte headers = %v", dh)
	}

	started, joined, ended := rcv.body(0), rcv.body(1), rcv.body(5)
	mb := started["meeting"].(map[string]any)
	if mb["id"] != m.ID || mb["title"] != "Delivery" || mb["roomName"] != m.ID || mb["status"] != "LIVE" || mb["sessionId"] == "" {
		t.Errorf("meeting.started = %v", started)
	}
	p := joined["participant"].(map[string]any)
	if p["customParticipantId"] != "ada" || p["userDisplayName"] != "Name ada" || p["peerId"] == "" || p["joinedAt"] == nil {
		t.Errorf("participantJoined = %v", joined)
	}
	if ended["reason"] != "ALL_PARTICIPANTS_LEFT" || ended["meeting"].(map[string]any)["endedAt"] == nil {
		t.Errorf("meeting.ended = %v", ended)
	}

	// The deliveries API shows them delivered.
	hooks := e.must(200, "GET", basePathF+"/webhooks", nil).list()
	var hookID string
	for _, h := range hooks {
		if h.(map[string]any)["name"] == "all" {
			hookID = h.(map[string]any)["id"].(string)
		}
	}
	eventuallyT(t, 5*time.Second, func() string {
		r := e.must(200, "GET", basePathF+"/webhooks/"+hookID+"/deliveries?status=delivered", nil)
		if n := len(r.list()); n != len(want) {
			return fmt.Sprintf("%d delivered deliveries", n)
		}
		return ""
	})
	r := e.must(200, "GET", basePathF+"/webhooks/"+hookID+"/deliveries?per_page=1", nil)
	d := r.list()[0].(map[string]any)
	if d["event"] != "meeting.started" || d["attempts"].(float64) < 2 || d["delivered_at"] == nil || d["payload"].(map[string]any)["event"] != "meeting.started" {
		t.Errorf("first delivery = %v", d)
	}
	if pg := r.Body["paging"].(map[string]any); pg["total_count"].(float64) != float64(len(want)) {
		t.Errorf("paging = %v", pg)
	}
	one := e.must(200, "GET", basePathF+"/webhooks/"+hookID+"/deliveries/"+d["id"].(string), nil)
	if one.data()["id"] != d["id"] {
		t.Errorf("get delivery = %s", one.Raw)
	}
	wantError(t, e.do("GET", basePathF+"/webhooks/"+hookID+"/deliveries?status=lost", "", nil), 400, `"status" must be one of`)
}

// TestWebhookFailures: a 4xx answer fails a delivery without retrying;
// 5xx past the retry budget (max_age) makes it dead; both are visible in
// the API and a retry through the API delivers them.
func TestWebhookFailures(t *testing.T) {
	opts := fastWebhooks()
	opts.MaxAge = 300 * time.Millisecond
	e := newLKEnv(t, opts)
	rcv := newHookReceiver(t, e.srv.URL)
	var mu sync.Mutex
	answer := 410
	rcv.setStatus(func(int) int { mu.Lock(); defer mu.Unlock(); return answer })
	hookID := e.must(201, "POST", basePathF+"/webhooks", map[string]any{"name": "all", "url": rcv.srv.URL,
		"events": []string{"meeting.started"}}).data()["id"].(string)
	deliveries := func(status string) []any {
		return e.must(200, "GET", basePathF+"/webhooks/"+hookID+"/deliveries?status="+status, nil).list()
	}

	// A session starts with its first participant.
	m := e.meeting("Refused")
	e.sfu.Join(m.ID, &livekit.ParticipantInfo{Identity: "someone"})
	eventuallyT(t, 5*time.Second, func() string {
		if n := len(deliveries("failed")); n != 1 {
			return fmt.Sprintf("%d failed deliveries", n)
		}
		return ""
	})
	failed := deliveries("failed")[0].(map[string]any)
	if failed["attempts"].(float64) != 1 || failed["last_status_code"].(float64) != 410 || !strings.Contains(failed["last_error"].(string), "410") {
		t.Errorf("failed delivery = %v", failed)
	}

	mu.Lock()
	answer = 500
	mu.Unlock()
	m2 := e.meeting("Down")
	e.sfu.Join(m2.ID, &livekit.ParticipantInfo{Identity: "someone"})
	eventuallyT(t, 5*time.Second, func() string {
		if n := len(deliveries("dead")); n != 1 {
			return fmt.Sprintf("%d dead deliveries", n)
		}
		return ""
	})
	dead := deliveries("dead")[0].(map[string]any)
	if dead["attempts"].(float64) < 2 || dead["last_status_code"].(float64) != 500 || dead["next_attempt_at"] != nil {
		t.Errorf("dead delivery = %v", dead)
	}

	mu.Lock()
	answer = 200
	mu.Unlock()
	for _, d := range []map[string]any{failed, dead} {
		r := e.must(200, "POST", basePathF+"/webhooks/"+hookID+"/deliveries/"+d["id"].(string)+"/retry", nil)
		if r.data()["id"] != d["id"] {
			t.Errorf("retry = %s", r.Raw)
		}
	}
	eventuallyT(t, 5*time.Second, func() string {
		if n := len(deliveries("delivered")); n != 2 {
			return fmt.Sprintf("%d delivered after retrying", n)
		}
		return ""
	})
	if got := rcv.events(); len(got) != 2 {
		t.Errorf("receiver accepted %v", got)
	}
	wantError(t, e.do("POST", basePathF+"/webhooks/"+hookID+"/deliveries/"+dead["id"].(string)+"/retry", "", nil), 412, "not failed or dead")
	wantError(t, e.do("POST", basePathF+"/webhooks/"+hookID+"/deliveries/nope/retry", "", nil), 404)
}
