package meetings

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/livekit/psrpc"

	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
	"rtk-sidecar/store"
)

func TestJoin(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("All hands")
	p, tok, err := e.svc.AddParticipant(e.ctx, appID, m.ID, ParticipantInput{
		CustomParticipantID: ptr("ada"), PresetName: ptr(presets.GroupCallHost), Name: ptr("Ada"), Picture: ptr("https://img.example/a.png")})
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.svc.Join(e.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if j.Room != m.ID || j.Identity != p.ID || j.Meeting.ID != m.ID || j.Participant.ID != p.ID ||
		j.Participant.PresetName != presets.GroupCallHost || j.Preset.Name != presets.GroupCallHost || j.Token != "lk-token-"+p.ID {
		t.Fatalf("joined: %+v", j)
	}
	adm := e.br.admissions()
	if len(adm) != 1 {
		t.Fatalf("%d admissions, want 1", len(adm))
	}
	a := adm[0]
	if a.Room != m.ID || a.Identity != p.ID || a.Name != "Ada" ||
		a.RoomMeta != (bridge.RoomMetadata{AppID: appID, MeetingID: m.ID}) {
		t.Fatalf("admission: %+v", a)
	}
	if a.Grant == nil || a.Grant.Room != m.ID || !a.Grant.RoomJoin || a.Grant.Hidden {
		t.Fatalf("grant: %+v", a.Grant)
	}
	var meta bridge.ParticipantMetadata
	if err := json.Unmarshal([]byte(a.Metadata), &meta); err != nil {
		t.Fatal(err)
	}
	want := bridge.ParticipantMetadata{ParticipantID: p.ID, CustomParticipantID: "ada", MeetingID: m.ID,
		PresetID: p.PresetID, PresetName: presets.GroupCallHost, Picture: "https://img.example/a.png"}
	if meta != want {
		t.Fatalf("metadata %+v, want %+v", meta, want)
	}

	// A recorder joins hidden.
	_, rtok := e.participant(m, "rec", presets.Recorder)
	if _, err := e.svc.Join(e.ctx, rtok); err != nil {
		t.Fatal(err)
	}
	if g := e.br.admissions()[1].Grant; !g.Hidden || !g.Recorder {
		t.Fatalf("recorder's grant: hidden %v, recorder %v", g.Hidden, g.Recorder)
	}
}

// An INACTIVE meeting refuses joins, and admits again once ACTIVE.
func TestJoinInactive(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("M")
	_, tok := e.participant(m, "ada", presets.GroupCallHost)
	if _, err := e.svc.UpdateMeeting(e.ctx, appID, m.ID, MeetingPatch{Status: ptr(store.MeetingInactive)}); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Join(e.ctx, tok)
	wantErr(t, err, psrpc.PermissionDenied, "INACTIVE")
	if !errors.Is(err, ErrMeetingInactive) {
		t.Fatalf("error %v is not ErrMeetingInactive", err)
	}
	if len(e.br.admissions()) != 0 {
		t.Fatal("a participant of an INACTIVE meeting was admitted")
	}
	// Participants can still be added to it; they cannot join either.
	_, tok2 := e.participant(m, "bob", presets.GroupCallParticipant)
	_, err = e.svc.Join(e.ctx, tok2)
	wantErr(t, err, psrpc.PermissionDenied)

	if _, err := e.svc.UpdateMeeting(e.ctx, appID, m.ID, MeetingPatch{Status: ptr(store.MeetingActive)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Join(e.ctx, tok); err != nil {
		t.Fatalf("join after reactivation: %v", err)
	}
}

// A participant joins the room its placement names, while that room is
// ACTIVE; otherwise its own meeting.
func TestJoinPlacement(t *testing.T) {
	e := newEnv(t)
	home := e.meeting("Parent")
	open := e.room(home, "Room 1", store.MeetingActive)
	closed := e.room(home, "Room 2", store.MeetingInactive)
	for _, tc := range []struct {
		name   string
		place  *store.Placement // RoomID and AssignedID; nil: no placement
		wantIn store.Meeting
	}{
		{"no placement", nil, home},
		{"placed in the parent", &store.Placement{}, home},
		{"placed in the parent by id", &store.Placement{RoomID: home.ID}, home},
		{"assigned, not placed", &store.Placement{AssignedID: open.ID}, home},
		{"placed in a room", &store.Placement{RoomID: open.ID, AssignedID: open.ID}, open},
		{"placed in a closed room", &store.Placement{RoomID: closed.ID}, home},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, tok := e.participant(home, "p-"+tc.name, presets.GroupCallParticipant)
			if tc.place != nil {
				pl := *tc.place
				pl.ParticipantID, pl.ParentID, pl.UpdatedAt = p.ID, home.ID, time.Now()
				if err := e.st.PutPlacement(e.ctx, pl); err != nil {
					t.Fatal(err)
				}
			}
			j, err := e.svc.Join(e.ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if j.Room != tc.wantIn.ID || j.Meeting.ID != tc.wantIn.ID {
				t.Fatalf("joined %s (meeting %s), want %s", j.Room, j.Meeting.Title, tc.wantIn.Title)
			}
			adm := e.br.admissions()
			a := adm[len(adm)-1]
			wantMeta := bridge.RoomMetadata{AppID: appID, MeetingID: tc.wantIn.ID, ParentMeetingID: tc.wantIn.ParentID}
			if a.Room != tc.wantIn.ID || a.Grant.Room != tc.wantIn.ID || a.RoomMeta != wantMeta {
				t.Fatalf("admitted to %s with a grant for %s and room metadata %+v; want %s", a.Room, a.Grant.Room, a.RoomMeta, tc.wantIn.ID)
			}
			var meta bridge.ParticipantMetadata
			if err := json.Unmarshal([]byte(a.Metadata), &meta); err != nil {
				t.Fatal(err)
			}
			if meta.MeetingID != tc.wantIn.ID {
				t.Fatalf("metadata names meeting %s, want %s", meta.MeetingID, tc.wantIn.ID)
			}
		})
	}
}

// A preset given with a move applies in the room the participant was moved
// to.
func TestJoinPlacementPreset(t *testing.T) {
	e := newEnv(t)
	home := e.meeting("Parent")
	room := e.room(home, "Room 1", store.MeetingActive)
	p, tok := e.participant(home, "ada", presets.GroupCallParticipant)
	viewer := e.presetID(presets.WebinarViewer)
	if err := e.st.PutPlacement(e.ctx, store.Placement{ParticipantID: p.ID, ParentID: home.ID, RoomID: room.ID, PresetID: viewer, UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	j, err := e.svc.Join(e.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if j.Room != room.ID || j.Preset.ID != viewer || j.Preset.Name != presets.WebinarViewer {
		t.Fatalf("joined %s with preset %s, want %s with %s", j.Room, j.Preset.Name, room.ID, presets.WebinarViewer)
	}
}

// LiveKit's failure to admit reaches the caller with its class.
func TestJoinBridgeFails(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("M")
	_, tok := e.participant(m, "ada", presets.GroupCallHost)
	e.br.err = psrpc.NewErrorf(psrpc.Unavailable, "livekit unreachable")
	_, err := e.svc.Join(e.ctx, tok)
	wantErr(t, err, psrpc.Unavailable, "livekit unreachable")
}
