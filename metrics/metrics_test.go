package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/twitchtv/twirp"

	"rtk-sidecar/metrics"
	"rtk-sidecar/store"
)

type counts struct {
	c   store.Counts
	err error
}

func (f counts) CountStatuses(context.Context) (store.Counts, error) { return f.c, f.err }

// scrape returns the exposition of m and its status.
func scrape(t *testing.T, m *metrics.Metrics) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Code, rec.Body.String()
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, "\n"+l+"\n") {
			t.Errorf("the scrape lacks the line %q", l)
		}
	}
}

func TestScrapeShowsWhatWasObserved(t *testing.T) {
	m := metrics.New(counts{c: store.Counts{
		Deliveries: map[string]int{store.DeliveryPending: 7, store.DeliveryDead: 2, store.DeliveryDelivered: 40},
		Recordings: map[string]int{store.RecordingRecording: 3, store.RecordingUploaded: 5},
		Families:   map[string]int{store.FamilyRunning: 2, store.FamilyClosing: 1, store.FamilyIdle: 9},
	}}, func() int { return 4 })
	m.ObserveRequest("POST", "/client/v1/join", 200, 30*time.Millisecond)
	m.ObserveRequest("POST", "/client/v1/join", 401, time.Millisecond)
	m.ObserveRequest("GET", "", 404, time.Millisecond)
	m.MoveStarted()
	m.MoveStarted()
	m.MoveStarted()
	m.MoveEnded("arrived", 300*time.Millisecond)
	m.MoveEnded("offline", time.Millisecond)
	m.MoveEnded("failed", 10*time.Second)
	for _, r := range []string{"delivered", "delivered", "retry", "dead"} {
		m.DeliveryAttempted(r)
	}

	code, body := scrape(t, m)
	if code != http.StatusOK {
		t.Fatalf("scrape = %d:\n%s", code, body)
	}
	wantLines(t, body,
		`rtk_http_requests_total{method="POST",route="/client/v1/join",status="200"} 1`,
		`rtk_http_requests_total{method="POST",route="/client/v1/join",status="401"} 1`,
		`rtk_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`rtk_http_request_duration_seconds_count{method="POST",route="/client/v1/join"} 2`,
		`rtk_moves_started_total 3`,
		`rtk_moves_completed_total{outcome="arrived"} 1`,
		`rtk_moves_completed_total{outcome="offline"} 1`,
		`rtk_moves_failed_total 1`,
		`rtk_move_duration_seconds_count{result="completed"} 2`,
		`rtk_move_duration_seconds_bucket{result="completed",le="0.3"} 2`,
		`rtk_move_duration_seconds_count{result="failed"} 1`,
		`rtk_webhook_deliveries_total{result="delivered"} 2`,
		`rtk_webhook_deliveries_total{result="retry"} 1`,
		`rtk_webhook_deliveries_total{result="dead"} 1`,
		`rtk_webhook_outbox_depth 7`,
		`rtk_webhook_dead_letters 2`,
		`rtk_families_running 3`,
		`rtk_recordings{status="RECORDING"} 3`,
		`rtk_recordings{status="UPLOADED"} 5`,
		`rtk_recordings{status="ERRORED"} 0`,
		`rtk_event_streams_open 4`,
	)
	if !strings.Contains(body, "go_goroutines ") || !strings.Contains(body, "process_cpu_seconds_total ") {
		t.Errorf("the scrape lacks Go's runtime and process metrics")
	}
}

func TestScrapeFailsWhenTheStoreDoes(t *testing.T) {
	m := metrics.New(counts{err: errors.New("database is down")}, nil)
	if code, body := scrape(t, m); code != http.StatusInternalServerError || !strings.Contains(body, "database is down") {
		t.Fatalf("scrape with a failing store = %d:\n%s\nwant 500 naming the error", code, body)
	}
}

// TestLiveKitInterceptor: a Twirp client of LiveKit's API (lksdk's RoomServiceClient) with the
// interceptor has every call timed by service and method and every error counted by its code.
func TestLiveKitInterceptor(t *testing.T) {
	lk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.HasSuffix(r.URL.Path, "/ListRooms") {
			w.Header().Set("Content-Type", "application/protobuf")
			return // an empty ListRoomsResponse
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"code":"not_found","msg":"room not found"}`)
	}))
	defer lk.Close()
	m := metrics.New(nil, nil)
	rooms := lksdk.NewRoomServiceClient(lk.URL, "key", "secret-0123456789-0123456789-0123",
		twirp.WithClientInterceptors(m.LiveKitInterceptor()))
	if _, err := rooms.ListRooms(t.Context(), &livekit.ListRoomsRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rooms.DeleteRoom(t.Context(), &livekit.DeleteRoomRequest{Room: "x"}); err == nil {
		t.Fatal("DeleteRoom succeeded against a server that answers 404")
	}
	_, body := scrape(t, m)
	wantLines(t, body,
		`rtk_livekit_api_duration_seconds_count{method="ListRooms",service="RoomService"} 1`,
		`rtk_livekit_api_duration_seconds_count{method="DeleteRoom",service="RoomService"} 1`,
		`rtk_livekit_api_errors_total{code="not_found",method="DeleteRoom",service="RoomService"} 1`,
	)
	if strings.Contains(body, `rtk_livekit_api_errors_total{code="not_found",method="ListRooms"`) {
		t.Errorf("a successful call counted as an error")
	}
}

// TestGrafanaDashboard: every metric the dashboard in docs/ queries is one the sidecar exports.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	// A scrape with every series present: a value for each hook and count.
	m := metrics.New(counts{}, func() int { return 0 })
	m.ObserveRequest("GET", "/x", 200, time.Millisecond)
	m.MoveStarted()
	m.MoveEnded("arrived", time.Millisecond)
	m.MoveEnded("failed", time.Millisecond)
	m.DeliveryAttempted("delivered")
	m.LiveKitInterceptor()(func(context.Context, any) (any, error) { return nil, twirp.NewError(twirp.Unavailable, "x") })(context.Background(), nil)
	_, body := scrape(t, m)
	queried := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, name := range regexp.MustCompile(`rtk_[a-z_]+`).FindAllString(target.Expr, -1) {
				queried++
				if !strings.Contains(body, "\n"+name+"{") && !strings.Contains(body, "\n"+name+" ") {
					t.Errorf("panel %q queries %s, which the sidecar does not export", p.Title, name)
				}
			}
		}
	}
	if len(dash.Panels) < 8 || queried < 12 {
		t.Errorf("the dashboard has %d panels querying %d metrics", len(dash.Panels), queried)
	}
}
