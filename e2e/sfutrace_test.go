//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
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
