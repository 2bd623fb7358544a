package sidecar_test

import (
	"fmt"
	"testing"
	"time"

	"rtk-sidecar/webhooks"
)

// TestParticipantPolls: a participant creates a poll in its room if its preset may
// (polls.can_create), and lists the room's polls, a hide_votes poll's counts shown once it
// voted; the envelope for the refusals.
func TestParticipantPolls(t *testing.T) {
	e := newLKEnv(t, webhooks.Options{})
	m := e.meeting("Polls")
	host, hostTok := e.addParticipant(m.ID, "host", "group_call_host")
	ada, adaTok := e.addParticipant(m.ID, "ada", "group_call_participant")
	as := func(tok, method string, body any) response {
		return e.do(method, "/client/v1/polls", "Bearer "+tok, body)
	}
	body := map[string]any{"question": "Lunch?", "options": []string{"Pizza", "Sushi"}, "hideVotes": true}

	wantError(t, as(hostTok, "POST", body), 412, "is in no room")
	wantError(t, as(hostTok, "GET", nil), 412, "is in no room")
	wantError(t, e.do("POST", "/client/v1/polls", "-", body), 401)
	e.join(m, host)
	e.join(m, ada)
	wantError(t, as(hostTok, "POST", map[string]any{"options": []string{"a", "b"}}), 400, `"question" is required`)
	wantError(t, as(hostTok, "POST", map[string]any{"question": "q", "options": []string{"a"}}), 400, `"options"`)
	wantError(t, as(hostTok, "POST", map[string]any{"question": "q", "options": "a"}), 400, `"options" must be an array`)
	wantError(t, as(adaTok, "POST", body), 403, "does not allow creating polls")

	r := as(hostTok, "POST", body)
	if r.Status != 201 || r.data()["question"] != "Lunch?" || r.data()["created_by"] != host || r.data()["hide_votes"] != true || r.data()["meeting_id"] != m.ID {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	pollID := r.data()["id"].(string)
	if pk := e.sfu.Packets(); len(pk) != 1 || pk[0].Topic != "rtk.poll" || pk[0].Room != m.ID {
		t.Errorf("packets = %+v", pk)
	}
	counts := func(tok string) (string, []any) {
		l := as(tok, "GET", nil)
		ps, _ := l.data()["polls"].([]any)
		if l.Status != 200 || l.data()["meetingId"] != m.ID || len(ps) != 1 || ps[0].(map[string]any)["id"] != pollID {
			t.Fatalf("list: %d %s", l.Status, l.Raw)
		}
		p := ps[0].(map[string]any)
		var c string
		for _, o := range p["options"].([]any) {
			c += fmt.Sprint(o.(map[string]any)["count"])
		}
		return c, p["voted"].([]any)
	}
	e.agents.vote(t, m.ID, ada, pollID, 1)
	eventuallyT(t, 5*time.Second, func() string {
		if c, voted := counts(adaTok); c != "01" || len(voted) != 1 {
			return fmt.Sprintf("Ada, who voted, sees counts %s, voted %v", c, voted)
		}
		return ""
	})
	// The host has not voted: it sees who voted, not the counts.
	if c, voted := counts(hostTok); c != "00" || len(voted) != 1 || voted[0] != ada {
		t.Fatalf("the host sees counts %s, voted %v", c, voted)
	}
}
