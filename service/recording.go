package service

import (
	"context"
	"log/slog"
	"path/filepath"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/twitchtv/twirp"

	"rtk-sidecar/configs"
	"rtk-sidecar/keyfile"
	"rtk-sidecar/recording"
	"rtk-sidecar/store"
	"rtk-sidecar/webhooks"
)

// recordingsTopic is the bus topic of the actions on local recordings
// forwarded to the replica that runs them, and of their answers.
const recordingsTopic = "recordings"

// recordingParts are the assembled recordings: the service the API and the
// LiveKit webhook intake use, and the worker that runs it with its backend.
type recordingParts struct {
	Service *recording.Service
	// Links signs the download links of recordings; For gives the signer
	// of other downloads with the same key (chat exports).
	Links *recording.Signer
	// Run runs the backend and the service until ctx ends, then stops the
	// backend first (the local recorder closes its files and sends its last
	// reports) and the service after (it writes those reports).
	Run func(ctx context.Context) error
}

// newRecording assembles recordings from the configuration: the backend
// (the local recorder reaches LiveKit at lkURL; Egress is reached there
// too) and the download link signer. Status updates go to out, the
// webhooks outbox, in the transaction of each status change.
//
// With replicas, each local recording is recorded as run by the replica
// that started it (rep.owners), and a stop, pause or resume of it that
// reaches another replica goes to that one over the bus.
func newRecording(cfg *configs.Config, st store.Store, rep *replica, lkURL string, rooms *lksdk.RoomServiceClient, out *webhooks.Outbox, log *slog.Logger, lkOpts ...twirp.ClientOption) (recordingParts, error) {
	rc := cfg.Recording
	log = log.With("component", "recording")
	var backend recording.Backend
	runBackend := func(ctx context.Context) error { <-ctx.Done(); return nil }
	switch rc.Backend {
	case configs.RecordingEgress:
		eg := lksdk.NewEgressClient(lkURL, cfg.LiveKit.APIKey, cfg.LiveKit.APISecret, lkOpts...)
		backend = recording.NewEgress(eg, rooms, recording.EgressConfig{AudioOnly: rc.EgressAudioOnly})
	default:
		local := recording.NewLocal(recording.LocalConfig{URL: lkURL, APIKey: cfg.LiveKit.APIKey, APISecret: cfg.LiveKit.APISecret}, log)
		backend, runBackend = local, local.Run
	}

	key := []byte(rc.SigningKey)
	if len(key) == 0 {
		// Links must survive restarts: keep the key with the recordings.
		k, err := keyfile.LoadOrCreateSecret(filepath.Join(rc.OutputDir, ".url-signing-key"), 32)
		if err != nil {
			return recordingParts{}, err
		}
		key = k
	}
	base := rc.PublicURL
	if base == "" {
		base = cfg.HTTP.PublicURL
	}
	if base == "" {
		base = "http://" + cfg.HTTP.Addr
	}
	links := recording.NewSigner(key, base, rc.URLExpiry)
	opts := recording.Options{
		OutputDir: rc.OutputDir,
		Signer:    links,
		Log:       log,
	}
	if rep.owners != nil && rep.bus != nil {
		opts.Owners, opts.Relay = rep.owners, rep.bus.Topic(recordingsTopic)
	}
	svc := recording.New(st, backend, out, opts)
	if opts.Owners != nil {
		rep.bus.Handle(recordingsTopic, svc.Receive)
	}
	run := func(ctx context.Context) error {
		svcCtx, stopSvc := context.WithCancel(context.WithoutCancel(ctx))
		defer stopSvc()
		done := make(chan error, 1)
		go func() { done <- svc.Run(svcCtx) }()
		berr := runBackend(ctx)
		stopSvc()
		if err := <-done; err != nil {
			return err
		}
		return berr
	}
	return recordingParts{Service: svc, Links: links, Run: run}, nil
}
