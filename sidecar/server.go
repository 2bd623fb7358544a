// Package sidecar is the HTTP edge of rtk-sidecar: RealtimeKit's REST API
// (Cloudflare paths /accounts/{account}/realtime/kit/{app}/..., the same under
// /client/v4, and Dyte paths /v2/...), the participant client API
// (/client/v1/...), and health endpoints. Handlers are thin: they bind the
// request, call the domain, and render the result; every error becomes
// RealtimeKit's error envelope in one place (writeError). The package owns no
// state and no rules of its own.
package sidecar

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/livekit/protocol/auth"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/chat"
	"rtk-sidecar/eventstream"
	"rtk-sidecar/meetings"
	"rtk-sidecar/polls"
	"rtk-sidecar/recording"
	"rtk-sidecar/sessions"
	"rtk-sidecar/webhooks"
)

// Check reports whether a dependency is ready; nil means ready.
type Check func(ctx context.Context) error

// Deps are what the API serves. Meetings, Keys and Log are required; the
// endpoints of a service left nil are not served (404).
type Deps struct {
	Meetings *meetings.Service
	// Keys are the API keys accepted by the REST API.
	Keys []APIKey
	// Checks are run by the readiness endpoint, by name.
	Checks map[string]Check
	Log    *slog.Logger

	// Breakouts serves connected meetings.
	Breakouts *breakouts.Service

	// Recordings serves /recordings and recordings' download links.
	Recordings *recording.Service

	// Sessions serves /sessions and the active-session moderation; Polls
	// serves active-session polls; Webhooks serves /webhooks and
	// /.well-known/webhooks.json.
	Sessions *sessions.Service
	Polls    *polls.Service
	// Chat serves the participants' chat (/client/v1/chat), the sessions'
	// chat exports and their download links.
	Chat     *chat.Service
	Webhooks *webhooks.Service
	// LiveKitEvents applies the verified events of POST /livekit/webhook,
	// whose signatures are checked with LiveKitKeys.
	LiveKitEvents LiveKitEventHandler
	LiveKitKeys   auth.KeyProvider

	// Streams serves the participants' event streams (GET /client/v1/events).
	Streams *eventstream.Hub

	// Metrics, when set, hears of every request and serves GET /metrics.
	Metrics Metrics

	// Web holds the browser files (web.Files): its sdk folder is served at
	// SDKPath.
	Web fs.FS
	// CORSOrigins are the origins whose pages may call the participant API
	// and load the SDK ("*": any); none when empty (cors.go).
	CORSOrigins []string
	// DevLobbyApp, when set, is the app in which the development lobby
	// (POST DevLobbyPath, unauthenticated) creates meetings; empty: no lobby.
	DevLobbyApp string
}

// Metrics records the requests (metrics.Metrics implements it).
type Metrics interface {
	// ObserveRequest records a request to route (the route's template, ""
	// when none matched) answered with status after took.
	ObserveRequest(method, route string, status int, took time.Duration)
	// Handler serves the metrics.
	Handler() http.Handler
}

// Server serves the REST API.
type Server struct {
	Deps
	meetings *meetings.Service
	keys     keyring
	log      *slog.Logger
	engine   *gin.Engine

	stopping     chan struct{} // closed when Serve begins to shut down: long-lived streams end
	stoppingOnce sync.Once

	assets assets // the files of Web served so far
}

// New returns a Server for deps. It starts nothing.
func New(deps Deps) *Server {
	s := &Server{Deps: deps, meetings: deps.Meetings, keys: deps.Keys, log: deps.Log, stopping: make(chan struct{})}
	s.engine = s.routes()
	return s
}

// Handler returns the HTTP handler of the API.
func (s *Server) Handler() http.Handler { return s.engine }

func (s *Server) routes() *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(s.requestID, s.accessLog, s.recover, s.cors, s.checkBody)
	r.NoRoute(func(c *gin.Context) {
		abortWith(c, http.StatusNotFound, "no such endpoint: "+c.Request.Method+" "+c.Request.URL.Path)
	})
	r.NoMethod(func(c *gin.Context) {
		abortWith(c, http.StatusMethodNotAllowed, "method "+c.Request.Method+" is not allowed on "+c.Request.URL.Path)
	})

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/openapi.json", s.openAPI)
	if s.Metrics != nil {
		r.GET("/metrics", gin.WrapH(s.Metrics.Handler()))
	}
	s.downloadRoutes(r)
	s.chatDownloadRoutes(r)
	s.wellKnownRoutes(r)
	s.liveKitRoutes(r)
	s.sdkRoutes(r)
	s.appPageRoutes(r)

	for _, prefix := range []string{"/accounts/:account_id/realtime/kit", "/client/v4/accounts/:account_id/realtime/kit"} {
		acc := r.Group(prefix, s.requireKey, s.requireAccount)
		acc.GET("/apps", handle(s.listApps))
		acc.POST("/apps", handle(s.createApp))
		s.appRoutes(acc.Group("/:app_id", s.pathApp))
	}
	s.appRoutes(r.Group("/v2", s.requireKey, s.defaultApp))

	client := r.Group("/client/v1")
	client.POST("/join", handle(s.join))
	if s.Streams != nil {
		client.GET("/events", handle(s.events))
	}
	s.clientBreakoutRoutes(client)
	s.clientChatRoutes(client)
	s.clientPollRoutes(client)
	return r
}

// appRoutes registers the endpoints that live under an app.
func (s *Server) appRoutes(g *gin.RouterGroup) {
	g.POST("/meetings", handle(s.createMeeting))
	g.GET("/meetings", handle(s.listMeetings))
	g.GET("/meetings/:meeting_id", handle(s.getMeeting))
	g.PATCH("/meetings/:meeting_id", handle(s.updateMeeting))
	g.PUT("/meetings/:meeting_id", handle(s.replaceMeeting))

	g.POST("/meetings/:meeting_id/participants", handle(s.addParticipant))
	g.GET("/meetings/:meeting_id/participants", handle(s.listParticipants))
	g.GET("/meetings/:meeting_id/participants/:participant_id", handle(s.getParticipant))
	g.PATCH("/meetings/:meeting_id/participants/:participant_id", handle(s.editParticipant))
	g.DELETE("/meetings/:meeting_id/participants/:participant_id", handle(s.deleteParticipant))
	g.POST("/meetings/:meeting_id/participants/:participant_id/token", handle(s.refreshToken))

	g.POST("/presets", handle(s.createPreset))
	g.GET("/presets", handle(s.listPresets))
	g.GET("/presets/:preset_id", handle(s.getPreset))
	g.PATCH("/presets/:preset_id", handle(s.updatePreset))
	g.DELETE("/presets/:preset_id", handle(s.deletePreset))

	s.breakoutRoutes(g)
	s.recordingRoutes(g)
	s.sessionRoutes(g)
	s.chatRoutes(g)
	s.webhookRoutes(g)
}

const requestIDKey = "rtk.request_id"

// requestID gives every request an id (the caller's X-Request-Id if it sent
// a sane one), echoed in the response header and in error bodies.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if id == "" || len(id) > 64 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(requestIDKey, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

// accessLog writes one line per request, with the error if there was one,
// and hands the request to the metrics.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	took := time.Since(start)
	if s.Metrics != nil {
		s.Metrics.ObserveRequest(c.Request.Method, c.FullPath(), c.Writer.Status(), took)
	}
	attrs := []any{
		"method", c.Request.Method, "path", c.Request.URL.Path, "status", c.Writer.Status(),
		"duration", took, "request_id", c.GetString(requestIDKey),
	}
	level := slog.LevelInfo
	if last := c.Errors.Last(); last != nil {
		attrs = append(attrs, "err", last.Err)
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		}
	}
	if c.Request.URL.Path == "/healthz" || c.Request.URL.Path == "/readyz" || c.Request.URL.Path == "/metrics" {
		level = slog.LevelDebug
	}
	s.log.Log(c.Request.Context(), level, "http request", attrs...)
}

// recover turns a panic in a handler into a 500 envelope and a log line.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			writeError(c, fmt.Errorf("sidecar: panic: %v", v))
		}
	}()
	c.Next()
}

// healthz is liveness: the process serves HTTP.
func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"success": true, "data": gin.H{"status": "ok"}})
}

// readyz is readiness: every dependency answers.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	status := http.StatusOK
	results := gin.H{}
	for name, check := range s.Checks {
		if err := check(ctx); err != nil {
			status = http.StatusServiceUnavailable
			results[name] = err.Error()
			continue
		}
		results[name] = "ok"
	}
	c.JSON(status, gin.H{"success": status == http.StatusOK, "data": gin.H{"checks": results}})
}

// Run serves the API on addr until ctx ends, then drains in-flight requests
// for at most shutdownTimeout. It listens before serving, so a busy port
// fails at once.
func (s *Server) Run(ctx context.Context, addr string, shutdownTimeout time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sidecar: listen %s: %w", addr, err)
	}
	return s.Serve(ctx, ln, shutdownTimeout)
}

// Serve is Run on an existing listener, which it closes.
func (s *Server) Serve(ctx context.Context, ln net.Listener, shutdownTimeout time.Duration) error {
	srv := &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// Shutdown waits for handlers, and an event stream never ends by itself.
	srv.RegisterOnShutdown(func() { s.stoppingOnce.Do(func() { close(s.stopping) }) })
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("API listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("sidecar: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("sidecar: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sidecar: serve: %w", err)
	}
	s.log.Info("API stopped")
	return nil
}
