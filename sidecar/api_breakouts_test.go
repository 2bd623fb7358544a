package sidecar_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"rtk-sidecar/bridge"
	"rtk-sidecar/presets"
	"rtk-sidecar/protocol"
)

// family is a meeting with a host and participants, for connected-meetings tests.
type family struct {
	e       *env
	meeting string
	base    string // admin base path
	host    string
	hostTok string
	people  []string
	tokens  map[string]string
}

func newFamily(t *testing.T, e *env, n int) *family {
	t.Helper()
	f := &family{e: e, meeting: e.createMeeting("All hands"), tokens: map[string]string{}}
	f.base = basePathF + "/meetings/" + f.meeting + "/connected-meetings"
	f.host, f.hostTok = e.addParticipant(f.meeting, "host", presets.GroupCallHost)
	f.tokens[f.host] = f.hostTok
	for i := range n {
		id, tok := e.addParticipant(f.meeting, fmt.Sprintf("p%d", i), presets.GroupCallParticipant)
		f.people = append(f.people, id)
		f.tokens[id] = tok
	}
	if r := e.joinAs(f.hostTok); r.Status != 200 { // opens the parent's LiveKit room
		t.Fatalf("host join: %s", r.Raw)
	}
	return f
}

// state fetches the admin state.
func (f *family) state() map[string]any {
	f.e.t.Helper()
	return f.e.must(200, "GET", f.base, nil).data()
}

func version(st map[string]any) int64 { return int64(st["version"].(float64)) }

func rooms(st map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range st["meetings"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

func ids(list []any) []string {
	var out []string
	for _, v := range list {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			out = append(out, x["id"].(string))
		}
	}
	slices.Sort(out)
	return out
}

// placed returns room id -> sorted participant ids, the parent included.
func placed(st map[string]any) map[string][]string {
	out := map[string][]string{}
	pm := st["parent_meeting"].(map[string]any)
	out[pm["id"].(string)] = ids(pm["participants"].([]any))
	for _, r := range rooms(st) {
		out[r["id"].(string)] = ids(r["participants"].([]any))
	}
	return out
}

// client calls the participant API as a participant.
func (f *family) client(participant, method, path string, body any) response {
	f.e.t.Helper()
	return f.e.do(method, "/client/v1/connected-meetings"+path, "Bearer "+f.tokens[participant], body)
}

// packets returns the connected-meetings events sent to a room, decoded.
func packets(e *env, room string) []map[string]any {
	var out []map[string]any
	for _, p := range e.rooms.Packets() {
		if p.Room != room || p.Topic != protocol.EventsTopic {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(p.Data, &m); err != nil {
			panic(err)
		}
		out = append(out, m)
	}
	return out
}

// waitFor polls cond for up to 10 s; on a timeout it runs explain (if
// given) to log what was seen, then fails.
func waitFor(t *testing.T, what string, cond func() bool, explain ...func()) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			for _, f := range explain {
				f()
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBreakoutsLifecycle(t *testing.T) {
	e := newEnv(t)
	f := newFamily(t, e, 9)
	for _, p := range f.people[:8] { // the last participant is offline
		e.mover.Connect(p, f.meeting)
	}
	e.mover.Connect(f.host, f.meeting)

	st := f.state()
	if version(st) != 0 || st["status"] != "idle" || len(rooms(st)) != 0 || len(placed(st)[f.meeting]) != 10 {
		t.Fatalf("fresh state = %v", st)
	}

	// Create three rooms by count.
	st = e.must(201, "POST", f.base, map[string]any{"version": 0, "count": 3}).data()
	if version(st) != 1 || len(rooms(st)) != 3 || len(st["created_meeting_ids"].([]any)) != 3 {
		t.Fatalf("after create: %v", st)
	}
	for i, r := range rooms(st) {
		if r["title"] != fmt.Sprintf("Room %d", i+1) {
			t.Fatalf("room %d title %v", i, r["title"])
		}
	}
	room := []string{rooms(st)[0]["id"].(string), rooms(st)[1]["id"].(string), rooms(st)[2]["id"].(string)}
	// Each room is a meeting of its own, listed with its parent.
	child := e.must(200, "GET", basePathF+"/meetings/"+room[0], nil).data()
	if child["parent_meeting_id"] != f.meeting || child["title"] != "Room 1" {
		t.Fatalf("child meeting = %v", child)
	}

	// A stale version changes nothing.
	wantError(t, e.do("POST", f.base, "", map[string]any{"version": 0, "count": 1}), 409, "stale")
	wantError(t, e.do("POST", f.base, "", map[string]any{"count": 1}), 400, `"version" is required`)
	if len(rooms(f.state())) != 3 {
		t.Fatal("a refused change created rooms")
	}

	st = e.must(200, "PATCH", f.base, map[string]any{"version": 1, "meetings": []any{map[string]any{"id": room[1], "title": "Design"}}}).data()
	if rooms(st)[1]["title"] != "Design" || version(st) != 2 {
		t.Fatalf("after rename: %v", st)
	}

	// Shuffle evenly: 9 participants over 3 rooms, the host stays out.
	st = e.must(200, "POST", f.base+"/assign", map[string]any{"version": 2, "mode": "auto"}).data()
	assigned := map[string]string{}
	for _, r := range rooms(st) {
		got := ids(r["assigned_participant_ids"].([]any))
		if len(got) != 3 {
			t.Fatalf("room %v has %d assigned, want 3", r["title"], len(got))
		}
		for _, p := range got {
			if p == f.host {
				t.Fatal("the host was shuffled into a room")
			}
			assigned[p] = r["id"].(string)
		}
	}
	if len(assigned) != 9 {
		t.Fatalf("%d participants assigned, want 9", len(assigned))
	}
	if len(placed(st)[f.meeting]) != 10 {
		t.Fatal("assigning moved people before the start")
	}

	// Start: everyone goes to the assigned room.
	st = e.must(200, "POST", f.base+"/start", map[string]any{"version": 3}).data()
	if st["status"] != "running" || version(st) != 4 {
		t.Fatalf("after start: %v", st)
	}
	pl := placed(st)
	if !slices.Equal(pl[f.meeting], []string{f.host}) {
		t.Fatalf("parent after start: %v", pl[f.meeting])
	}
	for p, r := range assigned {
		if !slices.Contains(pl[r], p) {
			t.Fatalf("%s not placed in %s: %v", p, r, pl)
		}
	}
	waitFor(t, "the connected participants to move", func() bool {
		for _, p := range f.people[:8] {
			if e.mover.Where(p) != assigned[p] {
				return false
			}
		}
		return true
	})
	// The LiveKit rooms exist, with the family in their metadata.
	for _, r := range room {
		lk := e.rooms.Room(r)
		if lk == nil || !strings.Contains(lk.Metadata, `"parent_meeting_id":"`+f.meeting+`"`) {
			t.Fatalf("LiveKit room %s = %v", r, lk)
		}
	}
	// The offline participant lands in its room when it joins.
	offline := f.people[8]
	j := e.joinAs(f.tokens[offline])
	if j.Status != 200 || j.data()["room"] != assigned[offline] || j.data()["meeting_id"] != assigned[offline] {
		t.Fatalf("offline participant joined %s", j.Raw)
	}
	if g := decodeLiveKit(t, j.data()["token"].(string)); g.Video.Room != assigned[offline] {
		t.Fatalf("LiveKit grant is for room %s", g.Video.Room)
	}

	// The parent, where everyone was, heard the new state and the moves
	// begin; every room heard the arrivals. (A room that did not exist yet
	// when the state went out had nobody in it to tell.)
	heard := func(room, typ string) bool {
		for _, p := range packets(e, room) {
			if p["type"] == typ && (typ != "stateUpdate" || p["data"].(map[string]any)["version"] == 4.0) {
				return true
			}
		}
		return false
	}
	waitFor(t, "events", func() bool {
		ok := heard(f.meeting, "stateUpdate") && heard(f.meeting, "changingMeeting")
		for _, r := range append([]string{f.meeting}, room...) {
			ok = ok && heard(r, "meetingChanged")
		}
		return ok
	}, func() {
		for _, r := range append([]string{f.meeting}, room...) {
			var types []string
			for _, p := range packets(e, r) {
				types = append(types, fmt.Sprint(p["type"], p["data"].(map[string]any)["version"]))
			}
			t.Logf("room %s heard %v", r, types)
		}
	})
	waitFor(t, "all arrivals", func() bool {
		n := 0
		for _, p := range packets(e, f.meeting) {
			if p["type"] == "meetingChanged" {
				n += len(p["data"].(map[string]any)["arrivals"].([]any))
			}
		}
		return n == 8
	})
	var begun, arrived int
	for _, p := range packets(e, f.meeting) {
		d, _ := p["data"].(map[string]any)
		if p["v"] != 1.0 {
			t.Fatalf("event without version: %v", p)
		}
		switch p["type"] {
		case "changingMeeting":
			begun += len(d["moves"].([]any))
		case "meetingChanged":
			arrived += len(d["arrivals"].([]any))
		}
	}
	if begun != 9 || arrived != 8 {
		t.Fatalf("parent heard %d moves begun and %d arrivals, want 9 and 8", begun, arrived)
	}

	// Close with a countdown: status closing, then everyone is back.
	st = e.must(200, "POST", f.base+"/close", map[string]any{"version": 4, "grace_seconds": 1}).data()
	if st["status"] != "closing" || st["closing_at"] == nil {
		t.Fatalf("after close: %v", st)
	}
	waitFor(t, "the countdown event", func() bool {
		for _, p := range packets(e, room[0]) {
			if p["type"] == "closing" && p["data"].(map[string]any)["seconds"].(float64) >= 1 {
				return true
			}
		}
		return false
	})
	waitFor(t, "the rooms to close", func() bool { return f.state()["status"] == "idle" })
	st = f.state()
	if got := placed(st)[f.meeting]; len(got) != 10 {
		t.Fatalf("after the countdown the parent holds %v", got)
	}
	waitFor(t, "everyone connected to be back in the parent", func() bool {
		for _, p := range f.people[:8] {
			if e.mover.Where(p) != f.meeting {
				return false
			}
		}
		return true
	})
	waitFor(t, "the LiveKit rooms to be closed", func() bool {
		for _, r := range room {
			if e.rooms.Room(r) != nil {
				return false
			}
		}
		return true
	})
	// Rooms and assignments stay for another round.
	if len(rooms(st)) != 3 || len(rooms(st)[0]["assigned_participant_ids"].([]any)) != 3 {
		t.Fatalf("rooms after close: %v", rooms(st))
	}

	// Delete a room: it becomes an INACTIVE meeting and leaves the family.
	v := version(st)
	st = e.must(200, "POST", f.base+"/delete", map[string]any{"version": v, "meeting_ids": []string{room[2]}}).data()
	if len(rooms(st)) != 2 {
		t.Fatalf("after delete: %v", rooms(st))
	}
	if m := e.must(200, "GET", basePathF+"/meetings/"+room[2], nil).data(); m["status"] != "INACTIVE" {
		t.Fatalf("deleted room's meeting = %v", m)
	}
}

func TestBreakoutsDeleteRoomSendsOccupantsBack(t *testing.T) {
	e := newEnv(t)
	f := newFamily(t, e, 2)
	for _, p := range f.people {
		e.mover.Connect(p, f.meeting)
	}
	st := e.must(201, "POST", f.base, map[string]any{"version": 0, "meetings": []any{map[string]any{"title": "A"}}}).data()
	room := rooms(st)[0]["id"].(string)
	st = e.must(200, "POST", f.base+"/move", map[string]any{"version": 1, "source_meeting_id": f.meeting,
		"destination_meeting_id": room, "participant_ids": f.people}).data()
	waitFor(t, "the move", func() bool { return e.mover.Where(f.people[1]) == room })
	st = e.must(200, "POST", f.base+"/delete", map[string]any{"version": version(st), "meeting_ids": []string{room}}).data()
	if got := placed(st)[f.meeting]; len(got) != 3 || st["status"] != "idle" {
		t.Fatalf("after deleting the occupied room: %v", st)
	}
	waitFor(t, "occupants back in the parent", func() bool {
		return e.mover.Where(f.people[0]) == f.meeting && e.mover.Where(f.people[1]) == f.meeting
	})
	waitFor(t, "the LiveKit room to close", func() bool { return e.rooms.Room(room) == nil })
}

func TestBreakoutsPermissions(t *testing.T) {
	e := newEnv(t)
	f := newFamily(t, e, 2)
	// A preset that may switch between breakout rooms but not go back.
	doc := presetDoc(t, "switcher")
	cm := doc["permissions"].(map[string]any)["connected_meetings"].(map[string]any)
	cm["can_switch_connected_meetings"], cm["can_switch_to_parent_meeting"] = true, false
	e.must(200, "POST", basePathF+"/presets", doc)
	switcher, tok := e.addParticipant(f.meeting, "sw", "switcher")
	f.tokens[switcher] = tok
	plain := f.people[0]
	for _, p := range []string{f.host, plain, switcher} {
		e.mover.Connect(p, f.meeting)
	}

	// Only a host may create rooms.
	wantError(t, f.client(plain, "POST", "", map[string]any{"version": 0, "meetings": []any{map[string]any{"title": "x"}}}), 403, "can_alter_connected_meetings")
	r := f.client(f.host, "POST", "", map[string]any{"version": 0, "meetings": []any{map[string]any{"title": "Red"}, map[string]any{"title": "Blue"}}})
	if r.Status != 201 {
		t.Fatalf("host create: %s", r.Raw)
	}
	created := r.data()["meetings"].([]any)
	red, blue := created[0].(map[string]any)["id"].(string), created[1].(map[string]any)["id"].(string)
	if created[0].(map[string]any)["title"] != "Red" {
		t.Fatalf("created = %v", created)
	}
	// The participant API speaks camelCase.
	cs := f.client(plain, "GET", "", nil)
	if cs.Status != 200 || cs.data()["parentMeeting"] == nil || cs.data()["version"] != 1.0 {
		t.Fatalf("client state: %s", cs.Raw)
	}

	self := func(who, from, to string) response {
		return f.client(who, "POST", "/move", map[string]any{"sourceMeetingId": from, "destinationMeetingId": to, "participantIds": []string{who}})
	}
	// A plain participant may not switch itself anywhere.
	wantError(t, self(plain, f.meeting, red), 403, "can_switch_connected_meetings")
	// The switcher may move itself into rooms and between them, without a version...
	if r := self(switcher, f.meeting, red); r.Status != 200 {
		t.Fatalf("switcher into red: %s", r.Raw)
	}
	if r := self(switcher, red, blue); r.Status != 200 {
		t.Fatalf("switcher red->blue: %s", r.Raw)
	}
	// ...but not back to the parent, and not others.
	wantError(t, self(switcher, blue, f.meeting), 403, "can_switch_to_parent_meeting")
	wantError(t, f.client(switcher, "POST", "/move", map[string]any{"version": 3, "sourceMeetingId": f.meeting,
		"destinationMeetingId": blue, "participantIds": []string{plain}}), 403, "can_alter_connected_meetings")
	waitFor(t, "the switcher's moves", func() bool { return e.mover.Where(switcher) == blue })

	// The host moves the plain participant with a custom preset: the move
	// carries that preset's grants, and a join lands with them.
	st := f.client(f.host, "GET", "", nil).data()
	r = f.client(f.host, "POST", "/move", map[string]any{"version": st["version"], "sourceMeetingId": f.meeting,
		"destinationMeetingId": red, "participants": []any{map[string]any{"id": plain, "presetId": presetID(t, e, presets.WebinarViewer)}}})
	if r.Status != 200 {
		t.Fatalf("move with preset: %s", r.Raw)
	}
	waitFor(t, "the move with a preset", func() bool { return e.mover.Where(plain) == red })
	last := lastMove(e, plain)
	if last.Grant == nil || last.Grant.Room != red || last.Grant.GetCanPublish() || last.PresetID != presetID(t, e, presets.WebinarViewer) {
		t.Fatalf("move with a preset: %+v grant %+v", last, last.Grant)
	}
	if j := e.joinAs(f.tokens[plain]).data(); j["room"] != red || j["permissions"].(map[string]any)["media"].(map[string]any)["audio"].(map[string]any)["can_produce"] == "ALLOWED" {
		t.Fatalf("join after a move with a preset: %v", j)
	}
	// Moving it on without a preset restores its own grants.
	st = f.client(f.host, "GET", "", nil).data()
	if r := f.client(f.host, "POST", "/move", map[string]any{"version": st["version"], "sourceMeetingId": red,
		"destinationMeetingId": f.meeting, "participantIds": []string{plain}}); r.Status != 200 {
		t.Fatalf("move back: %s", r.Raw)
	}
	waitFor(t, "the move back", func() bool { return e.mover.Where(plain) == f.meeting })
	if last := lastMove(e, plain); last.Grant == nil || !last.Grant.GetCanPublish() {
		t.Fatalf("moving back did not restore the participant's own grants: %+v", last.Grant)
	}
	// The switcher's own moves carried its live permissions (no grant).
	for _, m := range e.mover.Moves() {
		if m.Identity == switcher && m.Grant != nil {
			t.Fatalf("a plain move replaced live permissions: %+v", m)
		}
	}
}

func presetID(t *testing.T, e *env, name string) string {
	t.Helper()
	for _, p := range e.must(200, "GET", basePathF+"/presets?per_page=100", nil).list() {
		if p.(map[string]any)["name"] == name {
			return p.(map[string]any)["id"].(string)
		}
	}
	t.Fatalf("no preset %s", name)
	return ""
}

func lastMove(e *env, participant string) bridge.MoveOrder {
	var last bridge.MoveOrder
	for _, m := range e.mover.Moves() {
		if m.Identity == participant {
			last = m
		}
	}
	return last
}

func TestBreakoutsConcurrentHostsNeverLoseAnEdit(t *testing.T) {
	e := newEnv(t)
	f := newFamily(t, e, 1)
	st := e.must(201, "POST", f.base, map[string]any{"version": 0, "count": 1}).data()
	room := rooms(st)[0]["id"].(string)
	const hosts = 6
	var wg sync.WaitGroup
	statuses := make([]int, hosts)
	for i := range hosts {
		wg.Go(func() {
			r := e.do("PATCH", f.base, "", map[string]any{"version": 1, "meetings": []any{map[string]any{"id": room, "title": fmt.Sprintf("by host %d", i)}}})
			statuses[i] = r.Status
		})
	}
	wg.Wait()
	var won, lost int
	winner := -1
	for i, s := range statuses {
		switch s {
		case 200:
			won++
			winner = i
		case 409:
			lost++
		default:
			t.Fatalf("status %d", s)
		}
	}
	if won != 1 || lost != hosts-1 {
		t.Fatalf("%d won, %d refused; want exactly one winner", won, lost)
	}
	st = f.state()
	if version(st) != 2 || rooms(st)[0]["title"] != fmt.Sprintf("by host %d", winner) {
		t.Fatalf("state after the race: %v", st)
	}
}

func TestBreakoutsValidation(t *testing.T) {
	e := newEnv(t)
	f := newFamily(t, e, 2)
	st := e.must(201, "POST", f.base, map[string]any{"version": 0, "count": 2}).data()
	room := rooms(st)[0]["id"].(string)
	other := e.createMeeting("elsewhere")
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		want       string
	}{
		{"count and meetings", "", map[string]any{"version": 1, "count": 1, "meetings": []any{map[string]any{"title": "x"}}}, 400, "not both"},
		{"count range", "", map[string]any{"version": 1, "count": 500}, 400, `"count"`},
		{"too many rooms", "", map[string]any{"version": 1, "count": 99}, 400, "at most 100"},
		{"rename unknown room", "", nil, 0, ""},
		{"assign mode", "/assign", map[string]any{"version": 1, "mode": "random"}, 400, `"mode"`},
		{"manual without rooms", "/assign", map[string]any{"version": 1, "mode": "manual"}, 400, `"rooms"`},
		{"manual unknown room", "/assign", map[string]any{"version": 1, "mode": "manual", "rooms": map[string]any{other: []string{f.people[0]}}}, 400, "is not a breakout room"},
		{"manual stranger", "/assign", map[string]any{"version": 1, "mode": "manual", "rooms": map[string]any{room: []string{"nobody"}}}, 400, "not a participant"},
		{"move from the wrong room", "/move", map[string]any{"version": 1, "source_meeting_id": room, "destination_meeting_id": f.meeting, "participant_ids": f.people[:1]}, 400, "not in the source meeting"},
		{"move outside the family", "/move", map[string]any{"version": 1, "source_meeting_id": f.meeting, "destination_meeting_id": other, "participant_ids": f.people[:1]}, 400, `"destination_meeting_id"`},
		{"move nobody", "/move", map[string]any{"version": 1, "source_meeting_id": f.meeting, "destination_meeting_id": room}, 400, "at least one"},
		{"move unknown preset", "/move", map[string]any{"version": 1, "source_meeting_id": f.meeting, "destination_meeting_id": room, "participants": []any{map[string]any{"id": f.people[0], "preset_id": "nope"}}}, 400, "preset_id"},
		{"grace too long", "/close", map[string]any{"version": 1, "grace_seconds": 3600}, 400, `"grace_seconds"`},
		{"version type", "/start", map[string]any{"version": "1"}, 400, `"version" must be an integer`},
		{"timer too long", "/start", map[string]any{"version": 1, "duration_seconds": 90000}, 400, `"duration_seconds"`},
		{"negative timer", "/start", map[string]any{"version": 1, "duration_seconds": -1}, 400, `"duration_seconds"`},
		{"warning too long", "/start", map[string]any{"version": 1, "duration_seconds": 3600, "warning_seconds": 3600}, 400, `"warning_seconds"`},
		{"warning without a timer", "/start", map[string]any{"version": 1, "warning_seconds": 30}, 400, `"warning_seconds" goes with "duration_seconds"`},
	} {
		if tc.status == 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			wantError(t, e.do(method, f.base+tc.path, "", tc.body), tc.status, tc.want)
		})
	}
	wantError(t, e.do("PATCH", f.base, "", map[string]any{"version": 1, "meetings": []any{map[string]any{"id": other, "title": "x"}}}), 400, "is not a breakout room")
	// Nothing above changed the family.
	if v := version(f.state()); v != 1 {
		t.Fatalf("version %d after refused changes", v)
	}
	// Breakout rooms have no breakout rooms; unknown meetings are 404.
	wantError(t, e.do("POST", basePathF+"/meetings/"+room+"/connected-meetings", "", map[string]any{"version": 0, "count": 1}), 400, "breakout room")
	wantError(t, e.do("GET", basePathF+"/meetings/nope/connected-meetings", "", nil), 404)
	// Starting without rooms is refused.
	g := newFamily(t, e, 1)
	wantError(t, e.do("POST", g.base+"/start", "", map[string]any{"version": 0}), 412, "create rooms first")
	// A participant of another meeting sees nothing of this one.
	wantError(t, g.client(g.people[0], "POST", "/move", map[string]any{"sourceMeetingId": f.meeting, "destinationMeetingId": room, "participantIds": []string{g.people[0]}}), 400, "source")
}

// Broadcast messages: the admin API (snake_case, every room by default) and
// the participant API (camelCase, its own room by default), in the envelope,
// with their errors.
func TestBreakoutsBroadcast(t *testing.T) {
	e := newEnv(t)
	f := newFamily(t, e, 2)
	st := e.must(201, "POST", f.base, map[string]any{"version": 0, "count": 2}).data()
	room := rooms(st)[0]["id"].(string)

	r := e.must(200, "POST", f.base+"/broadcast", map[string]any{"type": "timer", "payload": map[string]any{"left": 300}})
	d := r.data()
	if d["id"] == "" || d["type"] != "timer" || d["payload"].(map[string]any)["left"] != float64(300) ||
		len(d["meeting_ids"].([]any)) != 3 || d["sent_at"] == "" {
		t.Fatalf("admin broadcast answered %s", r.Raw)
	}
	waitFor(t, "the message in the parent's room", func() bool {
		for _, p := range packets(e, f.meeting) {
			if p["type"] == "broadcastedMessage" && p["data"].(map[string]any)["id"] == d["id"] {
				return true
			}
		}
		return false
	})

	r = f.client(f.people[0], "POST", "/broadcast", map[string]any{"type": "hello", "payload": map[string]any{"text": "hi"}, "meetingIds": []string{room}})
	if r.Status != 200 || r.data()["senderParticipantId"] != f.people[0] || r.data()["meetingIds"].([]any)[0] != room {
		t.Fatalf("participant broadcast: %d %s", r.Status, r.Raw)
	}

	wantError(t, e.do("POST", f.base+"/broadcast", "", map[string]any{"payload": map[string]any{}}), 400, `"type" is required`)
	wantError(t, e.do("POST", f.base+"/broadcast", "", map[string]any{"type": "x", "payload": "text"}), 400, `"payload" must be a JSON object`)
	wantError(t, e.do("POST", f.base+"/broadcast", "", map[string]any{"type": "x", "payload": map[string]any{}, "meeting_ids": []string{"nope"}}), 400, "not a room of this meeting family")
	wantError(t, e.do("POST", "/client/v1/connected-meetings/broadcast", "Bearer nope", map[string]any{"type": "x", "payload": map[string]any{}}), 401)
	// Five a second: a burst soon meets a 429 (the bucket refills at one per 200 ms).
	sent := 1
	for {
		r := f.client(f.people[0], "POST", "/broadcast", map[string]any{"type": "x", "payload": map[string]any{}})
		if r.Status == 429 {
			wantError(t, r, 429, "at most 5 a second")
			break
		}
		if r.Status != 200 || sent > 20 {
			t.Fatalf("after %d messages: %d %s", sent, r.Status, r.Raw)
		}
		sent++
	}
	if sent < 5 {
		t.Errorf("refused after %d messages, want at least 5", sent)
	}
}

// TestBreakoutsTimer: a start with duration_seconds shows when the rooms end (ends_at, and endsAt
// for participants); a start without it keeps the timer, and 0 removes it.
func TestBreakoutsTimer(t *testing.T) {
	e := newEnv(t)
	f := newFamily(t, e, 2)
	e.must(201, "POST", f.base, map[string]any{"version": 0, "count": 1})
	e.must(200, "POST", f.base+"/assign", map[string]any{"version": 1, "mode": "auto"})
	before := time.Now()
	st := e.must(200, "POST", f.base+"/start", map[string]any{"version": 2, "duration_seconds": 600, "warning_seconds": 30}).data()
	ends, err := time.Parse(time.RFC3339, st["ends_at"].(string))
	if err != nil || st["status"] != "running" || st["closing_at"] != nil || ends.Before(before.Add(599*time.Second)) || ends.After(time.Now().Add(601*time.Second)) {
		t.Fatalf("started with a 600 s timer: %v (%v)", st, err)
	}
	sameTime := func(v any) bool {
		s, _ := v.(string)
		at, err := time.Parse(time.RFC3339, s)
		return err == nil && at.Equal(ends)
	}
	if cs := f.client(f.people[0], "GET", "", nil).data(); !sameTime(cs["endsAt"]) {
		t.Errorf("participants see endsAt %v, want %v", cs["endsAt"], st["ends_at"])
	}
	st = e.must(200, "POST", f.base+"/start", map[string]any{"version": 3}).data()
	if !sameTime(st["ends_at"]) {
		t.Errorf("a start without a timer changed it: %v, want %v", st["ends_at"], ends)
	}
	st = e.must(200, "POST", f.base+"/start", map[string]any{"version": 4, "duration_seconds": 0}).data()
	if st["ends_at"] != nil {
		t.Errorf("a zero timer left ends_at %v", st["ends_at"])
	}
	if cs := f.client(f.people[0], "GET", "", nil).data(); cs["endsAt"] != nil {
		t.Errorf("participants still see endsAt %v", cs["endsAt"])
	}
}

// TestLateJoinersJoin: with assign_late_joiners, a participant added after the start joins the
// least full room.
func TestLateJoinersJoin(t *testing.T) {
	e := newEnv(t)
	f := newFamily(t, e, 2)
	created := e.must(201, "POST", f.base, map[string]any{"version": 0, "count": 2}).data()
	rs := ids(created["created_meeting_ids"].([]any))
	e.must(200, "POST", f.base+"/assign", map[string]any{"version": 1, "mode": "manual",
		"rooms": map[string]any{rs[0]: f.people}})
	st := e.must(200, "POST", f.base+"/start", map[string]any{"version": 2, "assign_late_joiners": true}).data()
	if st["assign_late_joiners"] != true {
		t.Fatalf("started: %v", st)
	}
	_, tok := e.addParticipant(f.meeting, "late", presets.GroupCallParticipant)
	j := e.joinAs(tok)
	if j.Status != 200 || j.data()["room"] != rs[1] || j.data()["meeting_id"] != rs[1] {
		t.Fatalf("late joiner joined %v, want the empty room %s: %s", j.data()["room"], rs[1], j.Raw)
	}
	// Without the setting (a start that turns it off), a late joiner stays in the parent.
	e.must(200, "POST", f.base+"/start", map[string]any{"version": version(f.state()), "assign_late_joiners": false})
	_, tok = e.addParticipant(f.meeting, "later", presets.GroupCallParticipant)
	if j := e.joinAs(tok); j.Status != 200 || j.data()["room"] != f.meeting {
		t.Fatalf("with late joiners off, joined %v, want the parent: %s", j.data()["room"], j.Raw)
	}
}

// TestAskForHelpAPI: a participant asks for help (the answer is the event); the envelope for
// a second request at once and for a bad body.
func TestAskForHelpAPI(t *testing.T) {
	e := newEnv(t)
	f := newFamily(t, e, 1)
	p := f.people[0]
	r := f.client(p, "POST", "/help", map[string]any{"message": "stuck"})
	if r.Status != 200 || r.data()["participantId"] != p || r.data()["message"] != "stuck" || r.data()["id"] == "" || r.data()["meetingId"] != f.meeting {
		t.Fatalf("help: %d %s", r.Status, r.Raw)
	}
	wantError(t, f.client(p, "POST", "/help", nil), 429, "less than 10 s ago")
	wantError(t, f.client(f.people[0], "POST", "/help", "{"), 400)
	wantError(t, e.do("POST", "/client/v1/connected-meetings/help", "-", nil), 401)
}

// TestPrepareAPI: an assigned participant gets its prepared connection's ticket before the
// start; the envelope when it is not assigned, once the rooms run, and without a token.
func TestPrepareAPI(t *testing.T) {
	e := newEnv(t)
	f := newFamily(t, e, 2)
	created := e.must(201, "POST", f.base, map[string]any{"version": 0, "count": 1}).data()
	room := ids(created["created_meeting_ids"].([]any))[0]
	wantError(t, f.client(f.people[0], "POST", "/prepare", nil), 412, "not assigned")
	e.must(200, "POST", f.base+"/assign", map[string]any{"version": 1, "mode": "manual",
		"rooms": map[string]any{room: f.people[:1]}})
	r := f.client(f.people[0], "POST", "/prepare", nil)
	if r.Status != 200 || r.data()["room"] != room || r.data()["meetingId"] != room || r.data()["token"] == "" || r.data()["url"] == "" {
		t.Fatalf("prepare: %d %s", r.Status, r.Raw)
	}
	wantError(t, f.client(f.people[1], "POST", "/prepare", nil), 412, "not assigned")
	e.must(200, "POST", f.base+"/start", map[string]any{"version": 2})
	wantError(t, f.client(f.people[0], "POST", "/prepare", nil), 412, "are running")
	wantError(t, e.do("POST", "/client/v1/connected-meetings/prepare", "-", nil), 401)
}

// TestBreakoutsHostsInTheBrowser: a host with a participant token assigns (auto, with and
// without hosts, and by hand), starts (timer, late joiners) and closes (countdown) through
// the participant API; others get 403; a stale change gets 409 with the current version
// and state, in each API's shape.
func TestBreakoutsHostsInTheBrowser(t *testing.T) {
	e := newEnv(t)
	f := newFamily(t, e, 4)
	for _, p := range append([]string{f.host}, f.people...) {
		e.mover.Connect(p, f.meeting)
	}
	plain := f.people[0]
	r := f.client(f.host, "POST", "", map[string]any{"version": 0, "meetings": []any{map[string]any{"title": "Red"}, map[string]any{"title": "Blue"}}})
	if r.Status != 201 {
		t.Fatalf("create: %s", r.Raw)
	}
	st := r.data()["state"].(map[string]any)
	red, blue := rooms(st)[0]["id"].(string), rooms(st)[1]["id"].(string)
	assigned := func(st map[string]any) (n int, host bool) {
		for _, r := range rooms(st) {
			a, _ := r["assignedParticipantIds"].([]any)
			n += len(a)
			host = host || slices.Contains(ids(a), f.host)
		}
		return n, host
	}

	for _, path := range []string{"/assign", "/start", "/close"} {
		wantError(t, f.client(plain, "POST", path, map[string]any{"version": 1, "mode": "auto"}), 403, "can_alter_connected_meetings")
	}
	st = f.client(f.host, "POST", "/assign", map[string]any{"version": 1, "mode": "auto"}).data()
	if n, host := assigned(st); version(st) != 2 || n != 4 || host {
		t.Fatalf("auto assignment without hosts: %v", st)
	}
	st = f.client(f.host, "POST", "/assign", map[string]any{"version": 2, "mode": "auto", "includeHosts": true}).data()
	if n, host := assigned(st); version(st) != 3 || n != 5 || !host {
		t.Fatalf("auto assignment with hosts: %v", st)
	}
	st = f.client(f.host, "POST", "/assign", map[string]any{"version": 3, "mode": "manual", "rooms": map[string]any{f.meeting: []string{f.host}, red: f.people[:2], blue: f.people[2:]}}).data()
	if n, host := assigned(st); version(st) != 4 || n != 4 || host || ids(rooms(st)[0]["assignedParticipantIds"].([]any))[0] != slices.Min(f.people[:2]) {
		t.Fatalf("manual assignment: %v", st)
	}

	// A stale change: 409 with the current version and state, camelCase here...
	r = f.client(f.host, "POST", "/start", map[string]any{"version": 3})
	wantError(t, r, 409, "version 3 is stale", "at version 4")
	detail := r.Body["error"].(map[string]any)
	if detail["version"] != 4.0 || detail["state"].(map[string]any)["parentMeeting"].(map[string]any)["id"] != f.meeting || version(detail["state"].(map[string]any)) != 4 {
		t.Fatalf("409 without the current state: %s", r.Raw)
	}
	// ...and snake_case in the admin API.
	r = e.do("PATCH", f.base, "", map[string]any{"version": 1, "meetings": []any{map[string]any{"id": red, "title": "x"}}})
	wantError(t, r, 409, "is stale")
	if d := r.Body["error"].(map[string]any); d["version"] != 4.0 || d["state"].(map[string]any)["parent_meeting"] == nil {
		t.Fatalf("admin 409 without the current state: %s", r.Raw)
	}

	wantError(t, f.client(f.host, "POST", "/start", map[string]any{"version": 4, "warningSeconds": 10}), 400, `"warningSeconds" goes with "durationSeconds"`)
	wantError(t, f.client(f.host, "POST", "/start", map[string]any{"version": 4, "durationSeconds": "60"}), 400, `"durationSeconds" must be an integer`)
	wantError(t, f.client(f.host, "POST", "/start", map[string]any{"durationSeconds": 60}), 400, `"version" is required`)
	wantError(t, f.client(f.host, "POST", "/assign", map[string]any{"version": 4, "mode": "shuffle"}), 400, `"mode"`)
	wantError(t, f.client(f.host, "POST", "/assign", map[string]any{"version": 4, "mode": "manual"}), 400, `"rooms"`)

	before := time.Now()
	st = f.client(f.host, "POST", "/start", map[string]any{"version": 4, "durationSeconds": 600, "warningSeconds": 30, "assignLateJoiners": true}).data()
	ends, err := time.Parse(time.RFC3339, fmt.Sprint(st["endsAt"]))
	if st["status"] != "running" || st["assignLateJoiners"] != true || err != nil || ends.Before(before.Add(599*time.Second)) {
		t.Fatalf("start: %v (%v)", st, err)
	}
	waitFor(t, "the start's moves", func() bool { return e.mover.Where(f.people[0]) == red && e.mover.Where(f.people[3]) == blue })
	// A late joiner lands in a room.
	_, tok := e.addParticipant(f.meeting, "late", presets.GroupCallParticipant)
	if j := e.joinAs(tok); j.Status != 200 || (j.data()["room"] != red && j.data()["room"] != blue) {
		t.Fatalf("late joiner: %s", j.Raw)
	}

	st = f.client(f.host, "GET", "", nil).data()
	before = time.Now()
	st = f.client(f.host, "POST", "/close", map[string]any{"version": st["version"], "graceSeconds": 5}).data()
	closing, err := time.Parse(time.RFC3339, fmt.Sprint(st["closingAt"]))
	if st["status"] != "closing" || err != nil || closing.Before(before.Add(4*time.Second)) || closing.After(time.Now().Add(5*time.Second)) {
		t.Fatalf("close with a countdown: %v (%v)", st, err)
	}
	waitFor(t, "everyone back after the countdown", func() bool { return e.mover.Where(f.people[0]) == f.meeting && e.mover.Where(f.people[3]) == f.meeting })
	if st := f.client(plain, "GET", "", nil).data(); st["status"] != "idle" {
		t.Fatalf("after the countdown: %v", st)
	}
}
