//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"rtk-sidecar/chat"
	"rtk-sidecar/presets"
)

// TestReplicasShareRateLimits: two replicas on one Redis count a participant's requests in one
// bucket per limit (ratelimit.Shared). Requests sent alternately to both replicas are accepted
// up to the burst of one bucket, not of one bucket per replica, and the others are refused with
// 429 in RealtimeKit's error envelope: a help request (one every 10 s) is accepted once, and of
// chat messages (chat.Rate a second, chat.Burst at once) chat.Burst are accepted, plus what the
// bucket refilled while they were sent.
func TestReplicasShareRateLimits(t *testing.T) {
	cl := startCluster(t, 1)
	sc := cl.sc
	parent := sc.CreateMeeting(t, "Shared limits")
	_, hostToken := sc.AddParticipant(t, parent, "host", presets.GroupCallHost) // someone to ask for help
	id, token := sc.AddParticipant(t, parent, "talker", presets.GroupCallParticipant)
	sc.Connect(t, hostToken)
	sc.Connect(t, token)
	reps := [2]string{cl.reps[0].url, cl.reps[1].url}

	// Help: one request every 10 s, whichever replica gets it.
	for i := range 4 {
		st, env := postAs(t, reps[i%2], token, "/client/v1/connected-meetings/help", map[string]any{"message": fmt.Sprint("stuck ", i)})
		switch {
		case i == 0 && st != http.StatusOK:
			t.Fatalf("the first help request, to %s: %d %+v, want it accepted", cl.reps[0].node, st, env)
		case i > 0:
			checkRefused(t, fmt.Sprintf("help request %d, to %s,", i+1, cl.reps[i%2].node), st, env)
		}
	}

	// Chat: the participant's session must be live before it may send; reading the chat
	// counts nothing.
	eventually(t, 15*time.Second, func() string {
		for _, url := range reps {
			if st := (&Sidecar{BaseURL: url}).Call(t, "GET", "/client/v1/chat", "Bearer "+token, nil, nil); st != http.StatusOK {
				return fmt.Sprintf("GET /client/v1/chat on %s: %d", url, st)
			}
		}
		return ""
	})
	accepted, refused := 0, 0
	start := time.Now()
	for i := range 2 * chat.Burst {
		st, env := postAs(t, reps[i%2], token, "/client/v1/chat", map[string]any{"message": fmt.Sprint("message ", i)})
		if st == http.StatusCreated {
			accepted++
			continue
		}
		refused++
		checkRefused(t, fmt.Sprintf("chat message %d, to %s,", i+1, cl.reps[i%2].node), st, env)
	}
	elapsed := time.Since(start)
	// The bucket starts full (chat.Burst) and refills chat.Rate a second while the messages go.
	refilled := int(elapsed.Seconds() * chat.Rate)
	t.Logf("%d chat messages of %s accepted, %d refused, in %s", accepted, short(id), refused, elapsed.Round(time.Millisecond))
	if accepted < chat.Burst || accepted > chat.Burst+refilled {
		t.Errorf("%d of %d chat messages sent alternately to both replicas in %s were accepted, want %d (the burst of one bucket) plus at most %d refilled",
			accepted, 2*chat.Burst, elapsed.Round(time.Millisecond), chat.Burst, refilled)
	}
}

// errorEnvelope is RealtimeKit's error envelope, with Cloudflare's "errors" beside it.
type errorEnvelope struct {
	Success *bool `json:"success"`
	Error   struct {
		Code      int    `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
	Errors []struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// postAs sends a participant's POST to the sidecar at base and returns its status and, for an
// error, its envelope.
func postAs(t *testing.T, base, token, path string, body any) (int, errorEnvelope) {
	t.Helper()
	status, raw := (&Sidecar{BaseURL: base}).send(t, "POST", path, "Bearer "+token, body)
	var env errorEnvelope
	if status >= 300 {
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatalf("POST %s%s: %d %s: %v", base, path, status, raw, err)
		}
	}
	return status, env
}

// checkRefused checks that a request a rate limit refused was answered 429 in the error
// envelope.
func checkRefused(t *testing.T, what string, status int, env errorEnvelope) {
	t.Helper()
	if status != http.StatusTooManyRequests || env.Success == nil || *env.Success || env.Error.Code != http.StatusTooManyRequests ||
		env.Error.Message == "" || env.Error.RequestID == "" || len(env.Errors) != 1 || env.Errors[0].Code != http.StatusTooManyRequests {
		t.Errorf("%s answered %d %+v, want 429 in the error envelope", what, status, env)
	}
}
