package webhooks_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"rtk-sidecar/store"
	"rtk-sidecar/webhooks"
)

var (
	t1 = time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.FixedZone("X", 3600))
	t2 = t1.Add(90 * time.Second)
)

func meetingBlock() webhooks.Meeting {
	return webhooks.Meeting{
		ID: "m-1", SessionID: "s-1", Title: "Standup", RoomName: "m-1", Status: "LIVE",
		CreatedAt: webhooks.At(t1), StartedAt: webhooks.At(t1),
		OrganizedBy: webhooks.Organizer{ID: "app-1", Name: "My app"},
	}
}

// MeetingOf builds the block from the records: the meeting's id, title and
// creation, the session's id, status, times and parent, the app.
func TestMeetingOf(t *testing.T) {
	got := webhooks.MeetingOf(store.App{ID: "app-1", Name: "My app"},
		store.Meeting{ID: "m-1", Title: "Standup", ParentID: "m-parent", CreatedAt: t1},
		store.Session{ID: "s-1", Status: "ENDED", StartedAt: t1, EndedAt: t2, ParentSessionID: "s-parent"})
	want := meetingBlock()
	want.Status, want.EndedAt = "ENDED", webhooks.At(t2)
	want.ParentMeetingID, want.ParentSessionID = "m-parent", "s-parent"
	if got != want {
		t.Errorf("MeetingOf = %+v\nwant %+v", got, want)
	}
}

func TestPayloads(t *testing.T) {
	ended := meetingBlock()
	ended.Status, ended.EndedAt = "ENDED", webhooks.At(t2)
	breakout := meetingBlock()
	breakout.ParentMeetingID, breakout.ParentSessionID = "m-parent", "s-parent"
	p := webhooks.Participant{PeerID: "PA_1", ParticipantID: "p-1", UserDisplayName: "Ada", CustomParticipantID: "ada@x",
		PresetName: "host", JoinedAt: webhooks.At(t1)}
	left := p
	left.LeftAt, left.LeaveReason, left.MovedToMeetingID = webhooks.At(t2), "MOVED", "m-2"
	manual := false
	ninety, zero := 90, 0
	noSession := webhooks.Meeting{ID: "m-1", Title: "Standup", RoomName: "m-1", Status: "ENDED", CreatedAt: webhooks.At(t1),
		OrganizedBy: webhooks.Organizer{ID: "app-1", Name: "My app"}}

	meetingJSON := `{"id":"m-1","sessionId":"s-1","title":"Standup","roomName":"m-1","status":"LIVE",` +
		`"createdAt":"2026-01-02T02:04:05.678Z","startedAt":"2026-01-02T02:04:05.678Z","organizedBy":{"id":"app-1","name":"My app"}}`
	for _, tc := range []struct {
		name string
		e    webhooks.Event
		want string
	}{
		{"meeting.started", webhooks.NewMeetingStarted(meetingBlock()),
			`{"event":"meeting.started","meeting":` + meetingJSON + `}`},
		{"meeting.ended", webhooks.NewMeetingEnded(ended, webhooks.ReasonHostEndedMeeting),
			`{"event":"meeting.ended","meeting":{"id":"m-1","sessionId":"s-1","title":"Standup","roomName":"m-1","status":"ENDED",` +
				`"createdAt":"2026-01-02T02:04:05.678Z","startedAt":"2026-01-02T02:04:05.678Z","endedAt":"2026-01-02T02:05:35.678Z",` +
				`"organizedBy":{"id":"app-1","name":"My app"}},"reason":"HOST_ENDED_MEETING"}`},
		{"breakout meeting.started", webhooks.NewMeetingStarted(breakout),
			`{"event":"meeting.started","meeting":{"id":"m-1","sessionId":"s-1","title":"Standup","roomName":"m-1","status":"LIVE",` +
				`"createdAt":"2026-01-02T02:04:05.678Z","startedAt":"2026-01-02T02:04:05.678Z","organizedBy":{"id":"app-1","name":"My app"},` +
				`"parentMeetingId":"m-parent","parentSessionId":"s-parent"}}`},
		{"meeting.participantJoined", webhooks.NewParticipantJoined(meetingBlock(), p),
			`{"event":"meeting.participantJoined","meeting":` + meetingJSON + `,"participant":{"peerId":"PA_1","participantId":"p-1",` +
				`"userDisplayName":"Ada","customParticipantId":"ada@x","clientSpecificId":"ada@x","presetName":"host",` +
				`"joinedAt":"2026-01-02T02:04:05.678Z"}}`},
		{"meeting.participantLeft (a move)", webhooks.NewParticipantLeft(meetingBlock(), left),
			`{"event":"meeting.participantLeft","meeting":` + meetingJSON + `,"participant":{"peerId":"PA_1","participantId":"p-1",` +
				`"userDisplayName":"Ada","customParticipantId":"ada@x","clientSpecificId":"ada@x","presetName":"host",` +
				`"joinedAt":"2026-01-02T02:04:05.678Z","leftAt":"2026-01-02T02:05:35.678Z","leaveReason":"MOVED","movedToMeetingId":"m-2"}}`},
		{"recording.statusUpdate", webhooks.NewRecordingStatusUpdate(webhooks.Recording{ID: "r-1", MeetingID: "m-1",
			OrganizationID: "app-1", RoomUUID: "s-1", Status: "UPLOADED", InvokedTime: webhooks.At(t1), StartedTime: webhooks.At(t1),
			StoppedTime: webhooks.At(t2), FileSize: "2044680", OutputFileName: "r.mp4", DownloadURL: "https://x/r.mp4",
			AudioDownloadURL: "https://x/r_audio.zip", DownloadURLExpiry: webhooks.At(t2.Add(time.Hour)), RecordingDuration: &ninety,
			StopReason: webhooks.Reason{Reason: "API_CALL", Caller: webhooks.Caller{Type: "ORGANIZATION"}}}, meetingBlock()),
			`{"event":"recording.statusUpdate","recording":{"id":"r-1","recordingId":"r-1","meetingId":"m-1","organizationId":"app-1",` +
				`"roomUUID":"s-1","status":"UPLOADED","invokedTime":"2026-01-02T02:04:05.678Z","startedTime":"2026-01-02T02:04:05.678Z",` +
				`"stoppedTime":"2026-01-02T02:05:35.678Z","fileSize":"2044680","outputFileName":"r.mp4","downloadUrl":"https://x/r.mp4",` +
				`"audioDownloadUrl":"https://x/r_audio.zip","downloadUrlExpiry":"2026-01-02T03:05:35.678Z","recordingDuration":90,` +
				`"stopReason":{"reason":"API_CALL","caller":{"type":"ORGANIZATION"}}},"meeting":` + meetingJSON + `}`},
		{"recording.statusUpdate, RECORDING", webhooks.NewRecordingStatusUpdate(webhooks.Recording{ID: "r-1", MeetingID: "m-1",
			OrganizationID: "app-1", RoomUUID: "s-1", Status: "RECORDING", InvokedTime: webhooks.At(t1), StartedTime: webhooks.At(t2)}, meetingBlock()),
			`{"event":"recording.statusUpdate","recording":{"id":"r-1","recordingId":"r-1","meetingId":"m-1","organizationId":"app-1",` +
				`"roomUUID":"s-1","status":"RECORDING","invokedTime":"2026-01-02T02:04:05.678Z","startedTime":"2026-01-02T02:05:35.678Z"},` +
				`"meeting":` + meetingJSON + `}`},
		// Stopped before it started, in a meeting without a session: the
		// session id is "", the times not known are null, a stop reason
		// without a caller has none, and a 0 s recording says so.
		{"recording.statusUpdate, no session", webhooks.NewRecordingStatusUpdate(webhooks.Recording{ID: "r-1", MeetingID: "m-1",
			OrganizationID: "app-1", Status: "UPLOADED", InvokedTime: webhooks.At(t1), StoppedTime: webhooks.At(t2), FileSize: "0",
			RecordingDuration: &zero, StopReason: webhooks.Reason{Reason: "ALL_PEERS_LEFT"}}, noSession),
			`{"event":"recording.statusUpdate","recording":{"id":"r-1","recordingId":"r-1","meetingId":"m-1","organizationId":"app-1",` +
				`"roomUUID":"","status":"UPLOADED","invokedTime":"2026-01-02T02:04:05.678Z","startedTime":null,` +
				`"stoppedTime":"2026-01-02T02:05:35.678Z","fileSize":"0","recordingDuration":0,"stopReason":{"reason":"ALL_PEERS_LEFT"}},` +
				`"meeting":{"id":"m-1","sessionId":"","title":"Standup","roomName":"m-1","status":"ENDED","createdAt":"2026-01-02T02:04:05.678Z",` +
				`"startedAt":null,"organizedBy":{"id":"app-1","name":"My app"}}}`},
		{"livestreaming.statusUpdate, Dyte's minimum", webhooks.NewLivestreamingStatusUpdate(webhooks.Livestream{StreamID: "ls-1", Status: webhooks.LivestreamLive}),
			`{"event":"livestreaming.statusUpdate","streamId":"ls-1","status":"LIVE"}`},
		{"livestreaming.statusUpdate, full", webhooks.NewLivestreamingStatusUpdate(webhooks.Livestream{StreamID: "ls-1",
			Status: webhooks.LivestreamOffline, ManualIngest: &manual, PlaybackURL: "https://x/play.m3u8", IngestServer: "rtmps://x",
			StreamKey: "k", Meeting: &ended}),
			`{"event":"livestreaming.statusUpdate","streamId":"ls-1","status":"OFFLINE","manualIngest":false,` +
				`"playbackUrl":"https://x/play.m3u8","ingestServer":"rtmps://x","streamKey":"k","meeting":{"id":"m-1","sessionId":"s-1",` +
				`"title":"Standup","roomName":"m-1","status":"ENDED","createdAt":"2026-01-02T02:04:05.678Z","startedAt":"2026-01-02T02:04:05.678Z",` +
				`"endedAt":"2026-01-02T02:05:35.678Z","organizedBy":{"id":"app-1","name":"My app"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.e.Body); got != tc.want {
				t.Errorf("body\n got %s\nwant %s", got, tc.want)
			}
			if !webhooks.KnownEvent(tc.e.Name) || !strings.HasPrefix(string(tc.e.Body), `{"event":"`+tc.e.Name+`"`) {
				t.Errorf("name %q", tc.e.Name)
			}
		})
	}
}

func TestReconciled(t *testing.T) {
	e := webhooks.NewMeetingStarted(meetingBlock()).Reconciled()
	var body map[string]any
	if err := json.Unmarshal(e.Body, &body); err != nil {
		t.Fatalf("reconciled body is not JSON: %v: %s", err, e.Body)
	}
	if body["reconciled"] != true || body["event"] != "meeting.started" || e.Name != webhooks.MeetingStarted {
		t.Errorf("reconciled event = %s", e.Body)
	}
}

func TestSignature(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := webhooks.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := webhooks.ParsePublicKey(s.PublicKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.PublicKeyPEM(), "-----BEGIN PUBLIC KEY-----\n") {
		t.Errorf("public key PEM = %q", s.PublicKeyPEM())
	}
	body := []byte(`{"event":"meeting.started","meeting":{"id":"m"}}`)
	sig, err := s.Sign(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := webhooks.Verify(pub, body, sig); err != nil {
		t.Errorf("Verify(signed body) = %v", err)
	}
	tampered := []byte(strings.Replace(string(body), `"m"`, `"n"`, 1))
	if err := webhooks.Verify(pub, tampered, sig); err == nil {
		t.Error("Verify(tampered body) succeeded")
	}
	if err := webhooks.Verify(pub, body, "!!!"); err == nil {
		t.Error("Verify(garbage signature) succeeded")
	}
}
