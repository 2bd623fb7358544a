package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"

	lksdk "github.com/livekit/server-sdk-go/v2"

	"rtk-sidecar/configs"
	"rtk-sidecar/keyfile"
	"rtk-sidecar/recording"
	"rtk-sidecar/store"
	"rtk-sidecar/webhooks"
)

// recordingParts are the assembled recordings: the service the API and the
// LiveKit webhook intake use, and the worker that runs it with its backend.
type recordingParts struct {
	Service *recording.Service
	// Run runs the backend and the service until ctx ends, then stops the
	// backend first (the local recorder closes its files and sends its last
	// reports) and the service after (it writes those reports).
	Run func(ctx context.Context) error
}

// enqueuer is the part of the webhooks outbox recordings use.
// *webhooks.Outbox implements it.
type enqueuer interface {
	Enqueue(ctx context.Context, q store.Queries, appID string, e webhooks.Event) error
}

var _ enqueuer = (*webhooks.Outbox)(nil)

// outboxNotifier sends recording.statusUpdate through the webhooks outbox,
// in the transaction of the status change.
type outboxNotifier struct{ out enqueuer }

func (n outboxNotifier) RecordingChanged(ctx context.Context, q store.Queries, appID string, u recording.StatusUpdate) error {
	body, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("service: recording webhook: %w", err)
	}
	return n.out.Enqueue(ctx, q, appID, webhooks.Event{Name: webhooks.RecordingStatusUpdate, Body: body})
}

// newRecording assembles recordings from the configuration: the backend
// (the local recorder reaches LiveKit at lkURL; Egress is reached there
// too), the download link signer, and the notifier (out, or logging when
// out is nil).
func newRecording(cfg *configs.Config, st store.Store, lkURL string, rooms *lksdk.RoomServiceClient, out enqueuer, log *slog.Logger) (recordingParts, error) {
	rc := cfg.Recording
	log = log.With("component", "recording")
	var backend recording.Backend
	runBackend := func(ctx context.Context) error { <-ctx.Done(); return nil }
	switch rc.Backend {
	case configs.RecordingEgress:
		eg := lksdk.NewEgressClient(lkURL, cfg.LiveKit.APIKey, cfg.LiveKit.APISecret)
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
	var notifier recording.Notifier = recording.LogNotifier{Log: log}
	if out != nil {
		notifier = outboxNotifier{out: out}
	}
	svc := recording.New(st, backend, notifier, recording.Options{
		OutputDir: rc.OutputDir,
		Signer:    recording.NewSigner(key, base, rc.URLExpiry),
		Log:       log,
	})
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
	return recordingParts{Service: svc, Run: run}, nil
}
