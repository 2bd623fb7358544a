package sessions

import (
	"strings"

	"github.com/livekit/protocol/livekit"
)

// Identity prefixes of LiveKit participants that are machinery, not people.
const (
	// AgentIdentityPrefix starts the identity of the sidecar's own LiveKit
	// participants (the polls agent).
	AgentIdentityPrefix = "rtk-agent"
	// EgressIdentityPrefix starts the identity LiveKit's egress joins with.
	EgressIdentityPrefix = "EG_"
	// RecorderIdentityPrefix starts the identity of recording bots.
	RecorderIdentityPrefix = "rec-"
)

// Hidden reports whether a LiveKit participant is hidden from the session:
// not a session participant, not counted, and never the subject of a
// participant webhook. It is the one rule for that, used by the intake, the
// reconciliation and moderation alike:
//
//   - its grant is Hidden (the preset's hidden_participant) or Recorder (a
//     recording or livestreaming preset);
//   - it is an egress (LiveKit's kind EGRESS);
//   - its identity starts with "rtk-agent" (the sidecar's agents), "EG_"
//     (egress) or "rec-" (recorders).
func Hidden(p *livekit.ParticipantInfo) bool {
	if p == nil {
		return true
	}
	if perm := p.GetPermission(); perm.GetHidden() || perm.GetRecorder() {
		return true
	}
	if p.GetKind() == livekit.ParticipantInfo_EGRESS {
		return true
	}
	id := p.GetIdentity()
	return strings.HasPrefix(id, AgentIdentityPrefix) ||
		strings.HasPrefix(id, EgressIdentityPrefix) ||
		strings.HasPrefix(id, RecorderIdentityPrefix)
}

// inRoom reports whether p is a session participant connected to its room:
// not Hidden, and not disconnected.
func inRoom(p *livekit.ParticipantInfo) bool {
	return !Hidden(p) && p.GetState() != livekit.ParticipantInfo_DISCONNECTED
}
