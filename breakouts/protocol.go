package breakouts

import (
	"encoding/json"

	"rtk-sidecar/protocol"
)

// The client protocol of connected meetings (docs/protocol.md §2–3): the
// State rendered as participants see it, and the event packets, in the
// types of package protocol.

// The largest stateUpdate sent whole; a larger one is replaced by
// {version, truncated} and clients fetch the state over HTTP. A LiveKit
// data packet must stay small; an event stream takes far more (rtkclient
// reads events of up to 1 MiB).
const (
	maxStatePacket = 12 << 10
	maxStateStream = 512 << 10
)

// Client renders the state for participants.
func (st State) Client() protocol.State {
	out := protocol.State{Version: st.Version, Status: st.Status, AssignLateJoiners: st.AssignLateJoiners,
		ParentMeeting: clientRoom(st.Parent, false), Meetings: []protocol.Meeting{}}
	if !st.ClosingAt.IsZero() {
		t := st.ClosingAt.UTC()
		out.ClosingAt = &t
	}
	if !st.EndsAt.IsZero() {
		t := st.EndsAt.UTC()
		out.EndsAt = &t
	}
	for _, r := range st.Rooms {
		out.Meetings = append(out.Meetings, clientRoom(r, true))
	}
	return out
}

func clientRoom(r Room, breakout bool) protocol.Meeting {
	out := protocol.Meeting{ID: r.ID, Title: r.Title, Participants: make([]protocol.Participant, 0, len(r.Participants))}
	if breakout {
		out.AssignedParticipantIDs = r.Assigned
	}
	for _, m := range r.Participants {
		out.Participants = append(out.Participants, protocol.Participant{ID: m.ID, CustomParticipantID: m.CustomParticipantID,
			PresetID: m.PresetID, DisplayName: m.Name, DisplayPictureURL: m.Picture})
	}
	return out
}

// fitState returns whole, a stateUpdate packet of the given version, or the
// truncated stateUpdate when whole is larger than limit bytes.
func fitState(whole []byte, version int64, limit int) []byte {
	if len(whole) <= limit {
		return whole
	}
	return encodeEvent(protocol.EventStateUpdate, protocol.TruncatedState{Truncated: true, Version: version})
}

// encodeEvent returns the packet of an event of type typ with data.
func encodeEvent(typ string, data any) []byte {
	d, _ := json.Marshal(data)
	b, _ := json.Marshal(protocol.Event{V: protocol.Version, Type: typ, Data: d})
	return b
}
