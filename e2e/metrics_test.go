//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"rtk-sidecar/presets"
)

// TestMetricsAfterAMove: after a participant moves to a breakout room through the admin API, a
// scrape of the sidecar's /metrics shows the move started, completed and timed, the request
// counted under its route's template (never the raw path), the calls of LiveKit's API timed,
// and the participant's event stream open.
func TestMetricsAfterAMove(t *testing.T) {
	sc := StartSidecar(t)
	t.Cleanup(func() { sc.dropLeftovers(t) })
	parent := sc.CreateMeeting(t, "Metrics")
	fam := &bkFamily{sc: sc, parent: parent, base: sc.AppPath + "/meetings/" + parent + "/connected-meetings"}
	room := fam.admin(t, 201, "POST", "", map[string]any{"version": 0, "count": 1}).CreatedMeetingIDs[0]
	ada := newMember(t, sc, parent, "ada", presets.GroupCallParticipant, false, false)
	fam.members = []*member{ada}
	ada.join(t)

	fam.move(t, ada.id, parent, room)
	eventually(t, 15*time.Second, func() string {
		if r := ada.reports(); len(r) != 1 || r[0].Err != nil {
			return fmt.Sprintf("ada's moves: %+v", r)
		}
		return ""
	})

	moveRoute := `/accounts/:account_id/realtime/kit/:app_id/meetings/:meeting_id/connected-meetings/move`
	eventually(t, 10*time.Second, func() string {
		m := scrape(t, sc.BaseURL+"/metrics")
		for _, want := range []struct {
			series string
			min    float64
		}{
			{`rtk_moves_started_total`, 1},
			{`rtk_moves_completed_total{outcome="arrived"}`, 1},
			{`rtk_move_duration_seconds_count{result="completed"}`, 1},
			{`rtk_http_requests_total{method="POST",route="` + moveRoute + `",status="200"}`, 1},
			{`rtk_http_request_duration_seconds_count{method="POST",route="` + moveRoute + `"}`, 1},
			{`rtk_event_streams_open`, 1},
			{`rtk_webhook_outbox_depth`, 0},
			{`rtk_recordings{status="RECORDING"}`, 0},
		} {
			v, ok := m[want.series]
			if !ok || v < want.min {
				return fmt.Sprintf("%s = %v (present %v), want at least %v", want.series, v, ok, want.min)
			}
		}
		lkCalls := 0.0
		for series, v := range m {
			if regexp.MustCompile(`^rtk_livekit_api_duration_seconds_count\{method="\w+",service="RoomService"\}$`).MatchString(series) {
				lkCalls += v
			}
		}
		if lkCalls == 0 {
			return "no call of LiveKit's RoomService timed"
		}
		if v := m[`rtk_moves_failed_total`]; v != 0 {
			return fmt.Sprintf("rtk_moves_failed_total = %v, want 0", v)
		}
		for series := range m {
			if regexp.MustCompile(`route="[^"]*` + parent).MatchString(series) {
				return "a route label holds a raw path: " + series
			}
		}
		return ""
	})
}

// scrape reads a Prometheus text exposition into series -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d: %s", url, res.StatusCode, b)
	}
	out := map[string]float64{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z_]+(?:\{[^}]*\})?) (\S+)$`).FindAllStringSubmatch(string(b), -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err == nil {
			out[m[1]] = v
		}
	}
	return out
}
