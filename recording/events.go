package recording

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/store"
)

// queue is the Service's unbounded work list: producers never block.
type queue struct {
	mu    sync.Mutex
	items []func(context.Context)
	wake  chan struct{} // capacity 1
}

func (q *queue) push(f func(context.Context)) {
	q.mu.Lock()
	q.items = append(q.items, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) take() []func(context.Context) {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// drainTimeout bounds the work Run still does after its context ends.
const drainTimeout = 10 * time.Second

// Run does the Service's background work until ctx ends: it applies LiveKit
// events and backend reports in arrival order, one at a time, stops Egress
// recordings that reach max_seconds, and at start marks ERRORED the local
// recordings a previous process left running. When ctx ends it finishes the
// work already queued (for at most drainTimeout), so stop the backend
// before the Service: its last reports still get written.
//
// With replicas (Options.Owners), a replica marks ERRORED at start only the
// local recordings of its own previous run and of replicas that are not
// alive, and later, every few seconds, those of replicas that died.
func (s *Service) Run(ctx context.Context) error {
	s.recoverOrphans(ctx)
	tick := time.NewTicker(s.tick)
	defer tick.Stop()
	lastOrphans := time.Now()
	for {
		select {
		case <-ctx.Done():
			s.relaying.stop()
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
			defer cancel()
			for _, f := range s.work.take() {
				f(dctx)
			}
			return nil
		case <-s.work.wake:
			for _, f := range s.work.take() {
				f(ctx)
			}
		case <-tick.C:
			s.enforceLimits(ctx)
			s.expireParked()
			if s.replicated() && time.Since(lastOrphans) >= orphansEvery {
				lastOrphans = time.Now()
				s.failOrphans(ctx)
			}
		}
	}
}

// Report hands a backend's report of a job to Run. It never blocks.
func (s *Service) Report(info *livekit.EgressInfo) {
	if info == nil || info.EgressId == "" {
		return
	}
	s.work.push(func(ctx context.Context) { s.applyReport(ctx, info) })
}

// HiddenIdentityPrefixes mark LiveKit identities that are not people: the
// local recorder (rec-), Egress (EG_) and agents.
var HiddenIdentityPrefixes = []string{"EG_", "rec-", "rtk-agent"}

// isHidden reports whether a participant is a recorder, agent or hidden.
func isHidden(p *livekit.ParticipantInfo) bool {
	if p == nil {
		return true
	}
	for _, prefix := range HiddenIdentityPrefixes {
		if strings.HasPrefix(p.Identity, prefix) {
			return true
		}
	}
	perm := p.GetPermission()
	return perm.GetHidden() || perm.GetRecorder() ||
		p.GetKind() == livekit.ParticipantInfo_EGRESS || p.GetKind() == livekit.ParticipantInfo_AGENT
}

// HandleLiveKitEvent takes a verified LiveKit webhook: egress_* reports
// drive Egress recordings; a person joining a room (participant_joined)
// starts record_on_start and breakout recordings; room_finished stops the
// room's recordings (ALL_PEERS_LEFT). It only queues the work for Run, so it
// returns at once.
func (s *Service) HandleLiveKitEvent(_ context.Context, ev *livekit.WebhookEvent) {
	switch ev.GetEvent() {
	case "egress_started", "egress_updated", "egress_ended":
		s.Report(ev.GetEgressInfo())
	case "participant_joined":
		if room := ev.GetRoom(); room != nil && !isHidden(ev.GetParticipant()) {
			s.work.push(func(ctx context.Context) { s.roomJoined(ctx, room) })
		}
	case "room_finished":
		if room := ev.GetRoom(); room != nil {
			s.work.push(func(ctx context.Context) { s.roomFinished(ctx, room) })
		}
	}
}

// errParked tells applyReport's transaction that the report was parked.
var errParked = errors.New("report of a job not registered yet")

// applyReport applies a backend report (docs/recording.md, Statuses): the job's
// files always; the status only for the recording's current job, moving
// forward only, and not when the report is older than the last one applied.
func (s *Service) applyReport(ctx context.Context, info *livekit.EgressInfo) {
	err := s.st.InTx(ctx, func(q store.Queries) error {
		cur, err := q.GetRecordingByJob(ctx, info.EgressId)
		if errors.Is(err, store.ErrNotFound) {
			return errParked
		}
		if err != nil {
			return err
		}
		next := cur
		outs := decodeOutputs(cur.Outputs).merge(info)
		next.Outputs = outs.encode()
		if info.EgressId != cur.BackendID {
			// An earlier job (the recording was paused by stopping it).
			sums(&next, outs)
			if cur.Status == store.RecordingUploading && cur.BackendID == "" && outs.allEnded() {
				next.Status = store.RecordingUploaded
			}
			return s.save(ctx, q, cur, next)
		}
		if info.UpdatedAt != 0 && info.UpdatedAt < cur.BackendUpdatedAt {
			s.log.Debug("stale recording report dropped", "recording", cur.ID, "job", info.EgressId,
				"status", info.Status.String(), "updated_at", info.UpdatedAt, "stored", cur.BackendUpdatedAt)
			return nil
		}
		next.BackendUpdatedAt = max(cur.BackendUpdatedAt, info.UpdatedAt)
		if next.RoomSID == "" {
			next.RoomSID = info.RoomId
		}
		now := s.now().UTC()
		switch to := statusOfEgress(info.Status); to {
		case store.RecordingRecording:
			if cur.Status == store.RecordingInvoked {
				next.Status = to
				next.StartedAt = nsTime(info.StartedAt, now)
			}
		case store.RecordingUploading, store.RecordingUploaded, store.RecordingErrored:
			if cur.Status != to && !canTransition(cur.Status, to) {
				break
			}
			next.Status = to
			if next.StoppedAt.IsZero() {
				next.StoppedAt = nsTime(info.EndedAt, now)
			}
			if next.StartedAt.IsZero() && info.StartedAt != 0 {
				next.StartedAt = nsTime(info.StartedAt, now)
			}
			if to == store.RecordingErrored {
				next.Error = egressError(info)
				if next.StopReason == "" {
					next.StopReason = ReasonInternalError
				}
			} else if next.StopReason == "" && roomClosed(info.GetDetails()) {
				next.StopReason = ReasonAllPeersLeft
			}
		}
		sums(&next, outs)
		return s.save(ctx, q, cur, next)
	})
	switch {
	case errors.Is(err, errParked):
		s.park(info)
	case err != nil:
		s.log.Error("apply recording report", "job", info.EgressId, "status", info.Status.String(), "err", err)
	}
}

// roomClosed reports whether an egress's details say its room closed.
func roomClosed(details string) bool {
	d := strings.ToLower(details)
	return strings.Contains(d, "room closed") || strings.Contains(d, "room deleted") || strings.Contains(d, "source closed")
}

// nsTime turns unix nanoseconds into a time; 0 gives def.
func nsTime(ns int64, def time.Time) time.Time {
	if ns == 0 {
		return def
	}
	return time.Unix(0, ns).UTC()
}

// park keeps a report of a job that is not registered yet (its Start is
// still writing it), unless it was registered meanwhile.
func (s *Service) park(info *livekit.EgressInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.known[info.EgressId]; ok {
		s.Report(info)
		return
	}
	s.parked[info.EgressId] = append(s.parked[info.EgressId], parkedInfo{info: info, at: s.now()})
}

// registered releases the parked reports of a job now stored.
func (s *Service) registered(jobID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.known[jobID] = s.now()
	for _, p := range s.parked[jobID] {
		s.Report(p.info)
	}
	delete(s.parked, jobID)
}

func (s *Service) expireParked() {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := s.now().Add(-parkFor)
	for id, ps := range s.parked {
		if ps[len(ps)-1].at.Before(cutoff) {
			s.log.Debug("dropped reports of an unknown recording job", "job", id, "reports", len(ps))
			delete(s.parked, id)
		}
	}
	for id, at := range s.known {
		if at.Before(cutoff) {
			delete(s.known, id)
		}
	}
}

// roomMeta is the bridge's LiveKit room metadata (bridge.RoomMetadata).
type roomMeta struct {
	AppID           string `json:"app_id"`
	MeetingID       string `json:"meeting_id"`
	ParentMeetingID string `json:"parent_meeting_id"`
}

// meetingOf returns the meeting of a LiveKit room.
func (s *Service) meetingOf(ctx context.Context, room *livekit.Room) (store.Meeting, error) {
	meta := metaOf(room)
	if meta.AppID != "" {
		return s.st.GetMeeting(ctx, meta.AppID, meta.MeetingID)
	}
	return s.st.GetMeetingByID(ctx, meta.MeetingID)
}

func metaOf(room *livekit.Room) roomMeta {
	var m roomMeta
	_ = json.Unmarshal([]byte(room.GetMetadata()), &m)
	if m.MeetingID == "" {
		m.MeetingID = room.GetName()
	}
	return m
}

// roomJoined starts the recording a room's session calls for when a person
// joins: the meeting's record_on_start, or, for a breakout room (a meeting
// with a parent), the parent being recorded (or record_on_start) — every
// breakout room is recorded separately, under its own meeting, with start
// reason RECORD_ON_START. A room session gets at most one such recording:
// none starts while a composite recording of the meeting is active, or if
// one already recorded this room session (a recording stopped by the API
// stays stopped).
func (s *Service) roomJoined(ctx context.Context, room *livekit.Room) {
	m, err := s.meetingOf(ctx, room)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("record on start: meeting", "room", room.GetName(), "err", err)
		}
		return
	}
	cfg := m.RecordingConfig
	want := m.RecordOnStart
	if !want && m.ParentID != "" {
		parent, err := s.st.GetMeeting(ctx, m.AppID, m.ParentID)
		if err != nil {
			s.log.Error("breakout recording: parent meeting", "meeting", m.ID, "parent", m.ParentID, "err", err)
			return
		}
		if len(cfg) == 0 {
			cfg = parent.RecordingConfig
		}
		want = parent.RecordOnStart
		if !want {
			active, _, err := s.st.ListRecordings(ctx, m.AppID, store.RecordingFilter{MeetingID: parent.ID, Statuses: activeStatuses})
			if err != nil {
				s.log.Error("breakout recording: parent's recordings", "parent", parent.ID, "err", err)
				return
			}
			for _, r := range active {
				want = want || r.Kind == KindComposite
			}
		}
	}
	if !want {
		return
	}
	recent, _, err := s.st.ListRecordings(ctx, m.AppID, store.RecordingFilter{MeetingID: m.ID, Page: store.Page{Limit: 20}})
	if err != nil {
		s.log.Error("record on start: recordings", "meeting", m.ID, "err", err)
		return
	}
	for _, r := range recent {
		if r.Kind == KindComposite && (isActive(r.Status) || room.GetSid() != "" && r.RoomSID == room.GetSid()) {
			return
		}
	}
	v := s.recordingConfig(m, cfg)
	if _, err := s.start(ctx, m.AppID, KindComposite, v, ReasonRecordOnStart, room.GetSid()); err != nil {
		if code, _ := psrpc.GetErrorCode(err); code == psrpc.AlreadyExists {
			return // started by the API meanwhile
		}
		s.log.Error("record on start", "meeting", m.ID, "err", err)
	}
}

// recordingConfig turns a meeting's recording_config into a start request;
// what it cannot use is left out (and logged).
func (s *Service) recordingConfig(m store.Meeting, cfg json.RawMessage) validated {
	var in StartInput
	if len(cfg) > 0 {
		if err := json.Unmarshal(cfg, &in); err != nil {
			s.log.Warn("record on start: unusable recording_config", "meeting", m.ID, "err", err)
			in = StartInput{}
		}
	}
	id := m.ID
	in.MeetingID, in.URL, in.RTMPOutConfig, in.AllowMultipleRecordings = &id, nil, nil, false
	v, err := in.validate()
	if err != nil {
		s.log.Warn("record on start: recording_config ignored", "meeting", m.ID, "err", err)
		v = validated{meetingID: m.ID}
	}
	return v
}

// roomFinished stops the active recordings of a room that closed, with stop
// reason ALL_PEERS_LEFT, and gives that reason to those of its session that
// ended on their own when the recorder was disconnected.
func (s *Service) roomFinished(ctx context.Context, room *livekit.Room) {
	m, err := s.meetingOf(ctx, room)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("room finished: meeting", "room", room.GetName(), "err", err)
		}
		return
	}
	rs, _, err := s.st.ListRecordings(ctx, m.AppID, store.RecordingFilter{MeetingID: m.ID, Page: store.Page{Limit: 50}})
	if err != nil {
		s.log.Error("room finished: recordings", "room", room.GetName(), "err", err)
		return
	}
	for _, r := range rs {
		if r.RoomSID != "" && room.GetSid() != "" && r.RoomSID != room.GetSid() {
			continue // another session of the room
		}
		switch {
		case isActive(r.Status):
			if err := s.stop(ctx, r, ReasonAllPeersLeft); err != nil {
				s.log.Error("room finished: stop recording", "recording", r.ID, "err", err)
			}
		case r.StopReason == "" && r.Status != store.RecordingErrored && r.RoomSID != "":
			err := s.st.InTx(ctx, func(q store.Queries) error {
				cur, err := q.GetRecording(ctx, r.AppID, r.ID)
				if err != nil || cur.StopReason != "" {
					return err
				}
				next := cur
				next.StopReason = ReasonAllPeersLeft
				return s.save(ctx, q, cur, next)
			})
			if err != nil {
				s.log.Error("room finished: stop reason", "recording", r.ID, "err", err)
			}
		}
	}
}

// enforceLimits stops Egress recordings past their max_seconds (the local
// recorder keeps its own limit, without paused time).
func (s *Service) enforceLimits(ctx context.Context) {
	if s.backend.Name() == BackendLocal {
		return
	}
	rs, _, err := s.st.ListRecordings(ctx, "", store.RecordingFilter{Statuses: []string{store.RecordingRecording}})
	if err != nil {
		s.log.Error("recording limits", "err", err)
		return
	}
	now := s.now()
	for _, r := range rs {
		if r.MaxSeconds > 0 && !r.StartedAt.IsZero() && now.Sub(r.StartedAt) > time.Duration(r.MaxSeconds)*time.Second {
			if err := s.stop(ctx, r, ""); err != nil {
				s.log.Error("recording limit: stop", "recording", r.ID, "err", err)
			}
		}
	}
}

// unfinished are the statuses of a recording whose recorder still works.
var unfinished = append(append([]string{}, activeStatuses...), store.RecordingUploading)

// recoverOrphans marks ERRORED the local recordings that a previous
// process left unfinished: their recorder died with it. With replicas,
// those of live replicas other than this one's previous run are left to
// them.
func (s *Service) recoverOrphans(ctx context.Context) {
	if s.backend.Name() != BackendLocal {
		return
	}
	rs, _, err := s.st.ListRecordings(ctx, "", store.RecordingFilter{Statuses: unfinished, InvokedBefore: s.created})
	if err != nil {
		s.log.Error("recover recordings", "err", err)
		return
	}
	for _, r := range rs {
		if r.Backend != BackendLocal {
			continue
		}
		if ok, err := s.isLeftover(ctx, r); err != nil || !ok {
			if err != nil {
				s.log.Error("recover a recording", "recording", r.ID, "err", err)
			}
			continue // another replica records it
		}
		s.log.Warn("recording left unfinished by a previous run", "recording", r.ID, "status", r.Status)
		s.fail(ctx, r, errors.New("the sidecar stopped while this recording was running"))
	}
}
