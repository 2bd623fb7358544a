//go:build e2e

package e2e

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
)

// TestJoinOverREST is the foundation's promise end to end: a participant
// added over REST joins through /client/v1/join, is in the LiveKit room of
// its meeting with its preset's permissions, and is heard by a second
// participant.
func TestJoinOverREST(t *testing.T) {
	sc := StartSidecar(t)
	meeting := sc.CreateMeeting(t, "Standup")
	hostID, hostTok := sc.AddParticipant(t, meeting, "host-1", "group_call_host")
	_, guestTok := sc.AddParticipant(t, meeting, "guest-1", "group_call_participant")
	viewerID, viewerTok := sc.AddParticipant(t, meeting, "viewer-1", "webinar_viewer")

	j := sc.Join(t, hostTok)
	if j.Room != meeting || j.Identity != hostID || j.MeetingID != meeting {
		t.Fatalf("join answer = %+v", j)
	}
	host := Join(t, j.URL, j.Token)
	if err := host.PublishAudio(); err != nil {
		t.Fatal(err)
	}
	guest := sc.Connect(t, guestTok)
	viewer := sc.Connect(t, viewerTok)

	// The guest and the viewer hear the host.
	guest.WaitHeard(t, hostID, 5*time.Second)
	viewer.WaitHeard(t, hostID, 5*time.Second)
	eventually(t, 5*time.Second, func() string {
		if n := guest.PacketsFrom(hostID); n < 20 {
			return "guest got only a few packets from the host"
		}
		return ""
	})

	// LiveKit holds each participant with its preset's permissions.
	perm := func(identity string) *livekit.ParticipantInfo {
		p, err := sc.Rooms.GetParticipant(t.Context(), &livekit.RoomParticipantIdentity{Room: meeting, Identity: identity})
		if err != nil {
			t.Fatalf("GetParticipant %s: %v", identity, err)
		}
		return p
	}
	hp := perm(hostID)
	for _, src := range []livekit.TrackSource{livekit.TrackSource_MICROPHONE, livekit.TrackSource_CAMERA, livekit.TrackSource_SCREEN_SHARE} {
		if !slices.Contains(hp.Permission.CanPublishSources, src) {
			t.Errorf("host may not publish %v: %v", src, hp.Permission.CanPublishSources)
		}
	}
	if !hp.Permission.CanSubscribe || !hp.Permission.CanPublishData || hp.Permission.Hidden {
		t.Errorf("host permission = %+v", hp.Permission)
	}
	var meta map[string]string
	if err := json.Unmarshal([]byte(hp.Metadata), &meta); err != nil || meta["custom_participant_id"] != "host-1" ||
		meta["preset_name"] != "group_call_host" || meta["meeting_id"] != meeting {
		t.Errorf("host metadata = %q", hp.Metadata)
	}
	if hp.Name != "Name host-1" {
		t.Errorf("host name = %q", hp.Name)
	}
	vp := perm(viewerID)
	if vp.Permission.CanPublish || slices.Contains(vp.Permission.CanPublishSources, livekit.TrackSource_MICROPHONE) {
		t.Errorf("viewer may publish: %+v", vp.Permission)
	}
	if !vp.Permission.CanSubscribe {
		t.Errorf("viewer may not subscribe")
	}
	// (LiveKit refuses a publication outside CanPublishSources: TestSFUForbiddenMicrophone.)

	// The room carries the meeting in its metadata.
	rooms, err := sc.Rooms.ListRooms(t.Context(), &livekit.ListRoomsRequest{Names: []string{meeting}})
	if err != nil || len(rooms.Rooms) != 1 {
		t.Fatalf("ListRooms: %v %v", rooms, err)
	}
	var rm map[string]string
	if err := json.Unmarshal([]byte(rooms.Rooms[0].Metadata), &rm); err != nil || rm["meeting_id"] != meeting || rm["app_id"] != e2eApp {
		t.Errorf("room metadata = %q", rooms.Rooms[0].Metadata)
	}

	// An INACTIVE meeting refuses the next join.
	sc.Must(t, "PATCH", sc.AppPath+"/meetings/"+meeting, map[string]any{"status": "INACTIVE"}, nil)
	if st := sc.Call(t, "POST", "/client/v1/join", "Bearer "+guestTok, nil, nil); st != 403 {
		t.Errorf("join of an INACTIVE meeting: status %d, want 403", st)
	}
}
