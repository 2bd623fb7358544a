package recording

import (
	"fmt"
	"slices"
	"strings"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/store"
)

// The status machine of a recording. RealtimeKit's statuses, in order:
//
//	INVOKED -> RECORDING <-> PAUSED -> UPLOADING -> UPLOADED
//	   any of the first four ------------------------> ERRORED
//
// A backend may skip steps (a recording stopped before it recorded goes from
// INVOKED to UPLOADING; an egress whose updates were lost may report COMPLETE
// straight away), so every forward step is legal; nothing goes back except
// PAUSED -> RECORDING (resume), and UPLOADED and ERRORED are final.
var transitions = map[string][]string{
	store.RecordingInvoked:   {store.RecordingRecording, store.RecordingUploading, store.RecordingUploaded, store.RecordingErrored},
	store.RecordingRecording: {store.RecordingPaused, store.RecordingUploading, store.RecordingUploaded, store.RecordingErrored},
	store.RecordingPaused:    {store.RecordingRecording, store.RecordingUploading, store.RecordingUploaded, store.RecordingErrored},
	store.RecordingUploading: {store.RecordingUploaded, store.RecordingErrored},
	store.RecordingUploaded:  nil,
	store.RecordingErrored:   nil,
}

// activeStatuses are the statuses of a recording whose recorder runs or may
// run: the ones GET /recordings/active-recording reports.
var activeStatuses = []string{store.RecordingInvoked, store.RecordingRecording, store.RecordingPaused}

// isActive reports whether a recording in status st is active.
func isActive(st string) bool { return slices.Contains(activeStatuses, st) }

// canTransition reports whether a recording may go from one status to another.
func canTransition(from, to string) bool { return slices.Contains(transitions[from], to) }

// Actions of PUT /recordings/{id}.
const (
	ActionStop   = "stop"
	ActionPause  = "pause"
	ActionResume = "resume"
)

// actionFrom lists, per action, the statuses it applies to.
var actionFrom = map[string][]string{
	ActionStop:   {store.RecordingInvoked, store.RecordingRecording, store.RecordingPaused},
	ActionPause:  {store.RecordingRecording},
	ActionResume: {store.RecordingPaused},
}

// checkAction returns nil if action applies to a recording in status st,
// else an InvalidArgument (unknown action) or FailedPrecondition error that
// says which statuses the action needs.
func checkAction(action, id, st string) error {
	from, ok := actionFrom[action]
	if !ok {
		return psrpc.NewErrorf(psrpc.InvalidArgument, `"action" must be one of [stop, pause, resume]`)
	}
	if !slices.Contains(from, st) {
		return psrpc.NewErrorf(psrpc.FailedPrecondition,
			"cannot %s recording %s: it is %s, and only a recording that is %s can be %s",
			action, id, st, strings.Join(from, " or "), pastTense(action))
	}
	return nil
}

func pastTense(action string) string {
	switch action {
	case ActionStop:
		return "stopped"
	case ActionPause:
		return "paused"
	default:
		return "resumed"
	}
}

// statusOfEgress maps an egress status to the RealtimeKit status it means
// (docs/recording.md, Statuses): STARTING is INVOKED, ACTIVE is RECORDING, ENDING
// is UPLOADING (finalizing and uploading), COMPLETE and LIMIT_REACHED are
// UPLOADED, FAILED and ABORTED are ERRORED. An unknown status maps to "".
func statusOfEgress(s livekit.EgressStatus) string {
	switch s {
	case livekit.EgressStatus_EGRESS_STARTING:
		return store.RecordingInvoked
	case livekit.EgressStatus_EGRESS_ACTIVE:
		return store.RecordingRecording
	case livekit.EgressStatus_EGRESS_ENDING:
		return store.RecordingUploading
	case livekit.EgressStatus_EGRESS_COMPLETE, livekit.EgressStatus_EGRESS_LIMIT_REACHED:
		return store.RecordingUploaded
	case livekit.EgressStatus_EGRESS_FAILED, livekit.EgressStatus_EGRESS_ABORTED:
		return store.RecordingErrored
	default:
		return ""
	}
}

// egressEnded reports whether an egress status is final.
func egressEnded(s livekit.EgressStatus) bool {
	switch s {
	case livekit.EgressStatus_EGRESS_COMPLETE, livekit.EgressStatus_EGRESS_LIMIT_REACHED,
		livekit.EgressStatus_EGRESS_FAILED, livekit.EgressStatus_EGRESS_ABORTED:
		return true
	}
	return false
}

// egressError describes a failed egress for Recording.Error.
func egressError(info *livekit.EgressInfo) string {
	msg := info.GetError()
	if msg == "" {
		msg = strings.ToLower(strings.TrimPrefix(info.GetStatus().String(), "EGRESS_"))
	}
	if info.GetErrorCode() != 0 {
		msg = fmt.Sprintf("%s (code %d)", msg, info.GetErrorCode())
	}
	return msg
}

// Start and stop reasons.
const (
	ReasonAPICall       = "API_CALL"
	ReasonRecordOnStart = "RECORD_ON_START"
	ReasonInternalError = "INTERNAL_ERROR"
	ReasonAllPeersLeft  = "ALL_PEERS_LEFT"
)

// ReasonJSON is a start_reason or stop_reason of the REST API's recording
// object: {reason, caller}. (The webhook's stopReason is webhooks.Reason.)
type ReasonJSON struct {
	Reason string      `json:"reason"`
	Caller *CallerJSON `json:"caller,omitempty"`
}

// ReasonOf renders a stored start or stop reason for the REST API; "" is
// nil. API calls were made by the organization (an API key); the other
// reasons have no caller.
func ReasonOf(reason string) *ReasonJSON {
	if reason == "" {
		return nil
	}
	r := &ReasonJSON{Reason: reason}
	if t := callerOf(reason); t != "" {
		r.Caller = &CallerJSON{Type: t}
	}
	return r
}

// callerOf returns the caller type of a stored reason, or "".
func callerOf(reason string) string {
	if reason == ReasonAPICall {
		return "ORGANIZATION"
	}
	return ""
}

// CallerJSON says who asked: the organization (an API key) or a user.
type CallerJSON struct {
	Type   string `json:"type"` // ORGANIZATION or USER
	UserID string `json:"user_Id,omitempty"`
	Name   string `json:"name,omitempty"`
}
