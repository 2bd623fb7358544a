//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/livekit/protocol/livekit"
	"github.com/redis/go-redis/v9"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/presets"
	"rtk-sidecar/rtkclient"
)

// TestReplicasSurviveSIGKILL runs the scaled shape (docs/deployment.md): two sidecar
// binaries on one PostgreSQL and one Redis, behind a load balancer that sends each request to
// the next replica, beside two livekit-server nodes that share the Redis, the family's rooms
// spread over both nodes. Twelve participants run a breakout with three rooms; the host closes
// it with a 10 s countdown, and the replica that holds the countdowns' lease is killed with
// SIGKILL. The other replica takes the lease over within 5 s and closes on time (±2 s); every
// participant ends in the parent; the event streams reconnect to the survivor and carry every
// later event; every webhook of the run is delivered, signed, none lost.
func TestReplicasSurviveSIGKILL(t *testing.T) {
	ctx := t.Context()
	cl := startCluster(t, 2)
	rdb, dsn, nodes, reps, sc := cl.rdb, cl.dsn, cl.nodes, cl.reps, cl.sc
	var nodeIDs []string
	eventually(t, 15*time.Second, func() string {
		ids, err := rdb.HKeys(ctx, "nodes").Result()
		if err != nil || len(ids) != 2 {
			return fmt.Sprintf("LiveKit nodes in Redis: %v (%v)", ids, err)
		}
		nodeIDs = ids
		return ""
	})

	sink := newHookSink(t, sc)
	sc.Must(t, "POST", sc.AppPath+"/webhooks", map[string]any{"name": "replicas", "url": sink.srv.URL,
		"events": []string{"meeting.started", "meeting.ended", "meeting.participantJoined", "meeting.participantLeft"}}, nil)

	parent := sc.CreateMeeting(t, "Replicas")
	placeRoom(t, nodes[0], parent, nodeIDs[0])
	fam := &bkFamily{sc: sc, parent: parent, base: sc.AppPath + "/meetings/" + parent + "/connected-meetings"}
	host := newMember(t, sc, parent, "host", presets.GroupCallHost, false, false)
	all := []*member{host}
	for i := range 11 {
		all = append(all, newMember(t, sc, parent, fmt.Sprintf("p%02d", i), presets.GroupCallParticipant, false, false))
	}
	for _, m := range all {
		if j := m.join(t); j.Room != parent {
			t.Fatalf("%s joined %s, want the parent", m.name, j.Room)
		}
	}

	// Three rooms, placed on alternate nodes before anyone connects to them: the moves of the
	// start and of the close go between rooms on different LiveKit nodes.
	st := fam.admin(t, 201, "POST", "", map[string]any{"version": 0, "count": 3})
	rooms := st.CreatedMeetingIDs
	for i, r := range rooms {
		placeRoom(t, nodes[i%2], r, nodeIDs[(i+1)%2])
	}
	byNode := map[string][]string{}
	for _, r := range append([]string{parent}, rooms...) {
		n, err := rdb.HGet(ctx, "room_node_map", r).Result()
		if err != nil {
			t.Fatalf("room %s has no LiveKit node: %v", short(r), err)
		}
		byNode[n] = append(byNode[n], short(r))
	}
	if len(byNode) != 2 {
		t.Fatalf("rooms by LiveKit node: %v; want both nodes used", byNode)
	}
	t.Logf("rooms by LiveKit node: %v", byNode)

	st = fam.admin(t, 200, "POST", "/assign", map[string]any{"version": st.Version, "mode": "auto"})
	assigned := map[string]string{}
	for _, r := range st.Meetings {
		for _, id := range r.AssignedParticipantIDs {
			assigned[id] = r.ID
		}
	}
	st = fam.admin(t, 200, "POST", "/start", map[string]any{"version": st.Version})
	if st.Status != "running" {
		t.Fatalf("status after the start: %s", st.Status)
	}
	eventually(t, 30*time.Second, func() string {
		for _, m := range all {
			if want := or(assigned[m.id], parent); m.c.Room() != want {
				return fmt.Sprintf("%s is in %s, want %s", m.name, short(m.c.Room()), short(want))
			}
		}
		return ""
	})

	// Close with a 10 s countdown, then kill the replica that owns the countdowns.
	sent := time.Now()
	st = fam.admin(t, 200, "POST", "/close", map[string]any{"version": fam.state(t).Version, "grace_seconds": 10})
	if st.Status != "closing" || st.ClosingAt == nil {
		t.Fatalf("after close: status %s, closing_at %v", st.Status, st.ClosingAt)
	}
	closingAt, err := time.Parse(time.RFC3339Nano, *st.ClosingAt)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() string {
		for _, m := range all {
			if _, _, ok := m.closing(); !ok {
				return m.name + " has not received the closing event"
			}
		}
		return ""
	})
	holder, err := rdb.Get(ctx, "rtk:lease:"+breakouts.CountdownsLease).Result()
	if err != nil {
		t.Fatalf("the countdowns' lease: %v", err)
	}
	victim := slices.IndexFunc(reps[:], func(r *replicaProc) bool { return strings.HasPrefix(holder, r.node+"/") })
	if victim < 0 {
		t.Fatalf("the countdowns' lease is held by %q, no replica of the test", holder)
	}
	survivor := reps[1-victim]
	took := make(chan time.Duration, 1)
	killed := time.Now()
	go func() { // the takeover: when the survivor holds the lease
		for time.Since(killed) < 15*time.Second {
			if h, _ := rdb.Get(context.Background(), "rtk:lease:"+breakouts.CountdownsLease).Result(); strings.HasPrefix(h, survivor.node+"/") {
				took <- time.Since(killed)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		close(took)
	}()
	reps[victim].kill(t)
	t.Logf("SIGKILL %s (holder of %s) %s after the close, %s before its countdown ends",
		reps[victim].node, breakouts.CountdownsLease, killed.Sub(sent).Round(time.Millisecond), closingAt.Sub(killed).Round(time.Millisecond))

	takeover, ok := <-took
	switch {
	case !ok:
		t.Fatalf("%s never took the countdowns' lease over", survivor.node)
	case takeover > 5*time.Second:
		t.Errorf("takeover after SIGKILL took %s, want at most 5 s", takeover)
	}
	t.Logf("BENCH takeover after SIGKILL: %s", takeover.Round(time.Millisecond))

	// Everyone ends in the parent, moved back when the countdown ended (±2 s).
	eventually(t, 30*time.Second, func() string {
		for _, m := range all {
			if m.c.Room() != parent {
				return fmt.Sprintf("%s is in %s, want the parent", m.name, short(m.c.Room()))
			}
		}
		return ""
	})
	backOf := func(m *member) *rtkclient.MoveReport {
		var back *rtkclient.MoveReport
		for _, r := range m.reports() {
			if r.To == parent && r.Received.After(sent) {
				back = &r
			}
		}
		return back
	}
	eventually(t, 15*time.Second, func() string { // a report comes once the client has left its source
		for _, m := range all[1:] {
			if backOf(m) == nil {
				return m.name + " has no report of its move back to the parent"
			}
		}
		return ""
	})
	vias := map[string]int{}
	var latest time.Duration
	for _, m := range all[1:] { // the host stayed in the parent
		back := backOf(m)
		vias[back.Via]++
		d := back.Received.Sub(closingAt)
		latest = max(latest, d)
		if d < -50*time.Millisecond || d > 2*time.Second {
			t.Errorf("%s was moved back %s after the countdown's end, want within 2 s", m.name, d.Round(time.Millisecond))
		}
	}
	t.Logf("BENCH last move back received %s after the countdown's end", latest.Round(time.Millisecond))
	t.Logf("moves back to the parent, by path: %v", vias)
	if s := fam.state(t); s.Status != "idle" {
		t.Errorf("status after the countdown: %s, want idle", s.Status)
	}

	// Every event stream is open on the survivor now, and carries what happens next.
	eventually(t, 15*time.Second, func() string {
		if n := survivor.openStreams(t); n != len(all) {
			return fmt.Sprintf("%d event streams open on %s, want %d", n, survivor.node, len(all))
		}
		return ""
	})
	bm, err := host.c.BroadcastMessage(ctx, "note", map[string]any{"text": "after the takeover"}, parent)
	if err != nil {
		t.Fatalf("broadcast after the takeover: %v", err)
	}
	eventually(t, 10*time.Second, func() string {
		for _, m := range all {
			m.mu.Lock()
			n := m.broadcasts[bm.ID]
			m.mu.Unlock()
			if n != 1 {
				return fmt.Sprintf("%s has the broadcast sent after the takeover %d times", m.name, n)
			}
		}
		return ""
	})

	// Every participant leaves; every webhook of the run is delivered, signed, none lost. The
	// run is over when every session it started has ended: LiveKit finishes a room a while
	// after its last participant left (its departure timeout), and a session's meeting.ended
	// is the last event it enqueues. Until then deliveries are still being added, so the
	// outbox is compared with the receiver in one snapshot each time, never a count taken
	// earlier with a list read later.
	for _, m := range all {
		m.c.Close()
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	family := append([]string{parent}, rooms...)
	var final outboxAudit
	eventually(t, 90*time.Second, func() string {
		a, err := sink.audit(ctx, conn)
		if err != nil {
			return err.Error()
		}
		if len(a.lost) > 0 || len(a.gaveUp) > 0 || len(a.unknown) > 0 {
			t.Fatalf("webhooks: %s", a)
		}
		if len(a.waiting) > 0 {
			return fmt.Sprintf("%d webhook deliveries not delivered yet", len(a.waiting))
		}
		left := 0
		for _, m := range all {
			if sink.find("meeting.participantLeft", m.id) != nil {
				left++
			}
		}
		if left != len(all) {
			return fmt.Sprintf("participantLeft delivered for %d of %d", left, len(all))
		}
		if open := sink.openSessions(family); len(open) > 0 {
			return fmt.Sprintf("sessions without meeting.ended yet: %v", open)
		}
		final = a
		return ""
	})
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.bodies) != final.total || sink.bad > 0 {
		t.Errorf("the receiver got %d distinct deliveries (%d with a bad signature), the outbox holds %d", len(sink.bodies), sink.bad, final.total)
	}
	for _, m := range all {
		for _, ev := range []string{"meeting.participantJoined", "meeting.participantLeft"} {
			found := false
			for _, b := range sink.bodies {
				p, _ := b["participant"].(map[string]any)
				if b["event"] == ev && p != nil && p["participantId"] == m.id {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s for %s", ev, m.name)
			}
		}
	}
	t.Logf("%d webhooks delivered, every one signed and received (%d requests cut off by the SIGKILL)", final.total, sink.broken)
}

// outboxAudit compares the outbox's deliveries with what the receiver recorded.
type outboxAudit struct {
	total   int      // deliveries in the outbox
	lost    []string // delivered, as the outbox records it, yet never received
	waiting []string // pending: not delivered yet
	gaveUp  []string // failed or dead: the outbox stopped trying
	unknown []string // received, yet not in the outbox
}

func (a outboxAudit) String() string {
	return fmt.Sprintf("%d deliveries: lost (marked delivered, never received) %v; failed or dead %v; received but not in the outbox %v; pending %d",
		a.total, a.lost, a.gaveUp, a.unknown, len(a.waiting))
}

// auditDeliveries classifies the outbox's deliveries, read at one instant (id → status),
// against the ids the receiver had recorded before that instant (before) and after it
// (after). The receiver records a delivery before it answers 2xx, and the outbox marks a
// delivery delivered only once that answer is back, and sends it only once its row is
// committed: so a delivered row missing from after is lost, and an id of before missing
// from the rows was never the outbox's. A pending row, however it compares, is only not
// delivered yet: more rows appear while the run goes on.
func auditDeliveries(statuses map[string]string, before, after map[string]bool) outboxAudit {
	a := outboxAudit{total: len(statuses)}
	for id, st := range statuses {
		switch st {
		case "delivered":
			if !after[id] {
				a.lost = append(a.lost, id)
			}
		case "pending":
			a.waiting = append(a.waiting, id)
		default:
			a.gaveUp = append(a.gaveUp, id+" ("+st+")")
		}
	}
	for id := range before {
		if _, ok := statuses[id]; !ok {
			a.unknown = append(a.unknown, id)
		}
	}
	slices.Sort(a.lost)
	slices.Sort(a.waiting)
	slices.Sort(a.gaveUp)
	slices.Sort(a.unknown)
	return a
}

// audit reads the outbox in one query, between two looks at what the sink received.
func (h *hookSink) audit(ctx context.Context, conn *pgx.Conn) (outboxAudit, error) {
	received := func() map[string]bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		ids := make(map[string]bool, len(h.bodies))
		for id := range h.bodies {
			ids[id] = true
		}
		return ids
	}
	before := received()
	rows, err := conn.Query(ctx, `SELECT id, status FROM webhook_deliveries`)
	if err != nil {
		return outboxAudit{}, err
	}
	statuses := map[string]string{}
	var id, status string
	if _, err := pgx.ForEachRow(rows, []any{&id, &status}, func() error {
		statuses[id] = status
		return nil
	}); err != nil {
		return outboxAudit{}, err
	}
	return auditDeliveries(statuses, before, received()), nil
}

// openSessions returns the sessions of the meetings (ids) that have no meeting.ended
// yet, and the meetings without any meeting.started, as "meeting/session".
func (h *hookSink) openSessions(meetings []string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	started, ended, startedMeetings := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, b := range h.bodies {
		m, _ := b["meeting"].(map[string]any)
		if m == nil || !slices.Contains(meetings, fmt.Sprint(m["id"])) {
			continue
		}
		key := short(fmt.Sprint(m["id"])) + "/" + fmt.Sprint(m["sessionId"])
		switch b["event"] {
		case "meeting.started":
			started[key], startedMeetings[fmt.Sprint(m["id"])] = true, true
		case "meeting.ended":
			ended[key] = true
		}
	}
	var open []string
	for _, id := range meetings {
		if !startedMeetings[id] {
			open = append(open, short(id)+"/(not started)")
		}
	}
	for k := range started {
		if !ended[k] {
			open = append(open, k)
		}
	}
	slices.Sort(open)
	return open
}

// TestAuditDeliveries: the comparison of the outbox with the receiver tells a lost
// delivery from one enqueued after the receiver was looked at.
func TestAuditDeliveries(t *testing.T) {
	set := func(ids ...string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	for _, tc := range []struct {
		name          string
		statuses      map[string]string
		before, after map[string]bool
		lost, waiting []string
		gaveUp        []string
		unknown       []string
	}{
		{name: "all delivered and received", statuses: map[string]string{"a": "delivered", "b": "delivered"},
			before: set("a", "b"), after: set("a", "b")},
		{name: "enqueued after the last look, not sent yet",
			statuses: map[string]string{"a": "delivered", "late": "pending"}, before: set("a"), after: set("a"),
			waiting: []string{"late"}},
		{name: "delivered while the outbox was read",
			statuses: map[string]string{"a": "delivered", "b": "delivered"}, before: set("a"), after: set("a", "b")},
		{name: "received and settled after the outbox was read",
			statuses: map[string]string{"a": "delivered", "b": "pending"}, before: set("a"), after: set("a", "b"),
			waiting: []string{"b"}},
		{name: "marked delivered, never received",
			statuses: map[string]string{"a": "delivered", "b": "delivered"}, before: set("a"), after: set("a"),
			lost: []string{"b"}},
		{name: "refused", statuses: map[string]string{"a": "failed"}, gaveUp: []string{"a (failed)"}},
		{name: "received, not in the outbox", statuses: map[string]string{"a": "delivered"},
			before: set("a", "x"), after: set("a", "x"), unknown: []string{"x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := auditDeliveries(tc.statuses, tc.before, tc.after)
			if a.total != len(tc.statuses) || !slices.Equal(a.lost, tc.lost) || !slices.Equal(a.waiting, tc.waiting) ||
				!slices.Equal(a.gaveUp, tc.gaveUp) || !slices.Equal(a.unknown, tc.unknown) {
				t.Errorf("audit = %s (pending %v), want lost %v, pending %v, failed %v, unknown %v",
					a, a.waiting, tc.lost, tc.waiting, tc.gaveUp, tc.unknown)
			}
		})
	}
}

// replicaCluster is the scaled shape the replica tests run: one Redis and one PostgreSQL of
// their own, livekit-server nodes on that Redis, two sidecar replicas (replica i on node
// i mod the number of nodes) and the load balancer in front of them.
type replicaCluster struct {
	redisAddr string
	rdb       *redis.Client
	dsn       string
	lb        *balancer
	nodes     []*SFU
	reps      [2]*replicaProc
	sc        *Sidecar // through the load balancer
	bin       string   // the sidecar binary
	shared    string   // the key files every replica shares
}

// startCluster starts a replicaCluster with the given number of LiveKit nodes and waits until
// both replicas are ready. Everything stops when the test ends.
func startCluster(t *testing.T, nodes int) *replicaCluster {
	t.Helper()
	requireMedia(t)
	cl := &replicaCluster{redisAddr: startRedis(t)}
	cl.rdb = redis.NewClient(&redis.Options{Addr: cl.redisAddr})
	t.Cleanup(func() { _ = cl.rdb.Close() })
	cl.dsn = startPostgres(t)
	cl.lb = newBalancer(t)
	for range nodes {
		cl.nodes = append(cl.nodes, StartSFU(t, SFUConfig{Redis: cl.redisAddr, WebhookURLs: []string{cl.lb.URL + "/livekit/webhook"}, LogLevel: "warn"}))
	}
	cl.bin = buildSidecar(t)
	cl.shared = t.TempDir()
	for i := range cl.reps {
		cl.reps[i] = startReplica(t, cl.bin, i, cl.dsn, cl.redisAddr, cl.nodes[i%nodes], cl.shared)
		cl.lb.add(cl.reps[i].url)
	}
	cl.sc = &Sidecar{BaseURL: cl.lb.URL, AppPath: "/accounts/" + e2eAccount + "/realtime/kit/" + e2eApp}
	return cl
}

// direct returns a client of the app's API on replica r alone, not through the balancer.
func (cl *replicaCluster) direct(r *replicaProc) *Sidecar {
	return &Sidecar{BaseURL: r.url, AppPath: cl.sc.AppPath}
}

// placeRoom creates room on the LiveKit node nodeID (asked through any node), unless it exists.
func placeRoom(t *testing.T, via *SFU, room, nodeID string) {
	t.Helper()
	if _, err := via.Rooms.CreateRoom(t.Context(), &livekit.CreateRoomRequest{Name: room, NodeId: nodeID}); err != nil {
		t.Fatalf("create room %s on node %s: %v", short(room), nodeID, err)
	}
}

// ---- servers ----

// startRedis runs redis-server on a free loopback port, without persistence, until the test ends.
func startRedis(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		skipOrFail(t, "redis-server not installed")
	}
	port, _, _ := freePorts(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	eventually(t, 10*time.Second, func() string {
		if err := rdb.Ping(t.Context()).Err(); err != nil {
			return "redis: " + err.Error()
		}
		return ""
	})
	return addr
}

// pgBin is where Debian installs PostgreSQL's server programs.
const pgBin = "/usr/lib/postgresql/15/bin"

// startPostgres runs a PostgreSQL server of its own (initdb, then postgres on a free loopback
// port) as the user nobody, since initdb refuses root, and returns a DSN of its database rtk.
func startPostgres(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		skipOrFail(t, "PostgreSQL server programs not found in "+pgBin)
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, Pdeathsig: syscall.SIGKILL}
	dir, err := os.MkdirTemp("", "rtk-e2e-pg-") // not t.TempDir: nobody must reach it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(pgBin, "initdb"), "-D", data, "-U", "rtk", "--auth=trust", "-E", "UTF8", "--no-sync")
	initdb.SysProcAttr, initdb.Dir = cred, dir
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port, _, _ := freePorts(t)
	pg := exec.Command(filepath.Join(pgBin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200")
	pg.SysProcAttr, pg.Dir = cred, dir
	var logs bytes.Buffer
	pg.Stdout, pg.Stderr = &logs, &logs
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pg.Process.Signal(syscall.SIGINT) // fast shutdown
		_ = pg.Wait()
	})
	admin := fmt.Sprintf("postgres://rtk@127.0.0.1:%d/postgres?sslmode=disable", port)
	eventually(t, 20*time.Second, func() string {
		conn, err := pgx.Connect(t.Context(), admin)
		if err != nil {
			return "postgres: " + err.Error()
		}
		defer conn.Close(t.Context())
		if _, err := conn.Exec(t.Context(), "CREATE DATABASE rtk"); err != nil {
			return "create database: " + err.Error()
		}
		return ""
	})
	return fmt.Sprintf("postgres://rtk@127.0.0.1:%d/rtk?sslmode=disable", port)
}

// buildSidecar builds cmd/sidecar into the test's temp dir.
func buildSidecar(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "sidecar")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sidecar")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// replicaProc is one sidecar binary run as a replica.
type replicaProc struct {
	node   string
	url    string
	cmd    *exec.Cmd
	logs   *lockedBuffer
	exited chan error
}

// startReplica runs replica i of the cluster against its own LiveKit node and waits until it
// is ready.
func startReplica(t *testing.T, bin string, i int, dsn, redisAddr string, node *SFU, shared string) *replicaProc {
	t.Helper()
	dir := t.TempDir()
	port, _, _ := freePorts(t)
	r := &replicaProc{node: fmt.Sprintf("replica-%d", i+1), url: fmt.Sprintf("http://127.0.0.1:%d", port),
		logs: &lockedBuffer{}, exited: make(chan error, 1)}
	cfg := fmt.Sprintf(`
http: {addr: "127.0.0.1:%d", public_url: %q, shutdown_timeout: 5s}
log: {level: info}
store: {dsn: %q}
auth:
  keys: [{account_id: %q, org_id: %q, app_id: %q, app_name: e2e, secret: %q}]
  token_key_file: %q
  token_ttl: 1h
livekit: {mode: external, url: %q, public_url: %q, api_key: %q, api_secret: %q}
recording: {output_dir: %q}
webhooks:
  signing_key_file: %q
  timeout: 2s
  lease: 3s
  min_backoff: 100ms
  max_backoff: 1s
  poll_interval: 100ms
sessions: {reconcile_interval: 5s}
cluster: {redis_url: "redis://%s/0", node: %q}
`, port, r.url, dsn, e2eAccount, e2eOrg, e2eApp, e2eKey, filepath.Join(shared, "token.pem"),
		node.HTTPURL, node.URL, node.APIKey, node.APISecret, filepath.Join(dir, "recordings"),
		filepath.Join(shared, "webhook.pem"), redisAddr, r.node)
	path := filepath.Join(dir, "sidecar.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(bin, "-config", path)
	r.cmd.Dir = dir
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.exited <- r.cmd.Wait() }()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-r.exited:
			case <-time.After(20 * time.Second):
				_ = r.cmd.Process.Kill()
				<-r.exited
			}
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", r.node, string(r.logs.Bytes()))
		}
	})
	eventually(t, 60*time.Second, func() string {
		select {
		case err := <-r.exited:
			r.exited <- err
			t.Fatalf("%s exited during its start: %v\n%s", r.node, err, string(r.logs.Bytes()))
		default:
		}
		res, err := http.Get(r.url + "/readyz")
		if err != nil {
			return err.Error()
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Sprintf("%s readyz %d", r.node, res.StatusCode)
		}
		return ""
	})
	return r
}

// kill sends SIGKILL and waits for the process to be gone.
func (r *replicaProc) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-r.exited
	r.exited <- err
}

// openStreams reads rtk_event_streams_open from the replica's /metrics.
func (r *replicaProc) openStreams(t *testing.T) int {
	t.Helper()
	res, err := http.Get(r.url + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "rtk_event_streams_open "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return -1
}

// ---- the load balancer ----

// balancer is the HTTP load balancer in front of the replicas: each request goes to the next
// replica in turn, no stickiness; a replica that refuses the connection is skipped. Responses
// are streamed (event streams).
type balancer struct {
	URL string

	mu       sync.Mutex
	backends []*url.URL
	next     int
}

func newBalancer(t *testing.T) *balancer {
	b := &balancer{}
	proxy := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.Out.URL.Scheme, r.Out.URL.Host = "http", "replica" },
		Transport:     b,
		FlushInterval: -1,
		ErrorLog:      nil,
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

func (b *balancer) add(u string) {
	p, _ := url.Parse(u)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = append(b.backends, p)
}

// RoundTrip sends req to the next replica, and to the one after it while replicas refuse.
func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	b.mu.Lock()
	backends := slices.Clone(b.backends)
	first := b.next
	b.next++
	b.mu.Unlock()
	var err error
	for k := range backends {
		be := backends[(first+k)%len(backends)]
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host, out.Host = be.Scheme, be.Host, be.Host
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.ContentLength = int64(len(body))
		}
		var res *http.Response
		if res, err = http.DefaultTransport.RoundTrip(out); err == nil {
			return res, nil
		}
		if !refused(err) {
			return nil, err
		}
	}
	return nil, err
}

// refused reports a connection that was never made: the replica is down.
func refused(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &op) && op.Op == "dial")
}
