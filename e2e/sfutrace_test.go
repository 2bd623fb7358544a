//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"testing"
	"time"
)

// envSFUTrace (RTK_BENCH_SFU_TRACE=1) runs the benchmark's SFU with its info log and its
// transport component at debug, and the start benchmark reports, from that log, when the SFU
// reached each stage of every mover's connections to its destination room.
const envSFUTrace = "RTK_BENCH_SFU_TRACE"

func sfuTraced() bool { return os.Getenv(envSFUTrace) == "1" }

// sfuStages are the stages read from livekit-server's log, in the order a join goes through
// them: the log message and, for the transport's, the peer connection ("SUBSCRIBER" or
// "PUBLISHER") and the state it reached.
var sfuStages = []struct {
	name, msg, transport, state string
}{
	{"session", "starting RTC session", "", ""},
	{"sub_ice_checking", "ice connection state change", "SUBSCRIBER", "checking"},
	{"sub_ice_connected", "ice connection state change", "SUBSCRIBER", "connected"},
	{"sub_connected", "peer connection state change", "SUBSCRIBER", "connected"}, // ICE and DTLS: ACTIVE
	{"pub_ice_checking", "ice connection state change", "PUBLISHER", "checking"},
	{"pub_ice_connected", "ice connection state change", "PUBLISHER", "connected"},
	{"pub_connected", "peer connection state change", "PUBLISHER", "connected"},
	{"first_rtp", "mediaTrack published", "", ""}, // the SFU's first packet of the mover's audio
}

// sfuTrace is what the SFU logged at or after a time, per LiveKit room and identity: when it
// logged each stage first, how many sessions it started, and why it closed them.
type sfuTrace struct {
	at       map[[2]string]map[string]time.Time
	sessions map[[2]string]int
	closed   map[[2]string][]string // the reasons, in order
}

// readSFUTrace reads livekit-server's JSON log at path.
func readSFUTrace(path string, since time.Time) (sfuTrace, error) {
	f, err := os.Open(path)
	if err != nil {
		return sfuTrace{}, err
	}
	defer f.Close()
	out := sfuTrace{at: map[[2]string]map[string]time.Time{}, sessions: map[[2]string]int{}, closed: map[[2]string][]string{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var l struct {
			TS          float64 `json:"ts"`
			Msg         string  `json:"msg"`
			Room        string  `json:"room"`
			Participant string  `json:"participant"`
			Transport   string  `json:"transport"`
			State       string  `json:"state"`
			Reason      string  `json:"reason"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Room == "" {
			continue
		}
		sec, frac := math.Modf(l.TS)
		at := time.Unix(int64(sec), int64(frac*1e9))
		if at.Before(since) {
			continue
		}
		k := [2]string{l.Room, l.Participant}
		switch l.Msg {
		case "starting RTC session":
			out.sessions[k]++
		case "participant closing":
			out.closed[k] = append(out.closed[k], l.Reason)
		}
		for _, s := range sfuStages {
			if l.Msg != s.msg || l.Transport != s.transport || l.State != s.state {
				continue
			}
			if out.at[k] == nil {
				out.at[k] = map[string]time.Time{}
			}
			if _, seen := out.at[k][s.name]; !seen {
				out.at[k][s.name] = at
			}
		}
	}
	return out, sc.Err()
}

// logSFUTrace logs, from the SFU's log at path, when the SFU reached each stage of every
// client's join to its room (roomOf) after t0, how long ICE and DTLS took, and how long
// after the SFU's first packet a room-mate heard the client (audibleOf); then the clients
// that joined their room more than once, and the five last present (presentAt). Each line
// starts with tag.
func logSFUTrace(t *testing.T, tag, path string, t0 time.Time, clients []*benchClient, roomOf map[string]string,
	presentAt map[string]time.Time, audibleOf func(*benchClient) time.Time) {
	t.Helper()
	tr, err := readSFUTrace(path, t0)
	if err != nil {
		t.Fatalf("SFU trace: %v", err)
	}
	at := map[string][]time.Duration{}
	span := func(name, from, to string, of map[string]time.Time) {
		if a, b := of[from], of[to]; !a.IsZero() && !b.IsZero() {
			at[name] = append(at[name], b.Sub(a))
		}
	}
	var again []string
	for _, c := range clients {
		k := [2]string{roomOf[c.id], c.id}
		of := tr.at[k]
		if n := tr.sessions[k]; n > 1 {
			again = append(again, fmt.Sprintf("%s: %d sessions, closed %v", c.name, n, tr.closed[k]))
		}
		for _, s := range sfuStages {
			if ts := of[s.name]; !ts.IsZero() {
				at[s.name] = append(at[s.name], ts.Sub(t0))
			}
		}
		span("sub_ice", "sub_ice_checking", "sub_ice_connected", of)
		span("sub_dtls", "sub_ice_connected", "sub_connected", of)
		span("pub_ice", "pub_ice_checking", "pub_ice_connected", of)
		span("pub_dtls", "pub_ice_connected", "pub_connected", of)
		if a := audibleOf(c); !a.IsZero() && !of["first_rtp"].IsZero() {
			at["first_rtp_to_audible"] = append(at["first_rtp_to_audible"], a.Sub(of["first_rtp"]))
		}
	}
	for _, s := range sfuStages {
		t.Logf(tag+" sfu stage=%s (from t0) n=%d %s", s.name, len(at[s.name]), summary(at[s.name]))
	}
	for _, d := range []string{"sub_ice", "sub_dtls", "pub_ice", "pub_dtls", "first_rtp_to_audible"} {
		t.Logf(tag+" sfu duration=%s n=%d %s", d, len(at[d]), summary(at[d]))
	}
	t.Logf(tag+" sfu joined their destination more than once: %d %v", len(again), again)
	byPresent := slices.Clone(clients)
	slices.SortFunc(byPresent, func(a, b *benchClient) int { return presentAt[b.id].Compare(presentAt[a.id]) })
	for _, c := range byPresent[:min(5, len(byPresent))] {
		of := tr.at[[2]string{roomOf[c.id], c.id}]
		t.Logf(tag+" sfu slowest present: %s present (joined_at) %s, session %s, subscriber connected %s",
			c.name, ms(presentAt[c.id].Sub(t0)), ms(of["session"].Sub(t0)), ms(of["sub_connected"].Sub(t0)))
	}
}
