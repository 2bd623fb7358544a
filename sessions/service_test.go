package sessions_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/livekit/psrpc"

	"rtk-sidecar/presets"
	"rtk-sidecar/sessions"
	"rtk-sidecar/store"
	"rtk-sidecar/webhooks"
)

func wantCode(t *testing.T, what string, err error, code psrpc.ErrorCode) {
	t.Helper()
	var perr psrpc.Error
	if !errors.As(err, &perr) || perr.Code() != code {
		t.Errorf("%s: err = %v, want %s", what, err, code)
	}
}

func TestKick(t *testing.T) {
	for _, mode := range []string{"apply", "drop"} {
		// apply: LiveKit's participant_left reaches the intake during the
		// kick; drop: it is lost, and the kick records the leave itself.
		t.Run("webhooks "+mode, func(t *testing.T) {
			e := newEnv(t)
			m := e.meeting("Kick", "")
			ada := e.participant(m, "ada", presets.GroupCallHost)
			bob := e.participant(m, "bob", presets.GroupCallHost)
			cid := e.participant(m, "cid", presets.GroupCallHost)
			e.join(m, ada)
			e.join(m, bob)
			e.join(m, cid)
			e.events()

			_, err := e.api.Kick(e.ctx, appID, m.ID, sessions.Targets{ParticipantIDs: []string{ada.ID, "nope"}})
			wantCode(t, "Kick(someone not there)", err, psrpc.NotFound)
			_, err = e.api.Kick(e.ctx, appID, m.ID, sessions.Targets{})
			wantCode(t, "Kick(nobody)", err, psrpc.InvalidArgument)
			_, err = e.api.Kick(e.ctx, appID, "no-meeting", sessions.Targets{ParticipantIDs: []string{ada.ID}})
			wantCode(t, "Kick(unknown meeting)", err, psrpc.NotFound)
			if ids := e.sfu.Participant(m.ID, ada.ID); ids == nil {
				t.Fatal("a failed kick removed someone")
			}

			e.setMode(mode)
			kicked, err := e.api.Kick(e.ctx, appID, m.ID, sessions.Targets{ParticipantIDs: []string{ada.ID}, CustomParticipantIDs: []string{"bob", "ada"}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range kicked {
				got = append(got, p.ID)
			}
			if !slices.Equal(got, []string{ada.ID, bob.ID}) || kicked[0].Name != "Name ada" {
				t.Errorf("kicked %v, want [ada bob]", kicked)
			}
			if e.sfu.Participant(m.ID, ada.ID) != nil || e.sfu.Participant(m.ID, bob.ID) != nil || e.sfu.Participant(m.ID, cid.ID) == nil {
				t.Error("LiveKit still has the kicked, or lost the others")
			}
			evs := e.wantEvents(webhooks.MeetingParticipantLeft+":"+ada.ID, webhooks.MeetingParticipantLeft+":"+bob.ID)
			for _, ev := range evs {
				if ev.participant()["leaveReason"] != sessions.LeaveKicked {
					t.Errorf("%s: reason %v, want KICKED", ev, ev.participant()["leaveReason"])
				}
			}
			s := e.live(m)
			if r := e.stint(s, ada); r.Live() || r.LeaveReason != sessions.LeaveKicked {
				t.Errorf("ada = %+v", r)
			}
			if s.LiveParticipants != 1 {
				t.Errorf("live participants %d, want 1", s.LiveParticipants)
			}
			if r := e.stint(s, cid); !r.Live() || r.LeaveReason != "" {
				t.Errorf("cid = %+v", r)
			}
		})
	}
}

func TestKickAll(t *testing.T) {
	for _, mode := range []string{"apply", "drop"} {
		t.Run("webhooks "+mode, func(t *testing.T) {
			e := newEnv(t)
			m := e.meeting("Everyone out", "")
			ada := e.participant(m, "ada", presets.GroupCallHost)
			bob := e.participant(m, "bob", presets.GroupCallHost)
			e.join(m, ada)
			e.join(m, bob)
			e.sfu.Join(m.ID, hiddenInfo("EG_egress", nil))
			s := e.live(m)
			e.events()

			e.setMode(mode)
			n, err := e.api.KickAll(e.ctx, appID, m.ID)
			if err != nil || n != 2 {
				t.Fatalf("KickAll = %d, %v; want 2", n, err)
			}
			if e.sfu.Room(m.ID) != nil {
				t.Error("the room still exists")
			}
			evs := e.events()
			if len(evs) != 3 || evs[2].Name != webhooks.MeetingEnded || evs[2].Body["reason"] != webhooks.ReasonHostEndedMeeting {
				t.Fatalf("events %v, want two participantLeft and meeting.ended(HOST_ENDED_MEETING)", evs)
			}
			for _, ev := range evs[:2] {
				if ev.Name != webhooks.MeetingParticipantLeft || ev.participant()["leaveReason"] != sessions.LeaveKicked {
					t.Errorf("%s: %v", ev, ev.participant())
				}
			}
			got, err := e.st.GetSession(e.ctx, appID, s.ID)
			if err != nil || got.Status != store.SessionEnded || got.EndReason != webhooks.ReasonHostEndedMeeting {
				t.Errorf("session = %+v, %v", got, err)
			}
			_, err = e.api.KickAll(e.ctx, appID, m.ID)
			wantCode(t, "KickAll(no active session)", err, psrpc.NotFound)
			_, err = e.api.Active(e.ctx, appID, m.ID)
			wantCode(t, "Active(after kick-all)", err, psrpc.NotFound)
		})
	}

	t.Run("LiveKit down", func(t *testing.T) {
		e := newEnv(t)
		m := e.meeting("Outage", "")
		ada := e.participant(m, "ada", presets.GroupCallHost)
		e.join(m, ada)
		e.events()
		e.sfu.SetErr(errors.New("connection refused"))
		_, err := e.api.KickAll(e.ctx, appID, m.ID)
		wantCode(t, "KickAll(LiveKit down)", err, psrpc.Unavailable)
		e.sfu.SetErr(nil)
		s := e.live(m)
		if s.EndReason != "" || e.stint(s, ada).LeaveReason != "" {
			t.Errorf("a failed kick-all left its marks: session %q, ada %q", s.EndReason, e.stint(s, ada).LeaveReason)
		}
		// The room then finishes on its own: not the host's doing.
		e.sfu.Finish(m.ID)
		evs := e.events()
		if last := evs[len(evs)-1]; last.Body["reason"] != webhooks.ReasonAllParticipantsLeft || evs[0].participant()["leaveReason"] == sessions.LeaveKicked {
			t.Errorf("events after a failed kick-all: %v", evs)
		}
	})
}

func micMuted(p *livekit.ParticipantInfo) (mic, cam bool) {
	for _, tr := range p.GetTracks() {
		switch tr.GetSource() {
		case livekit.TrackSource_MICROPHONE:
			mic = tr.GetMuted()
		case livekit.TrackSource_CAMERA:
			cam = tr.GetMuted()
		}
	}
	return mic, cam
}

func TestMute(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("Quiet please", "")
	ada := e.participant(m, "ada", presets.GroupCallHost)
	bob := e.participant(m, "bob", presets.GroupCallHost)
	for _, p := range []string{ada.ID, bob.ID} {
		who := ada
		if p == bob.ID {
			who = bob
		}
		e.join(m, who)
		e.sfu.Publish(m.ID, p, livekit.TrackSource_MICROPHONE)
		e.sfu.Publish(m.ID, p, livekit.TrackSource_CAMERA)
	}
	muted, err := e.api.Mute(e.ctx, appID, m.ID, sessions.Targets{CustomParticipantIDs: []string{"ada"}})
	if err != nil || len(muted) != 1 || muted[0].ID != ada.ID {
		t.Fatalf("Mute = %v, %v", muted, err)
	}
	if mic, cam := micMuted(e.sfu.Participant(m.ID, ada.ID)); !mic || cam {
		t.Errorf("ada: mic muted %v, camera muted %v; want true, false", mic, cam)
	}
	if mic, _ := micMuted(e.sfu.Participant(m.ID, bob.ID)); mic {
		t.Error("bob was muted too")
	}
	_, err = e.api.Mute(e.ctx, appID, m.ID, sessions.Targets{CustomParticipantIDs: []string{"nobody"}})
	wantCode(t, "Mute(unknown)", err, psrpc.NotFound)
}

func hasMic(p *livekit.ParticipantInfo) bool {
	perm := p.GetPermission()
	return perm.GetCanPublish() && (len(perm.GetCanPublishSources()) == 0 ||
		slices.Contains(perm.GetCanPublishSources(), livekit.TrackSource_MICROPHONE))
}

func TestMuteAll(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("Lecture", "")
	host := e.participant(m, "host", presets.GroupCallHost)
	viewer := e.participant(m, "viewer", presets.WebinarViewer) // audio only on request
	e.join(m, host)
	e.join(m, viewer)
	e.sfu.Join(m.ID, hiddenInfo("EG_egress", nil))
	e.sfu.Publish(m.ID, host.ID, livekit.TrackSource_MICROPHONE)
	e.sfu.Publish(m.ID, host.ID, livekit.TrackSource_CAMERA)

	n, err := e.api.MuteAll(e.ctx, appID, m.ID, false)
	if err != nil || n != 2 {
		t.Fatalf("MuteAll = %d, %v; want 2", n, err)
	}
	h := e.sfu.Participant(m.ID, host.ID)
	if mic, cam := micMuted(h); !mic || cam {
		t.Errorf("host: mic muted %v, camera muted %v", mic, cam)
	}
	if hasMic(h) || !slices.Contains(h.GetPermission().GetCanPublishSources(), livekit.TrackSource_CAMERA) || !h.GetPermission().GetCanPublish() {
		t.Errorf("host's permission after mute-all without unmute: %v", h.GetPermission())
	}
	if v := e.sfu.Participant(m.ID, viewer.ID); hasMic(v) || v.GetPermission().GetCanPublish() {
		t.Errorf("viewer's permission: %v", v.GetPermission())
	}

	// allow_unmute gives the microphone back to those whose preset has it.
	if _, err := e.api.MuteAll(e.ctx, appID, m.ID, true); err != nil {
		t.Fatal(err)
	}
	if h := e.sfu.Participant(m.ID, host.ID); !hasMic(h) {
		t.Errorf("host's permission after mute-all with unmute: %v", h.GetPermission())
	}
	if v := e.sfu.Participant(m.ID, viewer.ID); hasMic(v) {
		t.Errorf("viewer got a microphone its preset does not allow: %v", v.GetPermission())
	}

	other := e.meeting("Idle", "")
	_, err = e.api.MuteAll(e.ctx, appID, other.ID, false)
	wantCode(t, "MuteAll(no active session)", err, psrpc.NotFound)
}

func TestReads(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("Reads", "")
	ada := e.participant(m, "ada", presets.GroupCallHost)
	bob := e.participant(m, "bob", presets.GroupCallHost)
	e.join(m, ada)
	e.join(m, bob)
	time.Sleep(20 * time.Millisecond) // bob's stint lasts, by LiveKit's clock: minutes are consumed
	e.sfu.Leave(m.ID, bob.ID)
	s := e.live(m)

	v, err := e.api.Active(e.ctx, appID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != s.ID || v.LiveParticipants != 1 || v.MaxConcurrentParticipants != 2 || v.MinutesConsumed <= 0 || v.BreakoutRooms == nil {
		t.Errorf("active session = %+v", v)
	}
	before := v.MinutesConsumed
	time.Sleep(10 * time.Millisecond) // time passes while ada is in the room: her minutes grow
	if v, _ := e.api.Session(e.ctx, appID, s.ID, false); v.MinutesConsumed <= before {
		t.Errorf("minutes consumed %v did not grow from %v while ada is in the room", v.MinutesConsumed, before)
	}
	list, total, err := e.api.List(e.ctx, appID, store.SessionFilter{MeetingID: m.ID, Status: store.SessionLive})
	if err != nil || total != 1 || len(list) != 1 || list[0].ID != s.ID {
		t.Errorf("List = %v (%d), %v", list, total, err)
	}
	_, _, err = e.api.List(e.ctx, appID, store.SessionFilter{Status: "NOPE"})
	wantCode(t, "List(bad status)", err, psrpc.InvalidArgument)
	_, err = e.api.Session(e.ctx, "other-app", s.ID, false)
	wantCode(t, "Session(another app)", err, psrpc.NotFound)

	ps, total, err := e.api.Participants(e.ctx, appID, s.ID, store.SessionParticipantFilter{SortBy: store.SortByDuration})
	if err != nil || total != 2 {
		t.Fatalf("Participants = %v (%d), %v", ps, total, err)
	}
	for _, p := range ps {
		if p.Total <= 0 || (p.ParticipantID == bob.ID && p.Total != p.Duration) {
			t.Errorf("participant %s: total %v, duration %v", p.ParticipantID, p.Total, p.Duration)
		}
	}
	one, err := e.api.Participant(e.ctx, appID, s.ID, bob.ID)
	if err != nil || one.ParticipantID != bob.ID {
		t.Errorf("Participant(by participant id) = %+v, %v", one, err)
	}
	if byRow, err := e.api.Participant(e.ctx, appID, s.ID, one.ID); err != nil || byRow.ParticipantID != bob.ID {
		t.Errorf("Participant(by its own id) = %+v, %v", byRow, err)
	}
	_, err = e.api.Participant(e.ctx, appID, s.ID, "nope")
	wantCode(t, "Participant(unknown)", err, psrpc.NotFound)
}
