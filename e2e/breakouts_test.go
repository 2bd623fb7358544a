//go:build e2e

package e2e

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
	"rtk-sidecar/protocol"
	"rtk-sidecar/rtkclient"
)

// TestBreakoutsEndToEnd is the first Proof bullet of connected meetings, through the whole
// in-process sidecar (REST API with the API key, breakouts, the LiveKit mover, the bundled SFU)
// and rtkclient participants that join with their participant tokens (/client/v1/join) and
// publish synthetic Opus (one also a VP8 camera):
//
//	host        group_call_host, stays in the parent, talks
//	p0          camera + microphone
//	p1, p2      microphone muted from the start
//	p3..p7      microphone
//	p8          microphone, offline (never connected) while the rooms start
//	sw          a preset created here: group_call_participant + can_switch_to_parent_meeting
//
// The host creates 3 rooms, shuffles everyone but the host over them and starts them. Then,
// through LiveKit (ListParticipants) and through media (the packets each client receives),
// every participant is in exactly its room, heard by every room-mate and by nobody else;
// muted microphones stay muted and the camera stays on across every move. A plain participant
// may not return to the parent by itself (403, nothing changes); sw may, and is then heard
// there. The offline participant joins into its room. Closing at once brings everyone back;
// a second round closes with a 2 s countdown whose closing event reaches every client before
// anyone moves.
func TestBreakoutsEndToEnd(t *testing.T) {
	sc := StartSidecar(t)
	t.Cleanup(func() { sc.dropLeftovers(t) }) // runs after the clients have closed
	ctx := t.Context()
	parent := sc.CreateMeeting(t, "All hands")
	fam := &bkFamily{sc: sc, parent: parent, base: sc.AppPath + "/meetings/" + parent + "/connected-meetings"}

	addReturnerPreset(t, sc)

	host := newMember(t, sc, parent, "host", presets.GroupCallHost, false, false)
	var plain []*member
	for i := range 9 {
		plain = append(plain, newMember(t, sc, parent, fmt.Sprintf("p%d", i), presets.GroupCallParticipant, i == 1 || i == 2, i == 0))
	}
	sw := newMember(t, sc, parent, "sw", "breakout_returner", false, false)
	offline := plain[8]
	all := append(append([]*member{host}, plain...), sw)
	fam.members = all
	online := slices.DeleteFunc(slices.Clone(all), func(m *member) bool { return m == offline })

	// Everyone but the offline participant joins the parent.
	for _, m := range online {
		if j := m.join(t); j.Room != parent || j.MeetingID != parent || j.Identity != m.id {
			t.Fatalf("%s joined %+v, want the parent %s", m.name, j, parent)
		}
	}
	obsParent := observe(t, sc, parent)
	where := map[string]string{}
	for _, m := range online {
		where[m.id] = parent
	}
	fam.check(t, "the parent before the breakouts", where, nil, map[string]*roomObserver{parent: obsParent})

	// The host creates three rooms and shuffles.
	st := fam.admin(t, 201, "POST", "", map[string]any{"version": 0, "count": 3})
	if st.Version != 1 || len(st.Meetings) != 3 || len(st.CreatedMeetingIDs) != 3 {
		t.Fatalf("after creating 3 rooms: %+v", st)
	}
	rooms := st.CreatedMeetingIDs
	st = fam.admin(t, 200, "POST", "/assign", map[string]any{"version": st.Version, "mode": "auto"})
	assigned := map[string]string{}
	var sizes []int
	for _, r := range st.Meetings {
		sizes = append(sizes, len(r.AssignedParticipantIDs))
		for _, id := range r.AssignedParticipantIDs {
			assigned[id] = r.ID
		}
	}
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int{3, 3, 4}) || len(assigned) != 10 || assigned[host.id] != "" {
		t.Fatalf("auto assignment: sizes %v, %d assigned (host: %q), want 3/3/4 and everyone but the host",
			sizes, len(assigned), assigned[host.id])
	}
	for _, m := range all {
		t.Logf("%s (%s) assigned to %s", m.name, m.id, short(assigned[m.id]))
	}

	// Prepared connections (docs/protocol.md §5): before the start, every online participant
	// with a room holds a hidden connection to it, which nobody sees and which is no session.
	eventually(t, 20*time.Second, func() string {
		for _, m := range online {
			if got := m.c.Prepared(); got != assigned[m.id] {
				return fmt.Sprintf("%s holds a prepared connection to %q, want %q", m.name, short(got), short(assigned[m.id]))
			}
		}
		return ""
	})
	// The server reveals a prepared connection that LiveKit lists ACTIVE (its media transport
	// up); one still connecting at the start is replaced by a join (§5). Wait for them all.
	eventually(t, 20*time.Second, func() string {
		active := 0
		for _, room := range rooms {
			res, err := sc.Rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range res.Participants {
				if assigned[p.Identity] != room || !bridge.Prepared(p) {
					t.Fatalf("before the start, room %s lists %s (hidden %v, attributes %v): want prepared connections only",
						short(room), p.Identity, p.Permission.GetHidden(), p.Attributes)
				}
				if p.State == livekit.ParticipantInfo_ACTIVE {
					active++
				}
			}
		}
		if want := len(online) - 1; active != want { // all but the host, who has no room
			return fmt.Sprintf("%d prepared connections ACTIVE in LiveKit, want %d", active, want)
		}
		return ""
	})
	for _, room := range rooms {
		if st := sc.Call(t, "GET", sc.AppPath+"/meetings/"+room+"/active-session", "", nil, nil); st != 404 {
			t.Errorf("room %s has an active session before the start (status %d)", short(room), st)
		}
	}

	// A prepared connection may subscribe (§5), so one may stay only until its start: the
	// offline participant's ticket, asked for now and used once the rooms run, is dropped.
	var stale protocol.PrepareTicket
	if code := sc.Call(t, "POST", "/client/v1/connected-meetings/prepare", "Bearer "+offline.token, nil, &stale); code != 200 || stale.Room != assigned[offline.id] {
		t.Fatalf("prepare for the offline participant: %d %+v", code, stale)
	}

	// Start: everyone but the host goes to its room; the offline one is placed there.
	st = fam.admin(t, 200, "POST", "/start", map[string]any{"version": st.Version})
	if st.Status != "running" {
		t.Fatalf("status after start = %s", st.Status)
	}
	for _, m := range all {
		if want := or(assigned[m.id], parent); st.roomOf(m.id) != want {
			t.Fatalf("after start the state places %s in %s, want %s", m.name, short(st.roomOf(m.id)), short(want))
		}
	}
	for _, m := range online {
		where[m.id] = or(assigned[m.id], parent)
	}
	obs := observeAll(t, sc, rooms)
	obs[parent] = obsParent
	fam.check(t, "after the start", where, rooms, obs)
	// The host, who stayed in the parent, was told of every arrival (meetingChanged).
	eventually(t, 5*time.Second, func() string {
		host.mu.Lock()
		defer host.mu.Unlock()
		for _, m := range online {
			if m == host {
				continue
			}
			if a := host.arrivals[m.id]; len(a) == 0 || a[len(a)-1] != where[m.id] {
				return fmt.Sprintf("the host heard of %s's arrivals in %v, want %s", m.name, shorts(a), short(where[m.id]))
			}
		}
		return ""
	})
	// The instructions went over the clients' event streams as well as LiveKit
	// (docs/protocol.md §4); each client followed the first copy, once.
	vias := map[string]int{}
	for _, m := range online {
		if m == host {
			continue
		}
		rs := m.reports()
		if len(rs) != 1 {
			t.Fatalf("%s has %d move reports after the start, want 1: %+v", m.name, len(rs), rs)
		}
		vias[rs[0].Via]++
	}
	t.Logf("start instructions followed, by path: %v", vias)
	// Every mover switched to its prepared connection, and each room's session has its people.
	for _, m := range online {
		if rs := m.reports(); m != host && !rs[0].Prepared {
			t.Errorf("%s joined its room at the start instead of switching to its prepared connection: %+v", m.name, rs[0])
		}
	}
	for _, room := range rooms {
		want := 0
		for _, m := range online {
			if assigned[m.id] == room {
				want++
			}
		}
		waitLive(t, sc, room, want)
	}
	if vias["stream"] == 0 || vias["stream"]+vias["rpc"]+vias["data"] != len(online)-1 {
		t.Errorf("start instructions followed by path %v: want some over the event stream, all over stream, rpc or data", vias)
	}

	// LiveKit admits it; the server may drop it before its peer connection is up, and lksdk then
	// reports that it could not connect. It hears nothing of the room meanwhile.
	late, err := JoinErr(t, stale.URL, stale.Token)
	switch {
	case err == nil:
	case strings.Contains(err.Error(), "could not connect"):
		t.Logf("the prepared ticket's connection was dropped while it came up: %v", err)
	default:
		t.Fatalf("join with a prepared ticket after the start: %v", err)
	}
	eventually(t, 10*time.Second, func() string {
		res, err := sc.Rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: stale.Room})
		if err != nil {
			return err.Error()
		}
		for _, p := range res.Participants {
			if p.Identity == offline.id {
				return "the prepared connection used after the start is still in its room"
			}
		}
		return ""
	})
	if late != nil {
		for _, m := range all {
			if n := late.PacketsFrom(m.id) + late.VideoPacketsFrom(m.id); n != 0 {
				t.Errorf("the prepared connection used after the start received %d packets of %s", n, m.name)
			}
		}
	}

	// The offline participant joins: it lands in its room and is heard there.
	if j := offline.join(t); j.Room != assigned[offline.id] || j.MeetingID != assigned[offline.id] {
		t.Fatalf("offline participant joined room %s (meeting %s), want its room %s", short(j.Room), short(j.MeetingID), short(assigned[offline.id]))
	}
	where[offline.id] = assigned[offline.id]
	fam.check(t, "after the offline participant joined", where, rooms, obs)

	// The host, in the parent, broadcasts to one room: everyone there gets it once, over LiveKit
	// and the event stream, and nobody elsewhere does.
	target := where[plain[0].id]
	bm, err := host.c.BroadcastMessage(ctx, "note", map[string]any{"text": "five minutes left"}, target)
	if err != nil || bm.ID == "" || bm.SenderParticipantID != host.id {
		t.Fatalf("host's broadcast: %+v, %v", bm, err)
	}
	received := func(m *member) int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.broadcasts[bm.ID]
	}
	eventually(t, 10*time.Second, func() string {
		for _, m := range all {
			if where[m.id] == target && received(m) != 1 {
				return fmt.Sprintf("%s, in the target room, has the message %d times", m.name, received(m))
			}
		}
		return ""
	})
	time.Sleep(500 * time.Millisecond) // time for a stray copy
	for _, m := range all {
		if want := map[bool]int{true: 1, false: 0}[where[m.id] == target]; received(m) != want {
			t.Errorf("%s, in %s, has the message to %s %d times, want %d", m.name, short(where[m.id]), short(target), received(m), want)
		}
	}

	// Each room has its own chat: a message in the target room reaches everyone there once, the
	// sender included, and nobody elsewhere; it is kept in the room's session, whose export
	// has it, and not in the parent's.
	sender := plain[0]
	cm, err := sender.c.SendChat(ctx, "hello, breakout")
	if err != nil || cm.MeetingID != target || cm.ParticipantID != sender.id {
		t.Fatalf("chat in the breakout: %+v, %v", cm, err)
	}
	chatted := func(m *member) int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.chats[cm.ID]
	}
	eventually(t, 10*time.Second, func() string {
		for _, m := range all {
			if where[m.id] == target && chatted(m) != 1 {
				return fmt.Sprintf("%s, in the chat's room, has the message %d times", m.name, chatted(m))
			}
		}
		return ""
	})
	time.Sleep(500 * time.Millisecond) // time for a stray copy
	for _, m := range all {
		if want := map[bool]int{true: 1, false: 0}[where[m.id] == target]; chatted(m) != want {
			t.Errorf("%s, in %s, has the chat message of %s %d times, want %d", m.name, short(where[m.id]), short(target), chatted(m), want)
		}
	}
	if h, err := host.c.ChatHistory(ctx); err != nil || len(h) != 0 {
		t.Errorf("the parent's chat history: %+v, %v; want none", h, err)
	}
	if h, err := sender.c.ChatHistory(ctx); err != nil || len(h) != 1 || h[0].ID != cm.ID {
		t.Errorf("the breakout's chat history: %+v, %v; want the message", h, err)
	}
	checkChatExport(t, sc, cm)
	var apiErr *rtkclient.APIError

	// The host, in the parent, listens in to the target room: it hears everyone talking there
	// without leaving the parent, and leaves no trace once it stops. Others may not listen in.
	l, err := host.c.ListenIn(ctx, target)
	if err != nil {
		t.Fatalf("host listens in: %v", err)
	}
	eventually(t, 10*time.Second, func() string {
		for _, m := range all {
			if where[m.id] == target && !m.muted && host.c.Received(target, m.id, rtkclient.Audio).Packets == 0 {
				return fmt.Sprintf("the host, listening in, does not hear %s", m.name)
			}
		}
		return ""
	})
	if host.c.Room() != parent {
		t.Errorf("the host listening in is in %s, want still the parent", short(host.c.Room()))
	}
	l.Close()
	eventually(t, 10*time.Second, func() string {
		if ids, err := sc.identities(target); err != nil || slices.Contains(ids, "listen-"+host.id) {
			return fmt.Sprintf("the room still lists the listener: %v (%v)", ids, err)
		}
		return ""
	})
	if _, err := plain[1].c.ListenIn(ctx, target); !errors.As(err, &apiErr) || apiErr.Status != 403 {
		t.Errorf("a plain participant listens in: %v, want 403", err)
	}

	// A participant in the target room asks for help: the host, in the parent, gets it once;
	// nobody else does.
	hr, err := sender.c.AskForHelp(ctx, "we are stuck")
	if err != nil || hr.MeetingID != target {
		t.Fatalf("ask for help: %+v, %v", hr, err)
	}
	helped := func(m *member) int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.helps[hr.ID]
	}
	eventually(t, 10*time.Second, func() string {
		if n := helped(host); n != 1 {
			return fmt.Sprintf("the host has the request %d times", n)
		}
		return ""
	})
	time.Sleep(500 * time.Millisecond) // time for a stray copy
	for _, m := range all {
		if want := map[bool]int{true: 1, false: 0}[m == host]; helped(m) != want {
			t.Errorf("%s has the help request %d times, want %d", m.name, helped(m), want)
		}
	}

	// A plain participant may not switch back to the parent: 403, and nothing changes.
	p := plain[3]
	before, moved := fam.state(t), len(p.reports())
	_, err = p.c.MoveParticipants(ctx, rtkclient.MoveParticipantsRequest{
		SourceMeetingID: where[p.id], DestinationMeetingID: parent, ParticipantIDs: []string{p.id}})
	if !errors.As(err, &apiErr) || apiErr.Status != 403 || !strings.Contains(apiErr.Message, "can_switch_to_parent_meeting") {
		t.Fatalf("plain participant's move to the parent: %v, want 403 (can_switch_to_parent_meeting)", err)
	}
	time.Sleep(time.Second) // a move, had one been ordered, would be under way by now
	if after := fam.state(t); after.Version != before.Version || after.roomOf(p.id) != where[p.id] {
		t.Fatalf("the refused move changed the state: version %d -> %d, %s placed in %s", before.Version, after.Version, p.name, short(after.roomOf(p.id)))
	}
	if r := p.reports(); len(r) != moved {
		t.Fatalf("%s got a move instruction after a refused move: %+v", p.name, r[moved:])
	}

	// The returner may: it goes back and is heard in the parent (by the host).
	swRoom := where[sw.id]
	cs, err := sw.c.MoveParticipants(ctx, rtkclient.MoveParticipantsRequest{
		SourceMeetingID: swRoom, DestinationMeetingID: parent, ParticipantIDs: []string{sw.id}})
	if err != nil {
		t.Fatalf("sw's move to the parent: %v", err)
	}
	if cs.Version != before.Version+1 || !slices.ContainsFunc(cs.ParentMeeting.Participants, func(p rtkclient.Participant) bool { return p.ID == sw.id }) {
		t.Fatalf("state after sw's move: %+v", cs)
	}
	where[sw.id] = parent
	fam.check(t, "after sw returned to the parent", where, rooms, obs) // includes "p3 stays in its room"

	// Close at once: everyone is back in the parent and they hear each other again.
	closeObservers(obs, rooms)
	st = fam.admin(t, 200, "POST", "/close", map[string]any{"version": fam.state(t).Version, "grace_seconds": 0})
	if st.Status != "idle" || len(st.ParentMeeting.Participants) != len(all) {
		t.Fatalf("after close: status %s, %d in the parent", st.Status, len(st.ParentMeeting.Participants))
	}
	for _, m := range all {
		where[m.id] = parent
	}
	fam.check(t, "after close (grace 0)", where, rooms, map[string]*roomObserver{parent: obsParent})

	// Second round: start again (same rooms, same assignment), then close with a countdown.
	st = fam.admin(t, 200, "POST", "/start", map[string]any{"version": fam.state(t).Version})
	for _, m := range all {
		where[m.id] = or(assigned[m.id], parent)
	}
	obs = observeAll(t, sc, rooms)
	obs[parent] = obsParent
	fam.check(t, "after the second start", where, rooms, obs)
	closeObservers(obs, rooms)

	sent := time.Now()
	st = fam.admin(t, 200, "POST", "/close", map[string]any{"version": fam.state(t).Version, "grace_seconds": 2})
	if st.Status != "closing" || st.ClosingAt == nil {
		t.Fatalf("after close with a grace: status %s, closing_at %v", st.Status, st.ClosingAt)
	}
	closingAt, err := time.Parse(time.RFC3339Nano, *st.ClosingAt)
	if err != nil {
		t.Fatal(err)
	}
	if d := closingAt.Sub(sent); d < 1500*time.Millisecond || d > 2500*time.Millisecond {
		t.Fatalf("closing_at is %s after the request, want 2 s", d)
	}
	for _, m := range all {
		where[m.id] = parent
	}
	fam.check(t, "after close (grace 2 s)", where, rooms, map[string]*roomObserver{parent: obsParent})
	for _, m := range all {
		c, at, ok := m.closing()
		switch {
		case !ok:
			t.Errorf("%s never received the closing event", m.name)
			continue
		case c.ClosingAt.Sub(closingAt).Abs() >= time.Millisecond || c.Seconds != 2: // the admin API has ms
			t.Errorf("%s received closing %+v, want closingAt %s and 2 seconds", m.name, c, closingAt)
		case at.After(closingAt):
			t.Errorf("%s received the closing event %s after the rooms closed", m.name, at.Sub(closingAt))
		}
		if m == host {
			continue
		}
		var back *rtkclient.MoveReport
		for _, r := range m.reports() {
			if r.To == parent && r.Received.After(sent) {
				back = &r
			}
		}
		switch {
		case back == nil:
			t.Errorf("%s has no report of its move back to the parent", m.name)
		case !back.Received.After(at):
			t.Errorf("%s was told to move back (%s) before it received the closing event (%s)", m.name, back.Received.Format(time.StampMicro), at.Format(time.StampMicro))
		case back.Received.Before(closingAt.Add(-50 * time.Millisecond)):
			t.Errorf("%s was moved back %s before the countdown ended", m.name, closingAt.Sub(back.Received))
		default:
			t.Logf("%s: closing event %s before closingAt, move back received %s after it", m.name,
				closingAt.Sub(at).Round(time.Millisecond), back.Received.Sub(closingAt).Round(time.Millisecond))
		}
	}
	if st := fam.state(t); st.Status != "idle" {
		t.Errorf("status after the countdown = %s", st.Status)
	}
	for _, m := range all {
		if f := m.failures(); len(f) > 0 {
			t.Errorf("%s saw moveFailed events: %+v", m.name, f)
		}
		m.mu.Lock()
		if len(m.disconnects) > 0 {
			t.Errorf("the server ended %s's current room: %+v", m.name, m.disconnects)
		}
		m.mu.Unlock()
	}
}

// ---- the family over the admin API ----

type bkFamily struct {
	sc      *Sidecar
	parent  string
	base    string
	members []*member
}

type adminState struct {
	Version           int64       `json:"version"`
	Status            string      `json:"status"`
	ClosingAt         *string     `json:"closing_at"`
	ParentMeeting     adminRoom   `json:"parent_meeting"`
	Meetings          []adminRoom `json:"meetings"`
	CreatedMeetingIDs []string    `json:"created_meeting_ids"`
}

type adminRoom struct {
	ID           string `json:"id"`
	Participants []struct {
		ID string `json:"id"`
	} `json:"participants"`
	AssignedParticipantIDs []string `json:"assigned_participant_ids"`
}

// roomOf is the room the state places a participant in ("" if none).
func (s adminState) roomOf(id string) string {
	for _, r := range append([]adminRoom{s.ParentMeeting}, s.Meetings...) {
		for _, p := range r.Participants {
			if p.ID == id {
				return r.ID
			}
		}
	}
	return ""
}

// admin calls the connected-meetings admin API and wants status.
func (f *bkFamily) admin(t *testing.T, status int, method, path string, body any) adminState {
	t.Helper()
	var st adminState
	if got := f.sc.Call(t, method, f.base+path, "", body, &st); got != status {
		t.Fatalf("%s connected-meetings%s: status %d, want %d", method, path, got, status)
	}
	return st
}

func (f *bkFamily) state(t *testing.T) adminState {
	t.Helper()
	return f.admin(t, 200, "GET", "", nil)
}

// check waits until the rooms are as where says (an id -> room entry for every connected
// member) in LiveKit and at every client, then checks media over a settle window: every
// participant is heard (and the camera seen) by each room-mate and by nobody else, muted
// microphones are muted in LiveKit, at the observers and locally, and carry none of their
// owner's audio.
func (f *bkFamily) check(t *testing.T, phase string, where map[string]string, rooms []string, obs map[string]*roomObserver) {
	t.Helper()
	start := time.Now()
	var conn []*member
	for _, m := range f.members {
		if where[m.id] != "" {
			conn = append(conn, m)
		}
	}
	allRooms := append([]string{f.parent}, rooms...)

	// 1. LiveKit lists every connected member in exactly its room, and every client is in its
	// room alone. No ghosts: the mover's sweep removes a connection whose leave got lost 1 s
	// after the arrival, while LiveKit itself would keep it for about 20 s (ICE timeout), so the
	// bound stays well under that.
	eventually(t, 10*time.Second, func() string {
		for _, room := range allRooms {
			var want []string
			for _, m := range conn {
				if where[m.id] == room {
					want = append(want, m.id)
				}
			}
			got, err := f.sc.identities(room)
			if err != nil {
				return err.Error()
			}
			if !sameSet(got, want) {
				return fmt.Sprintf("%s: LiveKit room %s lists %v, want %v", phase, short(room), f.names(got), f.names(want))
			}
		}
		for _, m := range conn {
			if r := m.c.Rooms(); len(r) != 1 || r[0] != where[m.id] || m.c.Room() != where[m.id] {
				return fmt.Sprintf("%s: %s is connected to %v (current %s), want %s only", phase, m.name, shorts(r), short(m.c.Room()), short(where[m.id]))
			}
		}
		return ""
	})
	present := time.Since(start)

	// 2. Every live track reaches every room-mate; muted microphones are muted everywhere.
	eventually(t, 30*time.Second, func() string {
		for _, l := range conn {
			room := where[l.id]
			for _, s := range conn {
				if s == l || where[s.id] != room {
					continue
				}
				if !s.muted && l.c.Received(room, s.id, rtkclient.Audio).Packets == 0 {
					return fmt.Sprintf("%s: %s does not hear %s in %s", phase, l.name, s.name, short(room))
				}
				if s.video && l.c.Received(room, s.id, rtkclient.Video).Packets == 0 {
					return fmt.Sprintf("%s: %s does not see %s's camera in %s", phase, l.name, s.name, short(room))
				}
			}
		}
		for _, m := range conn {
			if msg := f.micState(m, where[m.id], obs[where[m.id]]); msg != "" {
				return phase + ": " + msg
			}
		}
		return ""
	})
	heard := time.Since(start)

	// 3. Over a window that starts after LiveKit's second of Opus silence for muted tracks,
	// packet counts grow exactly for live room-mates: former room-mates, other rooms, muted
	// microphones and any leftover connection deliver nothing.
	time.Sleep(1200 * time.Millisecond)
	const window = 1500 * time.Millisecond
	snap := map[*member]map[statsKeyE2E]int{}
	for _, l := range conn {
		snap[l] = statsOf(l.c)
	}
	obsOwn := map[string]map[string]int{}
	for room, o := range obs {
		obsOwn[room] = o.ownSnapshot()
	}
	time.Sleep(window)
	byID := map[string]*member{}
	for _, m := range f.members {
		byID[m.id] = m
	}
	for _, l := range conn {
		room := where[l.id]
		now := statsOf(l.c)
		live, silent := map[statsKeyE2E]bool{}, map[statsKeyE2E]bool{}
		for _, s := range conn {
			if s == l || where[s.id] != room {
				continue
			}
			if !s.muted {
				live[statsKeyE2E{room, s.id, rtkclient.Audio}] = true
			}
			if s.video {
				live[statsKeyE2E{room, s.id, rtkclient.Video}] = true
			}
			if s.muted {
				silent[statsKeyE2E{room, s.id, rtkclient.Audio}] = true
			}
		}
		for k := range live {
			min := 25 // of 75 audio packets in the window
			if k.kind == rtkclient.Video {
				min = 5
			}
			if d := now[k] - snap[l][k]; d < min {
				t.Errorf("%s: %s received %d %s packets from room-mate %s in %s, want >= %d", phase, l.name, d, k.kind, memberName(byID, k.identity), window, min)
			}
		}
		for k, n := range now {
			if live[k] || silent[k] {
				continue
			}
			if d := n - snap[l][k]; d != 0 {
				t.Errorf("%s: %s (in %s) still receives %s from %s in %s: %d packets in %s", phase, l.name, short(room), k.kind, memberName(byID, k.identity), short(k.room), d, window)
			}
		}
	}
	// The observers hear the clients' own Opus frames from exactly the unmuted members in
	// their room, and never a muted one's.
	for room, o := range obs {
		own := o.ownSnapshot()
		for _, m := range f.members {
			d := own[m.id] - obsOwn[room][m.id]
			switch {
			case m.muted && own[m.id] != 0:
				t.Errorf("%s: observer of %s received %d Opus frames of muted %s", phase, short(room), own[m.id], m.name)
			case !m.muted && where[m.id] == room && d < 25:
				t.Errorf("%s: observer of %s received %d Opus frames of %s in %s", phase, short(room), d, m.name, window)
			case where[m.id] != room && d != 0:
				t.Errorf("%s: observer of %s received %d Opus frames of %s, who is in %s", phase, short(room), d, m.name, short(where[m.id]))
			}
		}
	}
	// A muted microphone's track still delivers packets for a while: LiveKit sends a new
	// subscriber of a track that never carried media up to 5 s of Opus silence frames (so that
	// pion's OnTrack fires; DownTrack.sendPaddingOnMute), and 1 s more after a mute. None of
	// them carries the owner's audio (the observers above look at the payloads); they stop.
	eventually(t, 10*time.Second, func() string {
		count := func() map[string]int {
			out := map[string]int{}
			for _, l := range conn {
				for _, s := range conn {
					if s.muted && s != l && where[s.id] == where[l.id] {
						out[l.name+" <- "+s.name] = l.c.Received(where[l.id], s.id, rtkclient.Audio).Packets
					}
				}
			}
			return out
		}
		a := count()
		time.Sleep(600 * time.Millisecond)
		for k, n := range count() {
			if n != a[k] {
				return fmt.Sprintf("%s: packets of a muted microphone still arrive: %s %d -> %d in 600ms", phase, k, a[k], n)
			}
		}
		return ""
	})
	for _, m := range conn {
		if m.mic.Muted() != m.muted || (m.cam != nil && m.cam.Muted()) {
			t.Errorf("%s: %s's microphone muted=%v (want %v), camera %v", phase, m.name, m.mic.Muted(), m.muted, m.cam)
		}
	}
	t.Logf("%s: rooms as expected after %s, every live track received after %s", phase, present.Round(time.Millisecond), heard.Round(time.Millisecond))
}

// micState reports how m's published tracks differ from what they should be in room: a
// microphone muted exactly when m's is (in LiveKit and at the room's observer), and the
// camera published unmuted.
func (f *bkFamily) micState(m *member, room string, o *roomObserver) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p, err := f.sc.Rooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: m.id})
	if err != nil {
		return fmt.Sprintf("GetParticipant %s in %s: %v", m.name, short(room), err)
	}
	var mic, cam *livekit.TrackInfo
	for _, tr := range p.Tracks {
		switch tr.Source {
		case livekit.TrackSource_MICROPHONE:
			mic = tr
		case livekit.TrackSource_CAMERA:
			cam = tr
		}
	}
	switch {
	case mic == nil:
		return fmt.Sprintf("LiveKit lists no microphone of %s in %s", m.name, short(room))
	case mic.Muted != m.muted:
		return fmt.Sprintf("LiveKit lists %s's microphone in %s with muted=%v", m.name, short(room), mic.Muted)
	case m.video && (cam == nil || cam.Muted):
		return fmt.Sprintf("LiveKit lists %s's camera in %s as %v", m.name, short(room), cam)
	case !m.video && cam != nil:
		return fmt.Sprintf("LiveKit lists a camera of %s", m.name)
	}
	if o != nil {
		if pub := o.track(m.id, livekit.TrackSource_MICROPHONE); pub == nil || pub.IsMuted() != m.muted {
			return fmt.Sprintf("the observer of %s sees %s's microphone as %v", short(room), m.name, pubState(pub))
		}
	}
	return ""
}

func pubState(p *lksdk.RemoteTrackPublication) string {
	if p == nil {
		return "absent"
	}
	return fmt.Sprintf("muted=%v", p.IsMuted())
}

func (f *bkFamily) names(ids []string) []string {
	byID := map[string]*member{}
	for _, m := range f.members {
		byID[m.id] = m
	}
	var out []string
	for _, id := range ids {
		out = append(out, memberName(byID, id))
	}
	return out
}

func memberName(byID map[string]*member, id string) string {
	if m := byID[id]; m != nil {
		return m.name
	}
	return id
}

// identities lists the LiveKit identities in room, without observers; a room that does not
// exist is empty.
func (s *Sidecar) identities(room string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := s.Rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	if err != nil {
		if strings.Contains(err.Error(), "not_found") || strings.Contains(err.Error(), "not exist") {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, p := range res.Participants {
		// A prepared connection (docs/protocol.md §5) is nobody in the room yet.
		if !strings.HasPrefix(p.Identity, observerPrefix) && !bridge.Prepared(p) {
			out = append(out, p.Identity)
		}
	}
	return out, nil
}

// dropLeftovers waits up to a second for LiveKit's rooms to empty once the clients have
// closed, then deletes the rooms that still list someone: lksdk sometimes loses a leave
// (docs/livekit-notes.md §3), and livekit-server then waits for the ghost before it stops.
func (s *Sidecar) dropLeftovers(t *testing.T) {
	deadline := time.Now().Add(time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := s.Rooms.ListRooms(ctx, &livekit.ListRoomsRequest{})
		cancel()
		if err != nil {
			return
		}
		var occupied []string
		for _, r := range res.Rooms {
			if ids, err := s.identities(r.Name); err == nil && len(ids) > 0 {
				occupied = append(occupied, r.Name)
			}
		}
		if len(occupied) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Logf("deleting rooms %v, which still list participants after the clients closed (lost leave?)", shorts(occupied))
			for _, r := range occupied {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, _ = s.Rooms.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: r})
				cancel()
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	if id == "" {
		return "(none)"
	}
	return id
}

func shorts(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = short(id)
	}
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

type statsKeyE2E struct {
	room, identity string
	kind           rtkclient.Kind
}

func mediaSample(frame []byte, d time.Duration) media.Sample {
	return media.Sample{Data: frame, Duration: d}
}

func statsOf(c *rtkclient.Client) map[statsKeyE2E]int {
	out := map[statsKeyE2E]int{}
	for _, s := range c.Stats() {
		out[statsKeyE2E{s.Room, s.Identity, s.Kind}] = s.Packets
	}
	return out
}

// ---- members: rtkclient participants of the meeting ----

type member struct {
	name, id, token string
	muted, video    bool
	sc              *Sidecar
	c               *rtkclient.Client
	mic, cam        *rtkclient.Track

	mu        sync.Mutex
	closings  []rtkclient.Closing
	closingAt []time.Time // when each closing event arrived
	moves     []rtkclient.MoveReport
	failed    []rtkclient.MoveFailed
	arrivals  map[string][]string // participant id -> meetings of its meetingChanged events, in order
	// disconnects are the server's ends of the client's current room: a move must never
	// cut the room a client is still in (closing rooms after a close-all did).
	disconnects []rtkclient.Disconnected
	broadcasts  map[string]int // broadcast message id -> times received
	chats       map[string]int // chat message id -> times received
	helps       map[string]int // help request id -> times received
}

// addReturnerPreset adds the preset "breakout_returner": group_call_participant, and it may go
// back to the main meeting by itself.
func addReturnerPreset(t *testing.T, sc *Sidecar) {
	t.Helper()
	doc := presets.Defaults()[1]
	if doc.Name != presets.GroupCallParticipant {
		t.Fatalf("presets.Defaults()[1] is %s", doc.Name)
	}
	doc.Name = "breakout_returner"
	doc.Permissions.ConnectedMeetings.CanSwitchToParentMeeting = true
	sc.Must(t, "POST", sc.AppPath+"/presets", doc, nil)
}

// newMember adds a participant over REST and prepares its client and tracks; join connects it.
func newMember(t *testing.T, sc *Sidecar, meeting, name, preset string, muted, video bool) *member {
	t.Helper()
	m := &member{name: name, muted: muted, video: video, sc: sc, arrivals: map[string][]string{}, broadcasts: map[string]int{}, chats: map[string]int{}, helps: map[string]int{}}
	m.id, m.token = sc.AddParticipant(t, meeting, name, preset)
	log := clientLog(t, name)
	m.c = rtkclient.New(sc.BaseURL, m.token, rtkclient.WithLogger(log), rtkclient.WithHandlers(rtkclient.Handlers{
		Closing: func(c rtkclient.Closing) {
			now := time.Now()
			m.mu.Lock()
			defer m.mu.Unlock()
			m.closings = append(m.closings, c)
			m.closingAt = append(m.closingAt, now)
		},
		MoveDone: func(r rtkclient.MoveReport) {
			if r.Err != nil {
				log.Warn("move failed", "move", r.MoveID, "to", r.To, "err", r.Err)
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			m.moves = append(m.moves, r)
		},
		MoveFailed: func(f rtkclient.MoveFailed) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.failed = append(m.failed, f)
		},
		MeetingChanged: func(c rtkclient.MeetingChanged) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.arrivals[c.ParticipantID] = append(m.arrivals[c.ParticipantID], c.Meeting.ID)
		},
		BroadcastedMessage: func(b rtkclient.BroadcastedMessage) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.broadcasts[b.ID]++
		},
		ChatMessage: func(c rtkclient.ChatMessage) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.chats[c.ID]++
		},
		HelpRequested: func(h rtkclient.HelpRequested) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.helps[h.ID]++
		},
		Disconnected: func(d rtkclient.Disconnected) {
			log.Warn("disconnected by the server", "room", d.Room, "reason", d.Reason)
			m.mu.Lock()
			defer m.mu.Unlock()
			m.disconnects = append(m.disconnects, d)
		},
	}))
	t.Cleanup(m.c.Close)
	opts := rtkclient.Microphone()
	opts.Muted = muted
	var err error
	if m.mic, err = m.c.Publish(opts); err != nil {
		t.Fatalf("%s: publish microphone: %v", name, err)
	}
	feed(t, m.mic, opusFrame, audioFrameInterval, nil)
	if video {
		if m.cam, err = m.c.Publish(rtkclient.Camera(videoWidth, videoHeight)); err != nil {
			t.Fatalf("%s: publish camera: %v", name, err)
		}
		feed(t, m.cam, vp8KeyFrame, videoFrameInterval, nil)
	}
	return m
}

// join joins through /client/v1/join and connects, publishing the member's tracks.
func (m *member) join(t *testing.T) rtkclient.JoinInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	j, err := m.c.Join(ctx)
	if err != nil {
		t.Fatalf("%s: join: %v", m.name, err)
	}
	return j
}

func (m *member) reports() []rtkclient.MoveReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.moves)
}

func (m *member) failures() []rtkclient.MoveFailed {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.failed)
}

// closing returns the latest closing event and when it arrived.
func (m *member) closing() (rtkclient.Closing, time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.closings) == 0 {
		return rtkclient.Closing{}, time.Time{}, false
	}
	n := len(m.closings) - 1
	return m.closings[n], m.closingAt[n], true
}

// feed writes frame to tr every interval until the test ends; when gate is not nil, only
// while gate() is true.
func feed(t testing.TB, tr *rtkclient.Track, frame []byte, interval time.Duration, gate func() bool) {
	every(t, interval, func() {
		if gate == nil || gate() {
			_ = tr.WriteSample(mediaSample(frame, interval))
		}
	})
}

// every calls f every interval, from one goroutine, until the test ends.
func every(t testing.TB, interval time.Duration, f func()) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				f()
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// ---- observers: hidden subscribers that look at the payloads ----

// observerPrefix starts the identity of observers, which are not participants of the meeting.
const observerPrefix = "obs-"

// roomObserver is a hidden, subscribe-only lksdk participant of one room. It counts, per
// identity, the audio packets that carry the clients' own Opus frames (opusFrame's TOC byte;
// LiveKit's silence frames have another) and shows the remote publications' muted flags.
type roomObserver struct {
	room *lksdk.Room

	mu    sync.Mutex
	own   map[string]int
	ended bool
	wg    sync.WaitGroup
}

func observe(t *testing.T, sc *Sidecar, room string) *roomObserver {
	t.Helper()
	o := &roomObserver{own: map[string]int{}}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.ended {
			return
		}
		audio := track.Kind() == webrtc.RTPCodecTypeAudio
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			for {
				p, _, err := track.ReadRTP()
				if err != nil {
					return
				}
				if audio && len(p.Payload) > 0 && p.Payload[0] == opusFrame[0] {
					o.mu.Lock()
					o.own[rp.Identity()]++
					o.mu.Unlock()
				}
			}
		}()
	}
	grant := &auth.VideoGrant{RoomJoin: true, Room: room, Hidden: true}
	grant.SetCanPublish(false)
	grant.SetCanPublishData(false)
	tok, err := auth.NewAccessToken(sc.APIKey, sc.APISecret).SetIdentity(observerPrefix + short(room)).
		SetVideoGrant(grant).SetValidFor(time.Hour).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	o.room = lksdk.NewRoom(cb)
	if err := o.room.JoinWithToken(sc.LiveKit, tok, lksdk.WithAutoSubscribe(true)); err != nil {
		t.Fatalf("observer of %s: %v", short(room), err)
	}
	t.Cleanup(o.close)
	return o
}

func observeAll(t *testing.T, sc *Sidecar, rooms []string) map[string]*roomObserver {
	t.Helper()
	out := map[string]*roomObserver{}
	for _, r := range rooms {
		out[r] = observe(t, sc, r)
	}
	return out
}

func closeObservers(obs map[string]*roomObserver, rooms []string) {
	for _, r := range rooms {
		if o := obs[r]; o != nil {
			o.close()
		}
	}
}

func (o *roomObserver) close() {
	o.mu.Lock()
	if o.ended {
		o.mu.Unlock()
		return
	}
	o.ended = true
	o.mu.Unlock()
	o.room.Disconnect()
	o.wg.Wait()
}

func (o *roomObserver) ownSnapshot() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.own))
	for k, v := range o.own {
		out[k] = v
	}
	return out
}

func (o *roomObserver) track(identity string, source livekit.TrackSource) *lksdk.RemoteTrackPublication {
	rp := o.room.GetParticipantByIdentity(identity)
	if rp == nil {
		return nil
	}
	pub, _ := rp.GetTrackPublication(source).(*lksdk.RemoteTrackPublication)
	return pub
}

// checkChatExport fetches the chat export of the message's session, through the REST API and its
// signed link, and checks that it holds the message.
func checkChatExport(t *testing.T, sc *Sidecar, cm rtkclient.ChatMessage) {
	t.Helper()
	var x struct {
		URL    string `json:"chat_download_url"`
		Expiry string `json:"chat_download_url_expiry"`
	}
	sc.Must(t, "GET", sc.AppPath+"/sessions/"+cm.SessionID+"/chat", nil, &x)
	res, err := http.Get(x.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rows, err := csv.NewReader(res.Body).ReadAll()
	if res.StatusCode != 200 || err != nil || len(rows) != 2 || rows[1][0] != cm.ID || rows[1][4] != cm.Message {
		t.Errorf("chat export %s: %d %q (%v)", x.URL, res.StatusCode, rows, err)
	}
}
