package protocol_test

import (
	"encoding/json"
	"testing"
	"time"

	"rtk-sidecar/protocol"
)

// TestJSON pins the JSON of the messages to docs/protocol.md: field names,
// and what is null or left out when empty.
func TestJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	v := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		name string
		msg  any
		want string
	}{
		{"idle state", protocol.State{Status: "idle", ParentMeeting: protocol.Meeting{ID: "m", Title: "All hands", Participants: []protocol.Participant{}}, Meetings: []protocol.Meeting{}},
			`{"version":0,"status":"idle","closingAt":null,"parentMeeting":{"id":"m","title":"All hands","participants":[]},"meetings":[]}`},
		{"closing state", protocol.State{Version: 12, Status: "closing", ClosingAt: &at,
			ParentMeeting: protocol.Meeting{ID: "m", Participants: []protocol.Participant{{ID: "p1", CustomParticipantID: "c1", PresetID: "host", DisplayName: "Ada", DisplayPictureURL: "https://pic"}}},
			Meetings:      []protocol.Meeting{{ID: "b1", Title: "Room 1", Participants: []protocol.Participant{{ID: "p2"}}, AssignedParticipantIDs: []string{"p2"}}}},
			`{"version":12,"status":"closing","closingAt":"2026-01-02T03:04:05.6Z","parentMeeting":{"id":"m","title":"","participants":[{"id":"p1","customParticipantId":"c1","presetId":"host","displayName":"Ada","displayPictureUrl":"https://pic"}]},` +
				`"meetings":[{"id":"b1","title":"Room 1","participants":[{"id":"p2","customParticipantId":"","presetId":""}],"assignedParticipantIds":["p2"]}]}`},
		{"truncated state", protocol.TruncatedState{Truncated: true, Version: 7}, `{"truncated":true,"version":7}`},
		{"event", protocol.Event{V: protocol.Version, Type: protocol.EventClosing, Data: json.RawMessage(`{"closingAt":"2026-01-02T03:04:05.6Z","seconds":30}`)},
			`{"v":1,"type":"closing","data":{"closingAt":"2026-01-02T03:04:05.6Z","seconds":30}}`},
		{"changingMeeting", protocol.ChangingMeetingData{Moves: []protocol.MoveBegun{{ParticipantID: "p", FromMeetingID: "a", ToMeetingID: "b", MoveID: "m1"}}},
			`{"moves":[{"participantId":"p","fromMeetingId":"a","toMeetingId":"b","moveId":"m1"}]}`},
		{"meetingChanged", protocol.MeetingChangedData{Arrivals: []protocol.Arrival{{ParticipantID: "p", Meeting: protocol.MeetingRef{ID: "b", Title: "Room 2"}, MoveID: "m1"}}},
			`{"arrivals":[{"participantId":"p","meeting":{"id":"b","title":"Room 2"},"moveId":"m1"}]}`},
		{"moveFailed", protocol.MoveFailedData{Failures: []protocol.Failure{{ParticipantID: "p", ToMeetingID: "b", MoveID: "m1", Reason: "timeout"}}},
			`{"failures":[{"participantId":"p","toMeetingId":"b","moveId":"m1","reason":"timeout"}]}`},
		{"closing", protocol.Closing{ClosingAt: at, Seconds: 30}, `{"closingAt":"2026-01-02T03:04:05.6Z","seconds":30}`},
		{"connectionRemoved", protocol.ConnectionRemovedData{Removals: []protocol.Removal{
			{ID: "r1", ParticipantID: "p", MeetingID: "a", PlacedMeetingID: "b", Reason: protocol.RemovedMoveFailed, MoveID: "m1"},
			{ID: "r2", ParticipantID: "q", MeetingID: "a", PlacedMeetingID: "a2", Reason: protocol.RemovedNotPlaced}}},
			`{"removals":[{"id":"r1","participantId":"p","meetingId":"a","placedMeetingId":"b","reason":"moveFailed","moveId":"m1"},` +
				`{"id":"r2","participantId":"q","meetingId":"a","placedMeetingId":"a2","reason":"notPlaced"}]}`},
		{"move instruction", protocol.MoveInstruction{V: protocol.Version, MoveID: "m1", ParticipantID: "p", FromMeetingID: "a", ToMeetingID: "b",
			Meeting: protocol.MeetingRef{ID: "b", Title: "Room 2"}, LiveKit: protocol.LiveKitRoom{URL: "ws://lk", Token: "tok", Room: "b"},
			PresetID: "host", Permissions: json.RawMessage(`{"can_switch_to_parent_meeting":true}`)},
			`{"v":1,"moveId":"m1","participantId":"p","fromMeetingId":"a","toMeetingId":"b","meeting":{"id":"b","title":"Room 2"},` +
				`"livekit":{"url":"ws://lk","token":"tok","room":"b"},"presetId":"host","permissions":{"can_switch_to_parent_meeting":true}}`},
		{"move instruction without preset", protocol.MoveInstruction{V: protocol.Version, MoveID: "m1"},
			`{"v":1,"moveId":"m1","participantId":"","fromMeetingId":"","toMeetingId":"","meeting":{"id":"","title":""},"livekit":{"url":"","token":"","room":""}}`},
		{"create", protocol.CreateMeetingsRequest{Version: v(0), Meetings: []protocol.NewMeeting{{Title: "Room 1"}}}, `{"version":0,"meetings":[{"title":"Room 1"}]}`},
		{"created", protocol.CreatedMeetings{Meetings: []protocol.MeetingRef{{ID: "b", Title: "Room 1"}}},
			`{"meetings":[{"id":"b","title":"Room 1"}],"state":{"version":0,"status":"","closingAt":null,"parentMeeting":{"id":"","title":"","participants":null},"meetings":null}}`},
		{"update", protocol.UpdateMeetingsRequest{Version: v(3), Meetings: []protocol.MeetingRef{{ID: "b", Title: "R"}}}, `{"version":3,"meetings":[{"id":"b","title":"R"}]}`},
		{"delete", protocol.DeleteMeetingsRequest{Version: v(4), MeetingIDs: []string{"b"}}, `{"version":4,"meetingIds":["b"]}`},
		{"move", protocol.MoveParticipantsRequest{Version: v(5), SourceMeetingID: "a", DestinationMeetingID: "b", ParticipantIDs: []string{"p"}},
			`{"version":5,"sourceMeetingId":"a","destinationMeetingId":"b","participantIds":["p"]}`},
		{"move self without version", protocol.MoveParticipantsRequest{SourceMeetingID: "a", DestinationMeetingID: "b", ParticipantIDs: []string{"me"}},
			`{"sourceMeetingId":"a","destinationMeetingId":"b","participantIds":["me"]}`},
		{"move with presets", protocol.MoveParticipantsRequest{Version: v(6), SourceMeetingID: "a", DestinationMeetingID: "b", Participants: []protocol.ParticipantPreset{{ID: "p", PresetID: "host"}}},
			`{"version":6,"sourceMeetingId":"a","destinationMeetingId":"b","participants":[{"id":"p","presetId":"host"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("JSON\n got %s\nwant %s", b, tc.want)
			}
		})
	}
}
