// Package service assembles rtk-sidecar from its parts (store, token issuer,
// LiveKit bridge, bundled SFU, HTTP API) according to a configs.Config and
// runs them until the context ends. cmd/sidecar is a thin main around Run;
// end-to-end tests call Run in-process.
//
// Shutdown order: the API drains first (in-flight requests finish), then the
// background workers stop (the webhook dispatcher finishes its attempts in
// flight; undelivered webhooks stay in the outbox for the next start), then
// the bundled SFU stops, then the store closes.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/twitchtv/twirp"
	"golang.org/x/sync/errgroup"

	"rtk-sidecar/breakouts"
	"rtk-sidecar/bridge"
	"rtk-sidecar/chat"
	"rtk-sidecar/configs"
	"rtk-sidecar/eventstream"
	"rtk-sidecar/keyfile"
	"rtk-sidecar/meetings"
	"rtk-sidecar/metrics"
	"rtk-sidecar/polls"
	"rtk-sidecar/ratelimit"
	"rtk-sidecar/redact"
	"rtk-sidecar/sessions"
	"rtk-sidecar/sfu"
	"rtk-sidecar/sidecar"
	"rtk-sidecar/store/sqlstore"
	"rtk-sidecar/tokens"
	"rtk-sidecar/web"
	"rtk-sidecar/webhooks"
)

// Run starts the sidecar and blocks until ctx ends and everything has
// stopped, or until a part fails.
func Run(ctx context.Context, cfg *configs.Config, log *slog.Logger) error {
	log = slog.New(redact.Handler(log.Handler(), redactor(cfg)))
	st, err := sqlstore.Open(ctx, cfg.Store.DSN)
	if err != nil {
		return err
	}
	defer st.Close()
	engine, _ := sqlstore.Engine(cfg.Store.DSN) // Open refused a DSN without one
	log.Info("store open", "engine", engine)

	key, err := keyfile.LoadOrCreate(cfg.Auth.TokenKeyFile)
	if err != nil {
		return err
	}
	issuer := tokens.NewIssuer(key, cfg.Auth.TokenTTL)

	streams := eventstream.NewHub()
	rep, err := newReplica(ctx, cfg, streams, log)
	if err != nil {
		return err
	}
	defer rep.close()
	var m *metrics.Metrics
	var lkOpts []twirp.ClientOption // LiveKit's API clients: timed and counted
	if cfg.HTTP.Metrics {
		m = metrics.New(st, streams.Total)
		lkOpts = append(lkOpts, twirp.WithClientInterceptors(m.LiveKitInterceptor()))
	}

	var embedded *sfu.Server
	lkURL := cfg.LiveKit.URL
	if cfg.LiveKit.Mode == configs.ModeEmbedded {
		embedded = sfu.New(sfuOptions(cfg, log))
		lkURL = embedded.URL()
	}
	publicURL := cfg.LiveKit.PublicURL
	if publicURL == "" {
		publicURL = lkURL
	}
	rooms := lksdk.NewRoomServiceClient(lkURL, cfg.LiveKit.APIKey, cfg.LiveKit.APISecret, lkOpts...)
	lkKeys := bridge.Keys{APIKey: cfg.LiveKit.APIKey, APISecret: cfg.LiveKit.APISecret}
	br := bridge.New(rooms, lkKeys, publicURL)
	svc := meetings.New(st, issuer, br, log)

	keys, err := apiKeys(cfg.Auth.Keys)
	if err != nil {
		return err
	}
	for _, k := range cfg.Auth.Keys {
		if _, err := svc.EnsureApp(ctx, k.AccountID, k.AppID, k.AppName); err != nil {
			return fmt.Errorf("service: default app of account %s: %w", k.AccountID, err)
		}
	}

	// Outgoing webhooks: a persistent outbox, signed with their own key.
	whKey, err := keyfile.LoadOrCreate(cfg.Webhooks.SigningKeyFile)
	if err != nil {
		return err
	}
	signer, err := webhooks.NewSigner(whKey)
	if err != nil {
		return err
	}
	wc := cfg.Webhooks
	whOpts := webhooks.Options{
		Timeout: wc.Timeout, Lease: wc.Lease, MaxAge: wc.MaxAge,
		MinBackoff: wc.MinBackoff, MaxBackoff: wc.MaxBackoff, Workers: wc.Workers, PollInterval: wc.PollInterval,
	}
	moverOpts := []bridge.MoverOption{
		bridge.WithMoveTimeout(cfg.Moves.Timeout), bridge.WithRedeliverAfter(cfg.Moves.RedeliverAfter), bridge.WithStreams(streams),
	}
	if m != nil {
		whOpts.Observer = m
		moverOpts = append(moverOpts, bridge.WithMoveObserver(m))
	}
	whOpts.Owner = "dispatcher-" + rep.node
	outbox := webhooks.NewOutbox(st, signer, whOpts, log.With("component", "webhooks"))

	// Recordings, whose status updates go out through the outbox.
	rec, err := newRecording(cfg, st, rep, lkURL, rooms, outbox, log, lkOpts...)
	if err != nil {
		return err
	}

	// Sessions from LiveKit's webhooks (POST /livekit/webhook) and
	// reconciliation; polls. The intake passes every applied LiveKit event
	// on to the parts that follow LiveKit.
	chatLinks := rec.Links.For("rtk-chat-download", chat.DownloadPath)
	tracker := sessions.NewTracker(st, rooms, outbox, log.With("component", "sessions"), sessions.TrackerOptions{
		ReconcileInterval: cfg.Sessions.ReconcileInterval, EventRetention: cfg.Sessions.EventRetention,
		ChatExport: func(appID, sessionID string, now time.Time) (string, time.Time) {
			return chatLinks.URL(appID, sessionID, chat.FileName, now)
		},
	})

	// Move instructions and the families' events go over the clients' event
	// streams as well as LiveKit. A revealed prepared connection is an
	// arrival LiveKit sends no webhook for: it goes to the intake as the
	// participant_joined LiveKit would have sent (reconciliation repairs a
	// failure to record it).
	moverLog := log.With("component", "mover")
	mover := bridge.NewMover(rooms, bridge.NewAdminRPC(lkURL, lkKeys, nil, lkOpts...), lkKeys, publicURL, moverLog,
		append(moverOpts, bridge.WithRevealed(func(ctx context.Context, room string, p *livekit.ParticipantInfo) {
			if err := tracker.HandleLiveKitEvent(ctx, bridge.RevealedEvent(room, p, time.Now())); err != nil {
				moverLog.Warn("record a revealed participant", "room", room, "identity", p.Identity, "err", err)
			}
		}))...)
	// A move may run on another replica for up to its timeout; one that
	// has not ended by then (its replica died, its instruction was lost) is
	// taken over by the holder of breakouts.MovesLease.
	moveWindow := cfg.Moves.Timeout + 5*time.Second
	bkOpts := []breakouts.Option{breakouts.WithStreams(streams), breakouts.WithLeader(rep.leader), breakouts.WithTakeover(moveWindow)}
	if cfg.Cluster.Replicated() {
		// The move of a replica that died is taken over as soon as its
		// liveness lapses (cluster.lease_ttl), not at the end of the window.
		bkOpts = append(bkOpts, breakouts.WithReplicas(moveWindow), breakouts.WithMoveOwners(rep.owners),
			breakouts.WithLimits(func(name string, perSecond float64, burst int) breakouts.Limiter {
				return ratelimit.NewShared(rep.rdb, "rtk:rate:"+name+":", perSecond, burst, log)
			}))
	}
	var chatOpts []chat.Option
	if rep.rdb != nil { // the rate limits count across the replicas
		chatOpts = append(chatOpts, chat.WithLimits(func(name string, perSecond float64, burst int) chat.Limiter {
			return ratelimit.NewShared(rep.rdb, "rtk:rate:"+name+":", perSecond, burst, log)
		}))
	}
	connected := breakouts.New(st, br, mover, log.With("component", "breakouts"), bkOpts...)

	var pollOpts []polls.ServiceOption
	if rep.owners != nil {
		// The agent of a replica that died is reconnected once its
		// liveness lapses.
		pollOpts = append(pollOpts, polls.WithReplicas(rep.owners, rep.leader, time.Second))
	}
	pollSvc := polls.New(st, rooms, &polls.LiveKitAgent{URL: lkURL, APIKey: lkKeys.APIKey, APISecret: lkKeys.APISecret},
		log.With("component", "polls"), pollOpts...)
	tracker.Subscribe(func(_ context.Context, ev *livekit.WebhookEvent) { mover.Observe(ev) })
	tracker.Subscribe(connected.HandleLiveKitEvent)
	tracker.Subscribe(rec.Service.HandleLiveKitEvent)
	tracker.Subscribe(pollSvc.OnLiveKitEvent)

	checks := map[string]sidecar.Check{
		"store": func(ctx context.Context) error { _, err := st.GetApp(ctx, cfg.Auth.Keys[0].AppID); return err },
		"livekit": func(ctx context.Context) error {
			_, err := rooms.ListRooms(ctx, nil)
			return err
		},
	}
	if rep.check != nil {
		checks["redis"] = rep.check
	}
	deps := sidecar.Deps{Meetings: svc, Keys: keys, Checks: checks, Log: log, Breakouts: connected, Streams: streams,
		Recordings: rec.Service,
		Sessions:   sessions.NewService(st, rooms, tracker, log.With("component", "sessions")), Polls: pollSvc,
		Chat:          chat.New(st, rooms, chatLinks, log.With("component", "chat"), chatOpts...),
		Webhooks:      webhooks.NewService(st, signer, outbox),
		LiveKitEvents: tracker, LiveKitKeys: auth.NewSimpleKeyProvider(lkKeys.APIKey, lkKeys.APISecret),
		Web: web.Files(), CORSOrigins: cfg.HTTP.CORSOrigins}
	if m != nil {
		deps.Metrics = m
	}
	if cfg.HTTP.DevLobby {
		deps.DevLobbyApp = cfg.Auth.Keys[0].AppID
	}
	api := sidecar.New(deps)

	// Background workers: each runs until its context ends.
	workers := map[string]func(context.Context) error{
		"mover":     mover.Run,
		"breakouts": connected.Run,
		"recording": rec.Run,
		"webhooks":  outbox.Run, // webhooks still queued when it stops go out on the next start
		"sessions":  leading(rep.leader, "sessions-reconcile", tracker.Run),
		"polls":     pollSvc.Run,
	}
	if rep.bus != nil {
		workers["cluster bus"] = rep.bus.Run
	}
	if rep.owners != nil {
		workers["cluster liveness"] = rep.owners.Run
	}
	return run(ctx, cfg, log, embedded, api, workers)
}

// run serves until ctx ends, then stops in order: the API drains (requests
// in flight finish), then the background workers stop, then the bundled SFU,
// so that nothing loses LiveKit while it still needs it. The workers start
// once the bundled SFU answers.
func run(ctx context.Context, cfg *configs.Config, log *slog.Logger, embedded *sfu.Server, api *sidecar.Server, workers map[string]func(context.Context) error) error {
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	sfuCtx, stopSFU := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSFU()

	g, gctx := errgroup.WithContext(ctx)
	if embedded != nil {
		g.Go(func() error {
			err := embedded.Run(sfuCtx)
			if err != nil && sfuCtx.Err() == nil {
				return fmt.Errorf("service: bundled SFU: %w", err)
			}
			return nil
		})
	}
	var wg sync.WaitGroup
	for name, w := range workers {
		wg.Add(1)
		g.Go(func() error {
			defer wg.Done()
			if embedded != nil { // the workers talk to LiveKit: wait for it
				select {
				case <-embedded.Ready():
				case <-workCtx.Done():
					return nil
				}
			}
			if err := w(workCtx); err != nil && workCtx.Err() == nil {
				return fmt.Errorf("service: %s: %w", name, err)
			}
			return nil
		})
	}
	if cfg.Debug.PprofAddr != "" {
		g.Go(func() error { return servePprof(gctx, cfg.Debug.PprofAddr, log) })
	}
	g.Go(func() error {
		err := api.Run(gctx, cfg.HTTP.Addr, cfg.HTTP.ShutdownTimeout)
		stopWork()
		wg.Wait()
		stopSFU()
		return err
	})
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// servePprof serves Go's profiler (net/http/pprof) on addr until ctx ends.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("service: debug.pprof_addr: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("profiler serving", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		_ = srv.Close() // profiles in progress are cut short
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("service: profiler: %w", err)
	}
	return nil
}

// redactor removes the configuration's secrets from the log, besides
// everything shaped like a token or a key (package redact).
func redactor(cfg *configs.Config) *redact.Redactor {
	secrets := []string{cfg.LiveKit.APIKey, cfg.LiveKit.APISecret, cfg.Recording.SigningKey}
	for _, k := range cfg.Auth.Keys {
		secrets = append(secrets, k.Secret)
	}
	return redact.New(secrets...)
}

func apiKeys(ks []configs.APIKey) ([]sidecar.APIKey, error) {
	out := make([]sidecar.APIKey, 0, len(ks))
	for _, k := range ks {
		if k.SecretSHA256 != "" {
			ak, err := sidecar.NewAPIKeyFromHash(k.AccountID, k.OrgID, k.AppID, k.SecretSHA256)
			if err != nil {
				return nil, err
			}
			out = append(out, ak)
			continue
		}
		out = append(out, sidecar.NewAPIKey(k.AccountID, k.OrgID, k.AppID, k.Secret))
	}
	return out, nil
}

// webhookURL is where the bundled SFU posts its webhooks: back to the API.
func webhookURL(cfg *configs.Config) string {
	base := cfg.HTTP.PublicURL
	if base == "" {
		base = "http://" + cfg.HTTP.Addr
	}
	u, err := url.JoinPath(base, "/livekit/webhook")
	if err != nil {
		return base + "/livekit/webhook"
	}
	return u
}

func sfuOptions(cfg *configs.Config, log *slog.Logger) sfu.Options {
	e := cfg.LiveKit.Embedded
	return sfu.Options{
		Binary:         e.Binary,
		DataDir:        e.DataDir,
		APIKey:         cfg.LiveKit.APIKey,
		APISecret:      cfg.LiveKit.APISecret,
		Port:           e.Port,
		BindAddresses:  e.BindAddresses,
		TCPPort:        e.TCPPort,
		UDPPort:        e.UDPPort,
		NodeIP:         e.NodeIP,
		Interfaces:     e.Interfaces,
		IPs:            e.IPs,
		WebhookURLs:    []string{webhookURL(cfg)},
		LogLevel:       e.LogLevel,
		LogComponents:  e.LogComponents,
		DebugPort:      e.DebugPort,
		PrometheusPort: e.PrometheusPort,
		Logger:         log,
	}
}
