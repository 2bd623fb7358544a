package sidecar_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"rtk-sidecar/metrics"
	"rtk-sidecar/sidecar"
)

// TestMetricsByRouteTemplate: with metrics, every request is counted under its route's template
// (the meeting id never becomes a label), an unknown path as "unmatched", and GET /metrics
// serves them without credentials.
func TestMetricsByRouteTemplate(t *testing.T) {
	m := metrics.New(nil, nil)
	e := newEnv(t, func(d *sidecar.Deps) { d.Metrics = m })
	id := e.must(201, "POST", basePathF+"/meetings", map[string]any{"title": "Counted"}).data()["id"].(string)
	e.must(200, "GET", basePathF+"/meetings/"+id, nil)
	e.must(200, "GET", "/v2/meetings/"+id, nil)
	wantError(t, e.do("GET", basePathF+"/meetings/nope", "", nil), 404)
	wantError(t, e.do("GET", "/no/such/path", "", nil), 404)

	res, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	body := string(b)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d: %s", res.StatusCode, body)
	}
	for _, l := range []string{
		`rtk_http_requests_total{method="POST",route="/accounts/:account_id/realtime/kit/:app_id/meetings",status="201"} 1`,
		`rtk_http_requests_total{method="GET",route="/accounts/:account_id/realtime/kit/:app_id/meetings/:meeting_id",status="200"} 1`,
		`rtk_http_requests_total{method="GET",route="/accounts/:account_id/realtime/kit/:app_id/meetings/:meeting_id",status="404"} 1`,
		`rtk_http_requests_total{method="GET",route="/v2/meetings/:meeting_id",status="200"} 1`,
		`rtk_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
	} {
		if !strings.Contains(body, "\n"+l+"\n") {
			t.Errorf("/metrics lacks %q", l)
		}
	}
	if strings.Contains(body, id) {
		t.Errorf("a meeting id is in the metrics")
	}

	// Without metrics there is no such endpoint.
	wantError(t, newEnv(t).do("GET", "/metrics", "-", nil), 404)
}
