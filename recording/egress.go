package recording

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/twitchtv/twirp"

	"rtk-sidecar/bridge"
)

// EgressClient is the part of LiveKit's Egress API that EgressBackend uses.
// *lksdk.EgressClient implements it; tests use a fake.
type EgressClient interface {
	StartRoomCompositeEgress(ctx context.Context, req *livekit.RoomCompositeEgressRequest) (*livekit.EgressInfo, error)
	StartTrackEgress(ctx context.Context, req *livekit.TrackEgressRequest) (*livekit.EgressInfo, error)
	StopEgress(ctx context.Context, req *livekit.StopEgressRequest) (*livekit.EgressInfo, error)
}

// ParticipantLister lists a room's participants (and their tracks).
// *lksdk.RoomServiceClient implements it.
type ParticipantLister interface {
	ListParticipants(ctx context.Context, req *livekit.ListParticipantsRequest) (*livekit.ListParticipantsResponse, error)
}

var (
	_ EgressClient      = (*lksdk.EgressClient)(nil)
	_ ParticipantLister = (*lksdk.RoomServiceClient)(nil)
)

// ErrEgressUnavailable is returned, wrapped with the cause, when LiveKit
// Egress cannot be reached or fails. It maps to HTTP 503.
var ErrEgressUnavailable = psrpc.NewErrorf(psrpc.Unavailable, "LiveKit Egress is unavailable")

// EgressConfig configures the EgressBackend.
type EgressConfig struct {
	// AudioOnly records composite recordings as audio only (OGG) rather
	// than MP4 with video (which needs Egress's Chrome).
	AudioOnly bool
	// Layout is the room composite layout; empty is Egress's default (grid).
	Layout string
}

// EgressBackend records through LiveKit Egress: a composite recording is a
// RoomComposite egress writing one file (MP4, or OGG when AudioOnly) into
// the job's directory; a track recording is one Track egress per published
// track of a person (files named {publisher_identity}-{track_source}-{track_id}
// with the extension Egress picks from the codec). Egress must see the
// job's directory at the same path (a shared volume) for the sidecar to
// serve the files; otherwise the files stay where Egress put them.
//
// Its jobs' progress arrives as LiveKit's egress_* webhooks, which the
// service takes through HandleLiveKitEvent. Egress cannot pause a job:
// Pause and Resume return ErrPauseUnsupported, and the service stops the
// job on pause and starts a new one (a new file) on resume.
type EgressBackend struct {
	egress EgressClient
	rooms  ParticipantLister
	cfg    EgressConfig
}

var _ Backend = (*EgressBackend)(nil)

// NewEgress returns an EgressBackend. It starts nothing.
func NewEgress(egress EgressClient, rooms ParticipantLister, cfg EgressConfig) *EgressBackend {
	return &EgressBackend{egress: egress, rooms: rooms, cfg: cfg}
}

// Name returns BackendEgress.
func (b *EgressBackend) Name() string { return BackendEgress }

// Start starts the egress(es) of a job.
func (b *EgressBackend) Start(ctx context.Context, job Job) ([]*livekit.EgressInfo, error) {
	stem := job.RecordingID
	if job.FilePrefix != "" {
		stem = job.FilePrefix + "_" + stem
	}
	if job.Segment > 0 {
		stem = fmt.Sprintf("%s-part%d", stem, job.Segment+1)
	}
	if job.Kind == KindTrack {
		return b.startTracks(ctx, job, stem)
	}
	ft, ext := livekit.EncodedFileType_MP4, ".mp4"
	if b.cfg.AudioOnly {
		ft, ext = livekit.EncodedFileType_OGG, ".ogg"
	}
	req := &livekit.RoomCompositeEgressRequest{
		RoomName:  job.Room,
		Layout:    b.cfg.Layout,
		AudioOnly: b.cfg.AudioOnly,
		FileOutputs: []*livekit.EncodedFileOutput{{
			FileType: ft,
			Filepath: filepath.Join(job.Dir, stem+ext),
		}},
	}
	info, err := b.egress.StartRoomCompositeEgress(ctx, req)
	if err != nil {
		return nil, fromEgress("start room composite egress of "+job.Room, err)
	}
	return []*livekit.EgressInfo{info}, nil
}

// startTracks starts one Track egress per published track of the room's
// people (recorders, agents and hidden participants are left out).
func (b *EgressBackend) startTracks(ctx context.Context, job Job, stem string) ([]*livekit.EgressInfo, error) {
	res, err := b.rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: job.Room})
	if err != nil {
		if bridge.IsNotFound(err) {
			return nil, ErrNoTracks
		}
		return nil, fromEgress("list participants of "+job.Room, err)
	}
	var infos []*livekit.EgressInfo
	for _, p := range res.GetParticipants() {
		if isHidden(p) {
			continue
		}
		for _, t := range p.GetTracks() {
			name := stem + "_{publisher_identity}-{track_source}-{track_id}"
			if job.FilePrefix == "" {
				name = "{publisher_identity}-{track_source}-{track_id}"
			}
			info, err := b.egress.StartTrackEgress(ctx, &livekit.TrackEgressRequest{
				RoomName: job.Room, TrackId: t.GetSid(),
				Output: &livekit.TrackEgressRequest_File{File: &livekit.DirectFileOutput{
					Filepath: filepath.Join(job.Dir, name),
				}},
			})
			if err != nil {
				for _, started := range infos {
					_ = b.Stop(context.WithoutCancel(ctx), started.EgressId)
				}
				return nil, fromEgress("start track egress of "+t.GetSid(), err)
			}
			infos = append(infos, info)
		}
	}
	if len(infos) == 0 {
		return nil, ErrNoTracks
	}
	return infos, nil
}

// Stop stops an egress. One that already ended (or that Egress does not
// know) is not an error.
func (b *EgressBackend) Stop(ctx context.Context, jobID string) error {
	if jobID == "" {
		return nil
	}
	_, err := b.egress.StopEgress(ctx, &livekit.StopEgressRequest{EgressId: jobID})
	if err == nil {
		return nil
	}
	var terr twirp.Error
	if errors.As(err, &terr) {
		switch terr.Code() {
		case twirp.NotFound, twirp.FailedPrecondition: // "egress with status EGRESS_COMPLETE cannot be stopped"
			return nil
		}
	}
	if strings.Contains(err.Error(), "cannot be stopped") {
		return nil
	}
	return fromEgress("stop egress "+jobID, err)
}

// Pause returns ErrPauseUnsupported.
func (b *EgressBackend) Pause(context.Context, string) error { return ErrPauseUnsupported }

// Resume returns ErrPauseUnsupported.
func (b *EgressBackend) Resume(context.Context, string) error { return ErrPauseUnsupported }

// fromEgress turns Egress's twirp errors into ours: a missing room is
// NotFound, a refused request InvalidArgument or FailedPrecondition, and
// anything else ErrEgressUnavailable.
func fromEgress(op string, err error) error {
	var terr twirp.Error
	if errors.As(err, &terr) {
		switch terr.Code() {
		case twirp.NotFound:
			return fmt.Errorf("recording: %s: %w", op, psrpc.NewError(psrpc.NotFound, err))
		case twirp.InvalidArgument:
			return fmt.Errorf("recording: %s: %w", op, psrpc.NewError(psrpc.InvalidArgument, err))
		case twirp.FailedPrecondition, twirp.ResourceExhausted:
			return fmt.Errorf("recording: %s: %w", op, psrpc.NewError(psrpc.FailedPrecondition, err))
		}
	}
	return fmt.Errorf("recording: %s: %w: %v", op, ErrEgressUnavailable, err)
}
