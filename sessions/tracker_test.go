package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"rtk-sidecar/bridge"
	"rtk-sidecar/meetings"
	"rtk-sidecar/presets"
	"rtk-sidecar/sessions"
	"rtk-sidecar/store"
	"rtk-sidecar/store/storetest"
	"rtk-sidecar/webhooks"
)

func TestHidden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		p      *livekit.ParticipantInfo
		hidden bool
	}{
		{"a participant", &livekit.ParticipantInfo{Identity: "0b9f…"}, false},
		{"hidden grant", &livekit.ParticipantInfo{Identity: "p", Permission: &livekit.ParticipantPermission{Hidden: true}}, true},
		{"recorder grant", &livekit.ParticipantInfo{Identity: "p", Permission: &livekit.ParticipantPermission{Recorder: true}}, true},
		{"egress kind", &livekit.ParticipantInfo{Identity: "p", Kind: livekit.ParticipantInfo_EGRESS}, true},
		{"egress identity", &livekit.ParticipantInfo{Identity: "EG_abc"}, true},
		{"recorder identity", &livekit.ParticipantInfo{Identity: "rec-1"}, true},
		{"sidecar agent", &livekit.ParticipantInfo{Identity: "rtk-agent-polls"}, true},
		{"nil", nil, true},
	} {
		if got := sessions.Hidden(tc.p); got != tc.hidden {
			t.Errorf("%s: Hidden = %v, want %v", tc.name, got, tc.hidden)
		}
	}
}

// TestSessionLifecycle: a room's life is a session; participants' stints,
// durations and counts; hidden participants are not counted; the webhooks.
func TestSessionLifecycle(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("Standup", "")
	ada := e.participant(m, "ada", presets.GroupCallHost)
	bob := e.participant(m, "bob", presets.GroupCallParticipant)
	rec := e.participant(m, "recorder", presets.Recorder)

	// A room, and hidden participants in it, are no session yet.
	e.sfu.StartRoom(m.ID, roomMeta(m))
	e.join(m, rec) // a recorder preset: hidden
	e.sfu.Join(m.ID, hiddenInfo("EG_egress", nil))
	e.sfu.Join(m.ID, hiddenInfo("someone-hidden", &auth.VideoGrant{Hidden: true}))
	e.wantEvents()
	if _, err := e.st.GetLiveSession(e.ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("live session before anyone visible joined: %v", err)
	}

	// The first visible participant starts the session.
	e.join(m, ada)
	e.join(m, bob)
	evs := e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID,
		webhooks.MeetingParticipantJoined+":"+bob.ID)
	s := e.live(m)
	if s.Status != store.SessionLive || s.AppID != appID || s.Title != "Standup" || s.RoomSID == "" {
		t.Fatalf("session = %+v", s)
	}
	mb := evs[0].meeting()
	if mb["id"] != m.ID || mb["sessionId"] != s.ID || mb["roomName"] != m.ID || mb["status"] != "LIVE" ||
		mb["organizedBy"].(map[string]any)["name"] != "My app" || mb["startedAt"] == nil || mb["parentMeetingId"] != nil {
		t.Errorf("meeting block = %v", mb)
	}
	if ada0 := e.stint(s, ada); !s.StartedAt.Equal(ada0.JoinedAt) {
		t.Errorf("session started at %v, want ada's join %v", s.StartedAt, ada0.JoinedAt)
	}
	evs = evs[1:]
	p := evs[0].participant()
	if p["customParticipantId"] != "ada" || p["clientSpecificId"] != "ada" || p["userDisplayName"] != "Name ada" ||
		p["presetName"] != presets.GroupCallHost || p["peerId"] == "" || p["joinedAt"] == nil || p["leftAt"] != nil {
		t.Errorf("participant block = %v", p)
	}
	s = e.live(m)
	if s.LiveParticipants != 2 || s.MaxConcurrentParticipants != 2 {
		t.Errorf("live %d, max %d; want 2, 2 (hidden ones not counted)", s.LiveParticipants, s.MaxConcurrentParticipants)
	}
	if _, err := e.st.GetSessionParticipant(e.ctx, s.ID, rec.ID); err == nil {
		t.Error("the recorder is a session participant")
	}

	// Bob leaves and comes back: one record, two stints.
	e.sfu.Leave(m.ID, bob.ID)
	evs = e.wantEvents(webhooks.MeetingParticipantLeft + ":" + bob.ID)
	if p := evs[0].participant(); p["leaveReason"] != sessions.LeaveLeft || p["leftAt"] == nil || p["movedToMeetingId"] != nil {
		t.Errorf("left participant block = %v", p)
	}
	first := e.stint(e.live(m), bob)
	if first.Live() || first.Duration <= 0 || first.LeaveReason != sessions.LeaveLeft {
		t.Errorf("after leaving: %+v", first)
	}
	time.Sleep(5 * time.Millisecond) // LiveKit's times have millisecond resolution: bob is back later
	e.join(m, bob)
	e.wantEvents(webhooks.MeetingParticipantJoined + ":" + bob.ID)
	again := e.stint(e.live(m), bob)
	if !again.Live() || !again.JoinedAt.Equal(first.JoinedAt) || again.Duration != first.Duration || !again.LeftAt.IsZero() {
		t.Errorf("after rejoining: %+v (first %+v)", again, first)
	}
	e.sfu.Leave(m.ID, rec.ID)
	e.wantEvents() // hidden: nothing

	// The room finishes: everyone left, then the session ends.
	e.sfu.Finish(m.ID)
	ids := []string{ada.ID, bob.ID}
	slices.Sort(ids) // the order LiveKit (the fake) disconnects them in
	evs = e.wantEvents(webhooks.MeetingParticipantLeft+":"+ids[0], webhooks.MeetingParticipantLeft+":"+ids[1],
		webhooks.MeetingEnded)
	if evs[2].Body["reason"] != webhooks.ReasonAllParticipantsLeft || evs[2].meeting()["status"] != "ENDED" || evs[2].meeting()["endedAt"] == nil {
		t.Errorf("meeting.ended = %v", evs[2].Body)
	}
	ended, err := e.st.GetSession(e.ctx, appID, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ended.Status != store.SessionEnded || ended.EndReason != webhooks.ReasonAllParticipantsLeft || ended.EndedAt.IsZero() ||
		ended.LiveParticipants != 0 || ended.MaxConcurrentParticipants != 2 {
		t.Errorf("ended session = %+v", ended)
	}
	final := e.stint(ended, bob)
	if final.Live() || final.Duration <= first.Duration {
		t.Errorf("bob's duration %v, want more than the first stint's %v", final.Duration, first.Duration)
	}
	var sum time.Duration
	for _, p := range []store.SessionParticipant{e.stint(ended, ada), final} {
		sum += p.Duration
	}
	if ended.ParticipantTime != sum {
		t.Errorf("participant time %v, want the sum of durations %v", ended.ParticipantTime, sum)
	}
	if _, err := e.st.GetLiveSession(e.ctx, m.ID); err == nil {
		t.Error("a live session remains")
	}

	// The next life of the room is a new session.
	e.join(m, ada)
	e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID)
	if next := e.live(m); next.ID == s.ID {
		t.Error("the room's second life reuses the session")
	}
}

// TestDuplicateEvents: an event applied twice counts once, and subscribers
// hear of it once.
func TestDuplicateEvents(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("Dup", "")
	ada := e.participant(m, "ada", presets.GroupCallHost)
	var mu sync.Mutex
	var heard []string
	e.tracker.Subscribe(func(_ context.Context, ev *livekit.WebhookEvent) {
		mu.Lock()
		defer mu.Unlock()
		heard = append(heard, ev.GetEvent())
	})
	e.tracker.Subscribe(func(context.Context, *livekit.WebhookEvent) { panic("a bad subscriber") })
	e.setMode("capture")
	e.join(m, ada)
	evs := e.take()
	for range 3 {
		for _, ev := range evs {
			e.apply(ev)
		}
	}
	e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID)
	if s := e.live(m); s.LiveParticipants != 1 {
		t.Errorf("live participants %d, want 1", s.LiveParticipants)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(heard, []string{"room_started", "participant_joined"}) {
		t.Errorf("subscriber heard %v, want each event once", heard)
	}
	if err := e.tracker.HandleLiveKitEvent(e.ctx, &livekit.WebhookEvent{Event: "room_started"}); err == nil {
		t.Error("an event without id was accepted")
	}
}

// TestOutOfOrderAndMissing: a leave before its join, a join without
// room_started, events of a room that is not a meeting, late events of a
// finished room, and a room instance replaced unseen.
func TestOutOfOrderAndMissing(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("Disorder", "")
	ada := e.participant(m, "ada", presets.GroupCallHost)
	bob := e.participant(m, "bob", presets.GroupCallHost)

	// room_started is missed: the first join opens the session.
	e.setMode("drop")
	e.sfu.StartRoom(m.ID, roomMeta(m))
	e.setMode("apply")
	e.join(m, ada)
	e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID)

	// Bob's leave arrives before his join: the stint is recorded whole, and
	// the late join changes nothing.
	e.setMode("capture")
	e.join(m, bob)
	e.sfu.Leave(m.ID, bob.ID)
	evs := e.take()
	e.setMode("apply")
	slices.Reverse(evs)
	for _, ev := range evs {
		e.apply(ev)
	}
	e.wantEvents(webhooks.MeetingParticipantJoined+":"+bob.ID, webhooks.MeetingParticipantLeft+":"+bob.ID)
	s := e.live(m)
	if b := e.stint(s, bob); b.Live() || b.LastLeftPeerID == "" {
		t.Errorf("bob = %+v, want a finished stint", b)
	}
	if s.LiveParticipants != 1 {
		t.Errorf("live participants %d, want 1", s.LiveParticipants)
	}

	// A room that is no meeting is ignored.
	e.sfu.Join("not-a-meeting", hiddenInfo("x", nil))
	e.wantEvents()

	// The room is replaced by a new instance while its end is missed: the
	// old session ends when the new room shows up, and the late end of the
	// old room changes nothing.
	old := e.live(m)
	e.setMode("capture")
	e.sfu.Finish(m.ID)
	late := e.take()
	e.setMode("apply")
	e.join(m, bob)
	got := e.wantEvents(webhooks.MeetingParticipantLeft+":"+ada.ID, webhooks.MeetingEnded, webhooks.MeetingStarted,
		webhooks.MeetingParticipantJoined+":"+bob.ID)
	if got[0].participant()["leaveReason"] != sessions.LeaveEnded {
		t.Errorf("ada's leave reason = %v, want ENDED", got[0].participant()["leaveReason"])
	}
	for _, ev := range late {
		e.apply(ev)
	}
	e.wantEvents()
	if cur := e.live(m); cur.ID == old.ID || cur.LiveParticipants != 1 {
		t.Errorf("current session %+v (old %s)", cur, old.ID)
	}
}

// TestMoves: make-before-break moves between a meeting and its breakout
// room are recorded and announced as moves.
func TestMoves(t *testing.T) {
	e := newEnv(t)
	parent := e.meeting("All hands", "")
	child := e.meeting("Room 1", parent.ID)
	other := e.meeting("Unrelated", "")
	ada := e.participant(parent, "ada", presets.GroupCallHost)

	e.join(parent, ada)
	e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID)
	ps := e.live(parent)

	// Into the breakout: join the destination, then leave the source.
	e.join(child, ada)
	evs := e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID)
	if mb := evs[0].meeting(); mb["id"] != child.ID || mb["parentMeetingId"] != parent.ID || mb["parentSessionId"] != ps.ID {
		t.Errorf("breakout meeting.started block = %v", mb)
	}
	if p := evs[1].participant(); p["movedFromMeetingId"] != parent.ID {
		t.Errorf("join in the breakout = %v, want movedFromMeetingId %s", p, parent.ID)
	}
	cs := e.live(child)
	if cs.ParentSessionID != ps.ID {
		t.Errorf("breakout session's parent = %q, want %q", cs.ParentSessionID, ps.ID)
	}
	e.sfu.Leave(parent.ID, ada.ID)
	evs = e.wantEvents(webhooks.MeetingParticipantLeft + ":" + ada.ID)
	if p := evs[0].participant(); p["movedToMeetingId"] != child.ID || p["leaveReason"] != sessions.LeaveMoved || evs[0].meeting()["id"] != parent.ID {
		t.Errorf("leave of the parent = %v", evs[0].Body)
	}
	if r := e.stint(ps, ada); r.LeaveReason != sessions.LeaveMoved {
		t.Errorf("parent stint reason %q, want MOVED", r.LeaveReason)
	}

	// Back to the parent.
	e.join(parent, ada)
	evs = e.wantEvents(webhooks.MeetingParticipantJoined + ":" + ada.ID)
	if evs[0].participant()["movedFromMeetingId"] != child.ID {
		t.Errorf("return join = %v", evs[0].participant())
	}
	e.sfu.Leave(child.ID, ada.ID)
	evs = e.wantEvents(webhooks.MeetingParticipantLeft + ":" + ada.ID)
	if evs[0].participant()["movedToMeetingId"] != parent.ID {
		t.Errorf("leave of the breakout = %v", evs[0].participant())
	}

	// Being in an unrelated meeting at the same time is no move.
	e.join(other, ada)
	evs = e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID)
	if _, moved := evs[1].participant()["movedFromMeetingId"]; moved {
		t.Errorf("join of an unrelated meeting counted as a move: %v", evs[1].participant())
	}
	e.sfu.Leave(parent.ID, ada.ID)
	evs = e.wantEvents(webhooks.MeetingParticipantLeft + ":" + ada.ID)
	if evs[0].participant()["leaveReason"] != sessions.LeaveLeft {
		t.Errorf("plain leave = %v", evs[0].participant())
	}

	// include_breakout_rooms.
	v, err := e.api.Session(e.ctx, appID, ps.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.BreakoutRooms) != 1 || v.BreakoutRooms[0].ID != cs.ID {
		t.Errorf("breakout rooms of the parent session = %+v", v.BreakoutRooms)
	}
}

// TestBreakBeforeMakeMoves: a client that leaves its room before joining
// the one the sidecar placed it in makes a move too, when the placement is
// recent; with an old placement, a leave is a leave.
func TestBreakBeforeMakeMoves(t *testing.T) {
	e := newEnv(t)
	parent := e.meeting("All hands", "")
	child := e.meeting("Room 1", parent.ID)
	ada := e.participant(parent, "ada", presets.GroupCallParticipant)
	place := func(room string, at time.Time) {
		t.Helper()
		if err := e.st.PutPlacement(e.ctx, store.Placement{ParticipantID: ada.ID, ParentID: parent.ID, RoomID: room, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}

	e.join(parent, ada)
	e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID)

	// Placed in the breakout; the client leaves the parent, then joins.
	place(child.ID, time.Now())
	e.sfu.Leave(parent.ID, ada.ID)
	evs := e.wantEvents(webhooks.MeetingParticipantLeft + ":" + ada.ID)
	if p := evs[0].participant(); p["movedToMeetingId"] != child.ID || p["leaveReason"] != sessions.LeaveMoved {
		t.Errorf("leave of the parent = %v, want a move to %s", p, child.ID)
	}
	e.join(child, ada)
	evs = e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID)
	if p := evs[1].participant(); p["movedFromMeetingId"] != parent.ID {
		t.Errorf("join of the breakout = %v, want movedFromMeetingId %s", p, parent.ID)
	}

	// Back to the parent (no room in the placement), the same way.
	place("", time.Now())
	e.sfu.Leave(child.ID, ada.ID)
	evs = e.wantEvents(webhooks.MeetingParticipantLeft + ":" + ada.ID)
	if p := evs[0].participant(); p["movedToMeetingId"] != parent.ID || p["leaveReason"] != sessions.LeaveMoved {
		t.Errorf("leave of the breakout = %v, want a move to the parent", p)
	}
	e.join(parent, ada)
	evs = e.wantEvents(webhooks.MeetingParticipantJoined + ":" + ada.ID)
	if p := evs[0].participant(); p["movedFromMeetingId"] != child.ID {
		t.Errorf("return join = %v, want movedFromMeetingId %s", p, child.ID)
	}

	// A placement made a minute ago explains nothing: this leave is a leave,
	// and the join after it a join.
	place(child.ID, time.Now().Add(-time.Minute))
	e.sfu.Leave(parent.ID, ada.ID)
	evs = e.wantEvents(webhooks.MeetingParticipantLeft + ":" + ada.ID)
	if p := evs[0].participant(); p["leaveReason"] != sessions.LeaveLeft || p["movedToMeetingId"] != nil {
		t.Errorf("leave with an old placement = %v, want a plain leave", p)
	}
	e.join(child, ada)
	evs = e.wantEvents(webhooks.MeetingParticipantJoined + ":" + ada.ID)
	if p := evs[0].participant(); p["movedFromMeetingId"] != nil {
		t.Errorf("join after a plain leave = %v, want no movedFromMeetingId", p)
	}
}

// TestReconcile: with every LiveKit webhook missed, reconciliation opens
// (once someone visible is in the room) and ends sessions and stints as LiveKit shows them, and sends the missed
// webhooks, marked reconciled.
func TestReconcile(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("Quiet", "")
	ada := e.participant(m, "ada", presets.GroupCallHost)
	bob := e.participant(m, "bob", presets.GroupCallHost)
	e.setMode("drop")
	// A room with only hidden participants (a prepared connection, say) is
	// no session.
	e.sfu.Join(m.ID, hiddenInfo("rtk-agent-polls", nil))
	if err := e.tracker.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.wantEvents()
	e.join(m, ada)
	time.Sleep(2 * time.Millisecond) // LiveKit's join times have millisecond resolution
	e.join(m, bob)
	if err := e.tracker.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	evs := e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID, webhooks.MeetingParticipantJoined+":"+bob.ID)
	for _, ev := range evs {
		if ev.Body["reconciled"] != true {
			t.Errorf("%s not marked reconciled", ev)
		}
	}
	s := e.live(m)
	if s.LiveParticipants != 2 {
		t.Errorf("live participants %d, want 2", s.LiveParticipants)
	}
	a := e.stint(s, ada)
	if info := e.sfu.Participant(m.ID, ada.ID); !a.JoinedAt.Equal(time.UnixMilli(info.JoinedAtMs).UTC()) {
		t.Errorf("reconciled join time %v, want LiveKit's %v", a.JoinedAt, time.UnixMilli(info.JoinedAtMs))
	}

	// Nothing changed: nothing happens.
	if err := e.tracker.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.wantEvents()

	// Bob left; then the room finished; both unseen.
	e.sfu.Leave(m.ID, bob.ID)
	time.Sleep(2 * time.Millisecond) // reconciliation ignores stints it may have raced with
	if err := e.tracker.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.wantEvents(webhooks.MeetingParticipantLeft + ":" + bob.ID)
	e.sfu.Finish(m.ID)
	if err := e.tracker.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	evs = e.wantEvents(webhooks.MeetingParticipantLeft+":"+ada.ID, webhooks.MeetingEnded)
	if evs[1].Body["reason"] != webhooks.ReasonAllParticipantsLeft || evs[1].Body["reconciled"] != true {
		t.Errorf("meeting.ended = %v", evs[1].Body)
	}
	if got, err := e.st.GetSession(e.ctx, appID, s.ID); err != nil || got.Status != store.SessionEnded {
		t.Errorf("session after reconciliation: %+v, %v", got, err)
	}

	// LiveKit unreachable: an error, and nothing changes.
	e.sfu.SetErr(context.DeadlineExceeded)
	if err := e.tracker.Reconcile(e.ctx); err == nil {
		t.Error("Reconcile with LiveKit down succeeded")
	}
	e.sfu.SetErr(nil)
	e.wantEvents()
}

// TestReconcileRevealed: a connection that was hidden at the last reconciliation and is visible
// now (a revealed prepared connection) is not joined with LiveKit's join time, which is its
// hidden join: the reveal records it, at the reveal. Without a record of its reveal, the next
// reconciliation joins it.
func TestReconcileRevealed(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("Room", "")
	ada := e.participant(m, "ada", presets.GroupCallHost)
	bob := e.participant(m, "bob", presets.GroupCallHost)
	carol := e.participant(m, "carol", presets.GroupCallHost)
	e.setMode("drop")
	e.join(m, ada)
	prepared := func(p meetings.Participant) *livekit.ParticipantInfo {
		info := e.info(p, m.ID)
		visible := proto.Clone(info.Permission).(*livekit.ParticipantPermission)
		info.Permission.Hidden = true
		e.sfu.Join(m.ID, info)
		return &livekit.ParticipantInfo{Identity: p.ID, Permission: visible}
	}
	reveal := func(p *livekit.ParticipantInfo) *livekit.ParticipantInfo {
		got, err := e.sfu.UpdateParticipant(e.ctx, &livekit.UpdateParticipantRequest{Room: m.ID, Identity: p.Identity, Permission: p.Permission})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	bobVisible, carolVisible := prepared(bob), prepared(carol)
	if err := e.tracker.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID)

	time.Sleep(5 * time.Millisecond) // the reveals come after the hidden joins
	bobInfo, carolInfo := reveal(bobVisible), reveal(carolVisible)
	if err := e.tracker.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.wantEvents() // neither is joined with its hidden join's time

	at := time.Now().Truncate(time.Millisecond)
	e.apply(bridge.RevealedEvent(m.ID, bobInfo, at))
	e.wantEvents(webhooks.MeetingParticipantJoined + ":" + bob.ID)
	s := e.live(m)
	if got := e.stint(s, bob).JoinedAt; !got.Equal(at.UTC()) {
		t.Errorf("bob joined at %v, want the reveal's %v", got, at.UTC())
	}

	// carol's reveal was not recorded: the next reconciliation joins her, with LiveKit's time.
	if err := e.tracker.Reconcile(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.wantEvents(webhooks.MeetingParticipantJoined + ":" + carol.ID)
	if got := e.stint(s, carol).JoinedAt; !got.Equal(time.UnixMilli(carolInfo.JoinedAtMs).UTC()) {
		t.Errorf("carol joined at %v, want LiveKit's %v", got, time.UnixMilli(carolInfo.JoinedAtMs).UTC())
	}
}

// TestReconcileAfterRestart: webhooks applied before a restart, more
// missed while the sidecar was down, then Run reconciles at start.
func TestReconcileRun(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("Restart", "")
	ada := e.participant(m, "ada", presets.GroupCallHost)
	bob := e.participant(m, "bob", presets.GroupCallHost)
	e.join(m, ada)
	e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID)
	e.setMode("drop") // the sidecar is down
	e.sfu.Leave(m.ID, ada.ID)
	e.join(m, bob)
	e.setMode("apply")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.tracker.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	var got []event
	for len(got) < 2 && time.Now().Before(deadline) {
		got = append(got, e.events()...)
		time.Sleep(10 * time.Millisecond)
	}
	var names []string
	for _, ev := range got {
		names = append(names, ev.String())
	}
	want := []string{"meeting.participantJoined(" + bob.ID + " in " + m.ID + ")", "meeting.participantLeft(" + ada.ID + " in " + m.ID + ")"}
	if !slices.Equal(names, want) {
		t.Errorf("after restart: %v, want %v", names, want)
	}
}

// TestJoinWithNewConnection: the same identity connecting again replaces
// its connection without a leave or a second join.
func TestJoinWithNewConnection(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("Reconnect", "")
	ada := e.participant(m, "ada", presets.GroupCallHost)
	first := e.join(m, ada)
	e.wantEvents(webhooks.MeetingStarted, webhooks.MeetingParticipantJoined+":"+ada.ID)
	second := e.sfu.Join(m.ID, e.info(ada, m.ID)) // LiveKit: joined(new), then left(old)
	e.wantEvents()
	r := e.stint(e.live(m), ada)
	if !r.Live() || r.PeerID != second.Sid || r.PeerID == first.Sid {
		t.Errorf("after reconnecting: %+v", r)
	}
	// A stale copy of the first connection's join is ignored too.
	stale := &livekit.WebhookEvent{Id: "EV_stale", Event: "participant_joined", Room: e.sfu.Room(m.ID),
		Participant: proto.Clone(first).(*livekit.ParticipantInfo)}
	e.apply(stale)
	e.wantEvents()
}

// TestConcurrentIntake: LiveKit's webhooks arrive concurrently (LiveKit
// sends them from several goroutines), some twice: one session, every
// participant once, one participantJoined each. On PostgreSQL this runs
// the transactions at SERIALIZABLE against each other.
func TestConcurrentIntake(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			var e *env
			if engine == "postgres" {
				e = newEnvDSN(t, storetest.PostgresDSN(t))
			} else {
				e = newEnv(t)
			}
			m := e.meeting("Rush", "")
			const n = 6
			var ps []string
			e.setMode("capture")
			e.sfu.StartRoom(m.ID, roomMeta(m))
			for i := range n {
				p := e.participant(m, fmt.Sprintf("p%d", i), presets.GroupCallHost)
				ps = append(ps, p.ID)
				e.join(m, p)
			}
			evs := e.take()
			evs = append(evs, evs...) // every event twice
			var wg sync.WaitGroup
			for _, ev := range evs {
				wg.Go(func() { e.apply(ev) })
			}
			wg.Wait()
			got := e.events()
			var names []string
			joined := map[string]int{}
			for _, ev := range got {
				names = append(names, ev.Name)
				if p := ev.participant(); p != nil {
					joined[fmt.Sprint(p["participantId"])]++
				}
			}
			if c := strings.Count(strings.Join(names, " "), webhooks.MeetingStarted); c != 1 || len(got) != n+1 {
				t.Errorf("events %v: want one meeting.started and %d joins", names, n)
			}
			for _, id := range ps {
				if joined[id] != 1 {
					t.Errorf("participant %s joined %d times", id, joined[id])
				}
			}
			s := e.live(m)
			if s.LiveParticipants != n || s.MaxConcurrentParticipants != n {
				t.Errorf("live %d, max %d; want %d", s.LiveParticipants, s.MaxConcurrentParticipants, n)
			}
		})
	}
}

// TestChatSynced: a session that ends with chat messages emits meeting.chatSynced, after
// meeting.ended, with its export link; one without chat does not.
func TestChatSynced(t *testing.T) {
	e := newEnv(t)
	e.tracker = sessions.NewTracker(e.st, e.sfu, e.outbox, slog.New(slog.NewTextHandler(testWriter{t}, nil)), sessions.TrackerOptions{
		ChatExport: func(appID, sessionID string, now time.Time) (string, time.Time) {
			return "https://rtk.example/sessions/files/" + appID + "/" + sessionID + "/chat.csv?sig", now.Add(time.Hour)
		},
	})
	talk := e.meeting("Talk", "")
	quiet := e.meeting("Quiet", "")
	ada := e.participant(talk, "ada", presets.GroupCallHost)
	bob := e.participant(quiet, "bob", presets.GroupCallHost)
	for _, m := range []store.Meeting{talk, quiet} {
		e.sfu.StartRoom(m.ID, roomMeta(m))
	}
	e.join(talk, ada)
	e.join(quiet, bob)
	s := e.live(talk)
	at := time.Now().UTC()
	if err := e.st.CreateChatMessage(e.ctx, store.ChatMessage{ID: "c1", AppID: appID, SessionID: s.ID, MeetingID: talk.ID,
		ParticipantID: ada.ID, Name: "Ada", Message: "hi", CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	e.events() // the starts and joins

	e.sfu.Finish(quiet.ID)
	e.wantEvents(webhooks.MeetingParticipantLeft+":"+bob.ID, webhooks.MeetingEnded)
	e.sfu.Finish(talk.ID)
	evs := e.wantEvents(webhooks.MeetingParticipantLeft+":"+ada.ID, webhooks.MeetingEnded, webhooks.MeetingChatSynced)
	b := evs[2].Body
	if b["event"] != webhooks.MeetingChatSynced || b["sessionId"] != s.ID || b["meetingId"] != talk.ID || b["title"] != "Talk" ||
		b["chatDownloadUrl"] != "https://rtk.example/sessions/files/"+appID+"/"+s.ID+"/chat.csv?sig" ||
		b["chatDownloadUrlExpiry"] == nil || b["endedAt"] == nil || b["organizedBy"].(map[string]any)["name"] != "My app" {
		t.Errorf("meeting.chatSynced = %v", b)
	}
}
