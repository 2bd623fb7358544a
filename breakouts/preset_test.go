package breakouts_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/breakouts/breakoutstest"
	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
)

// A preset given with a move applies in the move's destination, the parent
// included: in the state, in the move's grant, at the next join, and for
// chat and polls (presets.Effective). A close-all ends it: the participant,
// who stays in the parent, gets its own preset's permissions there.
func TestMovePresetInTheParent(t *testing.T) {
	w := newWorld(t, 1)
	ctx := t.Context()
	mover := breakoutstest.NewMover()
	s := breakouts.New(w.st, w.bridge, mover, w.log)
	run(t, s)
	p := w.people[0]
	mover.Connect(p, w.meeting)
	own, err := w.st.GetPresetByName(ctx, appID, presets.GroupCallParticipant)
	if err != nil {
		t.Fatal(err)
	}
	host, err := w.st.GetPresetByName(ctx, appID, presets.GroupCallHost)
	if err != nil {
		t.Fatal(err)
	}
	st, ids, err := s.CreateRooms(ctx, appID, w.meeting, breakouts.Admin, ptr[int64](0), make([]breakouts.RoomTitle, 1))
	if err != nil {
		t.Fatal(err)
	}
	room := ids[0]
	move := func(from, to, preset string) {
		t.Helper()
		if st, err = s.MoveParticipants(ctx, appID, w.meeting, breakouts.Admin, &st.Version,
			breakouts.MoveRequest{From: from, To: to, Participants: []breakouts.MoveParticipant{{ID: p, PresetID: preset}}}); err != nil {
			t.Fatal(err)
		}
		wait(t, "the move", func() bool { return mover.Where(p) == to })
	}
	// in checks the preset in effect in the parent everywhere it is decided.
	in := func(what, want string) {
		t.Helper()
		if got := member(t, st, p).PresetID; got != want {
			t.Errorf("%s: the state shows preset %s, want %s", what, got, want)
		}
		rec, err := w.st.GetParticipant(ctx, w.meeting, p)
		if err != nil {
			t.Fatal(err)
		}
		j, err := w.svc.JoinAs(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		if j.Meeting.ID != w.meeting || j.Preset.ID != want {
			t.Errorf("%s: joins %s with preset %s, want the parent with %s", what, j.Meeting.ID, j.Preset.ID, want)
		}
		doc, err := presets.Effective(ctx, w.st, rec, w.meeting)
		if err != nil {
			t.Fatal(err)
		}
		if doc.Name != map[string]string{own.ID: own.Name, host.ID: host.Name}[want] {
			t.Errorf("%s: presets.Effective is %s, want the preset %s", what, doc.Name, want)
		}
	}

	move(w.meeting, room, "")
	move(room, w.meeting, host.ID)
	in("moved back with the host preset", host.ID)
	m := mover.Moves()[1]
	perms, _ := m.Permissions.(presets.Permissions)
	if m.PresetID != host.ID || m.Grant == nil || !perms.ConnectedMeetings.CanAlterConnectedMeetings {
		t.Errorf("the move back carries preset %s, grant %v, permissions %+v: want the host's", m.PresetID, m.Grant, m.Permissions)
	}

	if st, err = s.Close(ctx, appID, w.meeting, breakouts.Admin, &st.Version, 0); err != nil {
		t.Fatal(err)
	}
	in("after a close-all", own.ID)
	wait(t, "the permissions to change in the parent", func() bool { return len(mover.Regrants()) == 1 })
	r := mover.Regrants()[0]
	var md bridge.ParticipantMetadata
	if err := json.Unmarshal([]byte(r.Metadata), &md); err != nil {
		t.Fatal(err)
	}
	ownDoc, err := presets.FromBody(own.Name, own.Body)
	if err != nil {
		t.Fatal(err)
	}
	if r.Room != w.meeting || r.ParticipantID != p || md.PresetID != own.ID || md.MeetingID != w.meeting ||
		!reflect.DeepEqual(r.Grant, presets.Grants(ownDoc.Permissions, w.meeting)) {
		t.Errorf("regrant %+v (grant %+v), want the own preset's grant and metadata in the parent", r, r.Grant)
	}
	time.Sleep(100 * time.Millisecond) // room for a stray move to show up
	if n := len(mover.Moves()); n != 2 {
		t.Errorf("%d moves, want 2: the close-all moves nobody", n)
	}
}

// member returns a participant as the state shows it.
func member(t *testing.T, st breakouts.State, id string) breakouts.Member {
	t.Helper()
	for _, r := range append([]breakouts.Room{st.Parent}, st.Rooms...) {
		for _, m := range r.Participants {
			if m.ID == id {
				return m
			}
		}
	}
	t.Fatalf("%s is not in the state", id)
	return breakouts.Member{}
}
