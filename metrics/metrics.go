// Package metrics provides the sidecar's Prometheus metrics and serves them
// (GET /metrics). Its collectors are fed through narrow hooks that the
// parts declare themselves (the HTTP edge's request observer, the Mover's
// move observer, the webhook outbox's attempt observer, a Twirp interceptor
// on LiveKit's clients); what the store holds (outbox depth, dead letters,
// families running, recordings by status) and the open event streams are
// read when Prometheus scrapes. It holds no state beyond its collectors.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twitchtv/twirp"

	"rtk-sidecar/store"
)

// Counter is what the metrics read from the store at each scrape
// (store.Store implements it).
type Counter interface {
	CountStatuses(ctx context.Context) (store.Counts, error)
}

// Metrics are the sidecar's collectors in a registry of their own. The zero
// value is not usable; call New. Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	movesStarted   prometheus.Counter
	movesCompleted *prometheus.CounterVec
	movesFailed    prometheus.Counter
	moveDuration   *prometheus.HistogramVec

	webhookDeliveries *prometheus.CounterVec

	liveKitDuration *prometheus.HistogramVec
	liveKitErrors   *prometheus.CounterVec
}

// New returns the sidecar's metrics, with Go's runtime and process
// collectors, and those that read counts at each scrape: st's (through
// Counter, bounded by a 5 s timeout; a failed count fails the scrape) and
// openStreams, the number of open event streams. st and openStreams may be
// nil to leave them out.
func New(st Counter, openStreams func() int) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rtk_http_requests_total",
			Help: "HTTP requests answered, by method, route (the route's template) and status.",
		}, []string{"method", "route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rtk_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route (event streams last as long as they are open).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		movesStarted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rtk_moves_started_total",
			Help: "Moves of a participant between the rooms of a connected meeting, started.",
		}),
		movesCompleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rtk_moves_completed_total",
			Help: "Moves that ended well, by outcome: arrived, already_there, offline (placed at its next join).",
		}, []string{"outcome"}),
		movesFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rtk_moves_failed_total",
			Help: "Moves that failed (the participant did not arrive in time, or LiveKit failed).",
		}),
		moveDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rtk_move_duration_seconds",
			Help:    "Time from the start of a move to its end, by result (completed or failed).",
			Buckets: []float64{.05, .1, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 10, 20},
		}, []string{"result"}),
		webhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rtk_webhook_deliveries_total",
			Help: "Webhook delivery attempts, by result: delivered, retry (to be tried again), refused (not retried), dead.",
		}, []string{"result"}),
		liveKitDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rtk_livekit_api_duration_seconds",
			Help:    "Time of a call of LiveKit's server API, by service and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"service", "method"}),
		liveKitErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rtk_livekit_api_errors_total",
			Help: "Calls of LiveKit's server API that failed, by service, method and Twirp error code.",
		}, []string{"service", "method", "code"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration,
		m.movesStarted, m.movesCompleted, m.movesFailed, m.moveDuration,
		m.webhookDeliveries, m.liveKitDuration, m.liveKitErrors,
	)
	if st != nil {
		m.reg.MustRegister(storeCollector{st})
	}
	if openStreams != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rtk_event_streams_open",
			Help: "Participants' event streams (GET /client/v1/events) open now.",
		}, func() float64 { return float64(openStreams()) }))
	}
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveRequest records an HTTP request answered with status after took.
// route is the route's template (e.g. /client/v1/join), never the raw path,
// so that the metrics stay bounded; "" (no route matched) is counted as
// "unmatched".
func (m *Metrics) ObserveRequest(method, route string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.httpRequests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(method, route).Observe(took.Seconds())
}

// MoveStarted records the start of a move.
func (m *Metrics) MoveStarted() { m.movesStarted.Inc() }

// MoveEnded records the end of a move: outcome is "failed", or how it
// completed ("arrived", "already_there", "offline").
func (m *Metrics) MoveEnded(outcome string, took time.Duration) {
	result := "completed"
	if outcome == "failed" {
		result = "failed"
		m.movesFailed.Inc()
	} else {
		m.movesCompleted.WithLabelValues(outcome).Inc()
	}
	m.moveDuration.WithLabelValues(result).Observe(took.Seconds())
}

// DeliveryAttempted records the result of a webhook delivery attempt:
// "delivered", "retry", "refused" or "dead".
func (m *Metrics) DeliveryAttempted(result string) {
	m.webhookDeliveries.WithLabelValues(result).Inc()
}

// LiveKitInterceptor times the calls of a Twirp client of LiveKit's server
// API and counts their errors; give it to lksdk's clients with
// twirp.WithClientInterceptors.
func (m *Metrics) LiveKitInterceptor() twirp.Interceptor {
	return func(next twirp.Method) twirp.Method {
		return func(ctx context.Context, req any) (any, error) {
			service, _ := twirp.ServiceName(ctx)
			method, _ := twirp.MethodName(ctx)
			start := time.Now()
			resp, err := next(ctx, req)
			m.liveKitDuration.WithLabelValues(service, method).Observe(time.Since(start).Seconds())
			if err != nil {
				code := twirp.Internal
				if terr, ok := err.(twirp.Error); ok {
					code = terr.Code()
				}
				m.liveKitErrors.WithLabelValues(service, method, string(code)).Inc()
			}
			return resp, err
		}
	}
}

// storeCollector reads the store's counts at each scrape.
type storeCollector struct{ st Counter }

var (
	outboxDepthDesc = prometheus.NewDesc("rtk_webhook_outbox_depth",
		"Webhook deliveries waiting to go out (pending), across apps.", nil, nil)
	deadLettersDesc = prometheus.NewDesc("rtk_webhook_dead_letters",
		"Webhook deliveries that are dead (failed after webhooks.max_age), until retried through the API.", nil, nil)
	familiesRunningDesc = prometheus.NewDesc("rtk_families_running",
		"Connected meetings whose breakout rooms run now (running or closing).", nil, nil)
	recordingsDesc = prometheus.NewDesc("rtk_recordings",
		"Recordings in the store, by status (INVOKED, RECORDING, PAUSED, UPLOADING, UPLOADED, ERRORED).", []string{"status"}, nil)
)

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- deadLettersDesc
	ch <- familiesRunningDesc
	ch <- recordingsDesc
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c.st.CountStatuses(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDepthDesc, err)
		return
	}
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	gauge(outboxDepthDesc, n.Deliveries[store.DeliveryPending])
	gauge(deadLettersDesc, n.Deliveries[store.DeliveryDead])
	gauge(familiesRunningDesc, n.Families[store.FamilyRunning]+n.Families[store.FamilyClosing])
	for _, s := range []string{store.RecordingInvoked, store.RecordingRecording, store.RecordingPaused,
		store.RecordingUploading, store.RecordingUploaded, store.RecordingErrored} {
		gauge(recordingsDesc, n.Recordings[s], s)
	}
}
