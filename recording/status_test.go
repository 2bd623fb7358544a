package recording

import (
	"strings"
	"testing"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/store"
)

var allStatuses = []string{
	store.RecordingInvoked, store.RecordingRecording, store.RecordingPaused,
	store.RecordingUploading, store.RecordingUploaded, store.RecordingErrored,
}

func TestTransitions(t *testing.T) {
	const (
		I = store.RecordingInvoked
		R = store.RecordingRecording
		P = store.RecordingPaused
		U = store.RecordingUploading
		D = store.RecordingUploaded
		E = store.RecordingErrored
	)
	legal := map[[2]string]bool{
		{I, R}: true, {I, U}: true, {I, D}: true, {I, E}: true,
		{R, P}: true, {R, U}: true, {R, D}: true, {R, E}: true,
		{P, R}: true, {P, U}: true, {P, D}: true, {P, E}: true,
		{U, D}: true, {U, E}: true,
	}
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			want := legal[[2]string{from, to}]
			if got := canTransition(from, to); got != want {
				t.Errorf("canTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	for _, final := range []string{D, E} {
		for _, to := range allStatuses {
			if canTransition(final, to) {
				t.Errorf("%s is final, but may go to %s", final, to)
			}
		}
	}
}

func TestCheckAction(t *testing.T) {
	allowed := map[string][]string{
		ActionStop:   {store.RecordingInvoked, store.RecordingRecording, store.RecordingPaused},
		ActionPause:  {store.RecordingRecording},
		ActionResume: {store.RecordingPaused},
	}
	for action, ok := range allowed {
		for _, st := range allStatuses {
			err := checkAction(action, "rec-1", st)
			if contains(ok, st) {
				if err != nil {
					t.Errorf("%s of a %s recording: %v", action, st, err)
				}
				continue
			}
			code, _ := psrpc.GetErrorCode(err)
			if code != psrpc.FailedPrecondition {
				t.Errorf("%s of a %s recording: %v, want FailedPrecondition (412)", action, st, err)
				continue
			}
			msg := err.Error()
			for _, want := range []string{"cannot " + action, "rec-1", "it is " + st, strings.Join(ok, " or ")} {
				if !strings.Contains(msg, want) {
					t.Errorf("%s of a %s recording: message %q lacks %q", action, st, msg, want)
				}
			}
		}
	}
	err := checkAction("rewind", "rec-1", store.RecordingRecording)
	if code, _ := psrpc.GetErrorCode(err); code != psrpc.InvalidArgument || !strings.Contains(err.Error(), `"action" must be one of [stop, pause, resume]`) {
		t.Errorf("unknown action: %v", err)
	}
	// Pausing an UPLOADED recording is refused.
	err = checkAction(ActionPause, "r", store.RecordingUploaded)
	if err == nil || !strings.Contains(err.Error(), "cannot pause recording r: it is UPLOADED, and only a recording that is RECORDING can be paused") {
		t.Errorf("pause of UPLOADED: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestEgressMapping checks the mapping of docs/recording.md (Statuses).
func TestEgressMapping(t *testing.T) {
	for _, tc := range []struct {
		egress livekit.EgressStatus
		want   string
		ended  bool
	}{
		{livekit.EgressStatus_EGRESS_STARTING, store.RecordingInvoked, false},
		{livekit.EgressStatus_EGRESS_ACTIVE, store.RecordingRecording, false},
		{livekit.EgressStatus_EGRESS_ENDING, store.RecordingUploading, false},
		{livekit.EgressStatus_EGRESS_COMPLETE, store.RecordingUploaded, true},
		{livekit.EgressStatus_EGRESS_LIMIT_REACHED, store.RecordingUploaded, true},
		{livekit.EgressStatus_EGRESS_FAILED, store.RecordingErrored, true},
		{livekit.EgressStatus_EGRESS_ABORTED, store.RecordingErrored, true},
		{livekit.EgressStatus(99), "", false},
	} {
		if got := statusOfEgress(tc.egress); got != tc.want {
			t.Errorf("statusOfEgress(%s) = %q, want %q", tc.egress, got, tc.want)
		}
		if got := egressEnded(tc.egress); got != tc.ended {
			t.Errorf("egressEnded(%s) = %v, want %v", tc.egress, got, tc.ended)
		}
	}
	info := &livekit.EgressInfo{Status: livekit.EgressStatus_EGRESS_ABORTED, Error: "Start signal not received", ErrorCode: 412}
	if got := egressError(info); got != "Start signal not received (code 412)" {
		t.Errorf("egressError = %q", got)
	}
	if got := egressError(&livekit.EgressInfo{Status: livekit.EgressStatus_EGRESS_FAILED}); got != "failed" {
		t.Errorf("egressError without a message = %q", got)
	}
}

func TestOpusSamples(t *testing.T) {
	for _, tc := range []struct {
		p    []byte
		want int
	}{
		{[]byte{0xfc, 1}, 960},          // CELT FB 20 ms, one frame (the e2e publisher's TOC)
		{[]byte{0xf8, 0xff, 0xfe}, 960}, // CELT FB 20 ms silence
		{[]byte{0x08}, 960},             // SILK NB 20 ms (config 1)
		{[]byte{0x18}, 2880},            // SILK NB 60 ms (config 3)
		{[]byte{0x79}, 1920},            // hybrid FB 20 ms (config 15), two frames
		{[]byte{0xfb, 0x03}, 2880},      // CELT FB 20 ms, code 3, three frames
		{[]byte{0x80}, 120},             // CELT NB 2.5 ms (config 16)
		{nil, 0},
	} {
		if got := opusSamples(tc.p); got != tc.want {
			t.Errorf("opusSamples(% x) = %d, want %d", tc.p, got, tc.want)
		}
	}
}
