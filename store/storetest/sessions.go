package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"rtk-sidecar/store"
)

// session returns a LIVE session of m with every field set.
func session(m store.Meeting, id string, started time.Time) store.Session {
	return store.Session{
		ID:                        id,
		AppID:                     m.AppID,
		MeetingID:                 m.ID,
		Title:                     "Session of " + m.Title,
		RoomSID:                   "RM_" + id,
		Status:                    store.SessionLive,
		LiveParticipants:          2,
		MaxConcurrentParticipants: 3,
		ParticipantTime:           90 * time.Second,
		StartedAt:                 started,
		CreatedAt:                 started,
		UpdatedAt:                 started.Add(time.Second),
	}
}

// stint returns a record of participant pid in the room of session s since joined.
func stint(s store.Session, id, pid string, joined time.Time) store.SessionParticipant {
	return store.SessionParticipant{
		ID:                  id,
		SessionID:           s.ID,
		MeetingID:           s.MeetingID,
		ParticipantID:       pid,
		CustomParticipantID: "cust-" + pid,
		DisplayName:         "Name " + pid,
		PresetName:          "host",
		PeerID:              "PA_" + id,
		JoinedAt:            joined,
		LiveSince:           joined,
		CreatedAt:           joined,
		UpdatedAt:           joined,
	}
}

func testSessions(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateGetUpdate", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()

		live := session(w.m1, "s-1", at(10))
		must(t, s.CreateSession(ctx, live))
		got, err := s.GetSession(ctx, w.app1.ID, live.ID)
		must(t, err)
		same(t, "session", got, live)
		got, err = s.GetLiveSession(ctx, w.m1.ID)
		must(t, err)
		same(t, "live session", got, live)
		got, err = s.GetSessionByRoom(ctx, w.m1.ID, live.RoomSID)
		must(t, err)
		same(t, "session by room", got, live)

		_, err = s.GetSession(ctx, w.app2.ID, live.ID)
		wantErr(t, "GetSession(another app)", err, store.ErrNotFound)
		_, err = s.GetLiveSession(ctx, w.m2.ID)
		wantErr(t, "GetLiveSession(no session)", err, store.ErrNotFound)
		_, err = s.GetSessionByRoom(ctx, w.m1.ID, "RM_other")
		wantErr(t, "GetSessionByRoom(unknown room)", err, store.ErrNotFound)

		// A second LIVE session of the meeting is refused; an ENDED one is not.
		wantErr(t, "CreateSession(second live)", s.CreateSession(ctx, session(w.m1, "s-2", at(11))), store.ErrConflict)
		wantErr(t, "CreateSession(same id)", s.CreateSession(ctx, session(w.m2, live.ID, at(11))), store.ErrConflict)
		wantErr(t, "CreateSession(unknown meeting)", s.CreateSession(ctx, session(store.Meeting{AppID: w.app1.ID, ID: "nope"}, "s-x", at(11))), store.ErrNotFound)
		wantErr(t, "CreateSession(meeting of another app)", s.CreateSession(ctx, session(store.Meeting{AppID: w.app1.ID, ID: w.mOther.ID}, "s-x", at(11))), store.ErrNotFound)

		ended := live
		ended.Status = store.SessionEnded
		ended.EndReason = "ALL_PARTICIPANTS_LEFT"
		ended.EndedAt = at(20)
		ended.LiveParticipants = 0
		ended.ParticipantTime = 5 * time.Minute
		ended.UpdatedAt = at(20)
		ended.Title = "Renamed"
		must(t, s.UpdateSession(ctx, ended))
		got, err = s.GetSession(ctx, w.app1.ID, live.ID)
		must(t, err)
		same(t, "ended session", got, ended)
		_, err = s.GetLiveSession(ctx, w.m1.ID)
		wantErr(t, "GetLiveSession(after end)", err, store.ErrNotFound)

		next := session(w.m1, "s-2", at(21))
		next.RoomSID = live.RoomSID // the same room sid again: the latest session is found
		must(t, s.CreateSession(ctx, next))
		got, err = s.GetSessionByRoom(ctx, w.m1.ID, live.RoomSID)
		must(t, err)
		same(t, "latest session of a room", got, next)
		// Making the old session LIVE again would give the meeting two.
		wantErr(t, "UpdateSession(second live)", s.UpdateSession(ctx, live), store.ErrConflict)
		missing := next
		missing.ID = "nope"
		wantErr(t, "UpdateSession(unknown)", s.UpdateSession(ctx, missing), store.ErrNotFound)

		gotMeeting, err := s.GetMeetingByID(ctx, w.mOther.ID)
		must(t, err)
		same(t, "meeting by id alone", gotMeeting, w.mOther)
		_, err = s.GetMeetingByID(ctx, "nope")
		wantErr(t, "GetMeetingByID(unknown)", err, store.ErrNotFound)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		bo := child(w.m1, "m-bo", "Breakout", at(3))
		must(t, s.CreateMeeting(ctx, bo))

		s1 := session(w.m1, "s-1", at(10)) // ended, big
		s1.Status, s1.EndedAt, s1.ParticipantTime = store.SessionEnded, at(15), 10*time.Minute
		s2 := session(w.m1, "s-2", at(20)) // live
		s2.ParticipantTime = time.Minute
		s3 := session(w.m2, "s-3", at(30)) // live, another meeting
		s3.ParticipantTime = 5 * time.Minute
		s4 := session(bo, "s-4", at(25)) // breakout of s-2
		s4.ParentSessionID = s2.ID
		s4.ParticipantTime = 2 * time.Minute
		sOther := session(w.mOther, "s-other", at(10))
		for _, x := range []store.Session{s1, s2, s3, s4, sOther} {
			must(t, s.CreateSession(ctx, x))
		}
		must(t, s.CreateSessionParticipant(ctx, stint(s2, "sp-1", "pa", at(21))))
		must(t, s.CreateSessionParticipant(ctx, stint(s4, "sp-2", "pb", at(26))))

		top := ""
		parent := s2.ID
		for _, tc := range []struct {
			name  string
			f     store.SessionFilter
			total int
			want  []string
		}{
			{"all, newest first", store.SessionFilter{}, 4, []string{"s-3", "s-4", "s-2", "s-1"}},
			{"ascending", store.SessionFilter{Ascending: true}, 4, []string{"s-1", "s-2", "s-4", "s-3"}},
			{"by minutes consumed", store.SessionFilter{SortBy: store.SortByMinutesConsumed}, 4, []string{"s-1", "s-3", "s-4", "s-2"}},
			{"meeting", store.SessionFilter{MeetingID: w.m1.ID}, 2, []string{"s-2", "s-1"}},
			{"live", store.SessionFilter{Status: store.SessionLive}, 3, []string{"s-3", "s-4", "s-2"}},
			{"ended", store.SessionFilter{Status: store.SessionEnded}, 1, []string{"s-1"}},
			{"started window", store.SessionFilter{StartedAfter: at(20).Truncate(time.Microsecond), StartedBefore: at(25)}, 2, []string{"s-4", "s-2"}},
			{"search title", store.SessionFilter{Search: "SECOND"}, 1, []string{"s-3"}},
			{"search session id", store.SessionFilter{Search: "s-1"}, 1, []string{"s-1"}},
			{"search meeting id", store.SessionFilter{Search: w.m2.ID}, 1, []string{"s-3"}},
			{"participant id", store.SessionFilter{Participant: "pb"}, 1, []string{"s-4"}},
			{"custom participant id", store.SessionFilter{Participant: "cust-pa"}, 1, []string{"s-2"}},
			{"top-level only", store.SessionFilter{ParentSessionID: &top}, 3, []string{"s-3", "s-2", "s-1"}},
			{"breakouts of a session", store.SessionFilter{ParentSessionID: &parent}, 1, []string{"s-4"}},
			{"page", store.SessionFilter{Page: store.Page{Offset: 1, Limit: 2}}, 4, []string{"s-4", "s-2"}},
		} {
			got, total, err := s.ListSessions(ctx, w.app1.ID, tc.f)
			wantList(t, tc.name, got, total, err, tc.total, tc.want...)
		}

		live, err := s.ListLiveSessions(ctx)
		must(t, err)
		if g, want := ids(live), []string{"s-other", "s-2", "s-4", "s-3"}; fmt.Sprint(g) != fmt.Sprint(want) {
			t.Errorf("ListLiveSessions = %v, want %v", g, want)
		}
	})

	t.Run("Participants", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		s1 := session(w.m1, "s-1", at(10))
		s2 := session(w.m2, "s-2", at(10))
		must(t, s.CreateSession(ctx, s1))
		must(t, s.CreateSession(ctx, s2))

		a := stint(s1, "sp-a", "pa", at(11))
		b := stint(s1, "sp-b", "pb", at(12))
		b.DisplayName = "Zoë Ünicode"
		b.LiveSince, b.LeftAt, b.Duration, b.LeaveReason, b.LastLeftPeerID = time.Time{}, at(14), 2*time.Minute, "LEFT", b.PeerID
		c := stint(s1, "sp-c", "pc", at(13))
		c.Duration = 30 * time.Second
		a2 := stint(s2, "sp-a2", "pa", at(15)) // pa is in two rooms at once
		for _, p := range []store.SessionParticipant{a, b, c, a2} {
			must(t, s.CreateSessionParticipant(ctx, p))
		}
		got, err := s.GetSessionParticipant(ctx, s1.ID, "pb")
		must(t, err)
		same(t, "session participant", got, b)
		got, err = s.GetSessionParticipantByID(ctx, s1.ID, "sp-a")
		must(t, err)
		same(t, "session participant by id", got, a)
		if !a.Live() || b.Live() {
			t.Errorf("Live(): a %v, b %v; want true, false", a.Live(), b.Live())
		}
		_, err = s.GetSessionParticipant(ctx, s2.ID, "pb")
		wantErr(t, "GetSessionParticipant(other session)", err, store.ErrNotFound)
		_, err = s.GetSessionParticipantByID(ctx, s2.ID, "sp-a")
		wantErr(t, "GetSessionParticipantByID(other session)", err, store.ErrNotFound)

		dup := stint(s1, "sp-dup", "pa", at(16))
		wantErr(t, "CreateSessionParticipant(same participant)", s.CreateSessionParticipant(ctx, dup), store.ErrConflict)
		wantErr(t, "CreateSessionParticipant(unknown session)", s.CreateSessionParticipant(ctx, stint(store.Session{ID: "nope", MeetingID: w.m1.ID}, "sp-x", "px", at(16))), store.ErrNotFound)

		for _, tc := range []struct {
			name  string
			f     store.SessionParticipantFilter
			total int
			want  []string
		}{
			{"default: joined first", store.SessionParticipantFilter{}, 3, []string{"sp-a", "sp-b", "sp-c"}},
			{"joinedAt descending", store.SessionParticipantFilter{SortBy: store.SortByJoinedAt}, 3, []string{"sp-c", "sp-b", "sp-a"}},
			{"joinedAt ascending", store.SessionParticipantFilter{SortBy: store.SortByJoinedAt, Ascending: true}, 3, []string{"sp-a", "sp-b", "sp-c"}},
			{"duration, longest first", store.SessionParticipantFilter{SortBy: store.SortByDuration}, 3, []string{"sp-b", "sp-c", "sp-a"}},
			{"duration ascending", store.SessionParticipantFilter{SortBy: store.SortByDuration, Ascending: true}, 3, []string{"sp-a", "sp-c", "sp-b"}},
			{"search unicode name", store.SessionParticipantFilter{Search: "zoË"}, 1, []string{"sp-b"}},
			{"search custom id", store.SessionParticipantFilter{Search: "CUST-PC"}, 1, []string{"sp-c"}},
			{"search participant id", store.SessionParticipantFilter{Search: "pa"}, 1, []string{"sp-a"}},
			{"live only", store.SessionParticipantFilter{LiveOnly: true}, 2, []string{"sp-a", "sp-c"}},
			{"page", store.SessionParticipantFilter{Page: store.Page{Offset: 2, Limit: 5}}, 3, []string{"sp-c"}},
		} {
			got, total, err := s.ListSessionParticipants(ctx, s1.ID, tc.f)
			wantList(t, tc.name, got, total, err, tc.total, tc.want...)
		}

		stints, err := s.ListLiveStints(ctx, w.app1.ID, "pa")
		must(t, err)
		if g := ids(stints); fmt.Sprint(g) != "[sp-a sp-a2]" {
			t.Errorf("ListLiveStints(pa) = %v, want [sp-a sp-a2]", g)
		}
		stints, err = s.ListLiveStints(ctx, w.app1.ID, "pb")
		must(t, err)
		if len(stints) != 0 {
			t.Errorf("ListLiveStints(pb, who left) = %v, want none", ids(stints))
		}

		// Leaving and rejoining.
		left := a
		left.LiveSince, left.LeftAt, left.Duration, left.LeaveReason = time.Time{}, at(17), 6*time.Minute, "MOVED"
		left.LastLeftPeerID, left.PeerID = a.PeerID, "PA_new"
		left.DisplayName, left.PresetName, left.CustomParticipantID = "Renamed", "guest", "cust-new"
		left.UpdatedAt = at(17)
		must(t, s.UpdateSessionParticipant(ctx, left))
		got, err = s.GetSessionParticipant(ctx, s1.ID, "pa")
		must(t, err)
		same(t, "updated session participant", got, left)
		stints, err = s.ListLiveStints(ctx, w.app1.ID, "pa")
		must(t, err)
		if g := ids(stints); fmt.Sprint(g) != "[sp-a2]" {
			t.Errorf("ListLiveStints(pa) after leaving = %v, want [sp-a2]", g)
		}
		for _, tc := range []struct {
			since time.Time
			want  string
		}{
			{at(17), "[sp-a sp-a2]"}, // the stint that ended at 17 and the live one
			{at(16), "[sp-a sp-a2]"},
			{at(18), "[sp-a2]"},
		} {
			stints, err = s.ListRecentStints(ctx, w.app1.ID, "pa", tc.since)
			must(t, err)
			if g := ids(stints); fmt.Sprint(g) != tc.want {
				t.Errorf("ListRecentStints(pa, since %v) = %v, want %s", tc.since, g, tc.want)
			}
		}
		stints, err = s.ListRecentStints(ctx, w.app2.ID, "pa", at(0))
		must(t, err)
		if len(stints) != 0 {
			t.Errorf("ListRecentStints(pa) in another app = %v, want none", ids(stints))
		}
		missing := left
		missing.ID = "nope"
		wantErr(t, "UpdateSessionParticipant(unknown)", s.UpdateSessionParticipant(ctx, missing), store.ErrNotFound)
	})

	t.Run("LiveKitEvents", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		must(t, s.MarkLiveKitEvent(ctx, "EV_1", "room_started", "room", at(1)))
		must(t, s.MarkLiveKitEvent(ctx, "EV_2", "participant_joined", "room", at(5)))
		wantErr(t, "MarkLiveKitEvent(again)", s.MarkLiveKitEvent(ctx, "EV_1", "room_started", "room", at(6)), store.ErrConflict)
		n, err := s.PruneLiveKitEvents(ctx, at(3))
		must(t, err)
		if n != 1 {
			t.Errorf("PruneLiveKitEvents = %d, want 1", n)
		}
		must(t, s.MarkLiveKitEvent(ctx, "EV_1", "room_started", "room", at(7))) // forgotten, so new again
		wantErr(t, "MarkLiveKitEvent(kept)", s.MarkLiveKitEvent(ctx, "EV_2", "participant_joined", "room", at(7)), store.ErrConflict)
	})

	t.Run("ConcurrentLiveSession", func(t *testing.T) {
		// Racing openers of a meeting's session: exactly one wins.
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		const n = 8
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs <- s.InTx(ctx, func(q store.Queries) error {
					if _, err := q.GetLiveSession(ctx, w.m1.ID); err == nil {
						return store.ErrConflict
					}
					return q.CreateSession(ctx, session(w.m1, fmt.Sprintf("s-%d", i), at(i)))
				})
			})
		}
		wg.Wait()
		close(errs)
		oneWins(t, "session opener", errs)
	})

	t.Run("Polls", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		s1 := session(w.m1, "s-1", at(10))
		must(t, s.CreateSession(ctx, s1))
		p1 := store.Poll{ID: "poll-1", AppID: w.app1.ID, SessionID: s1.ID, MeetingID: w.m1.ID, Question: "Lunch?",
			Options: []string{"Pizza", "Sushi", "Ünïcode"}, Anonymous: true, HideVotes: true, CreatedBy: "api", CreatedAt: at(11)}
		p2 := store.Poll{ID: "poll-2", AppID: w.app1.ID, SessionID: s1.ID, MeetingID: w.m1.ID, Question: "Again?",
			Options: []string{"Yes", "No"}, CreatedAt: at(12)}
		must(t, s.CreatePoll(ctx, p2))
		must(t, s.CreatePoll(ctx, p1))
		got, err := s.GetPoll(ctx, w.app1.ID, p1.ID)
		must(t, err)
		same(t, "poll", got, p1)
		_, err = s.GetPoll(ctx, w.app2.ID, p1.ID)
		wantErr(t, "GetPoll(another app)", err, store.ErrNotFound)
		wantErr(t, "CreatePoll(same id)", s.CreatePoll(ctx, p1), store.ErrConflict)
		bad := p1
		bad.ID, bad.SessionID = "poll-x", "nope"
		wantErr(t, "CreatePoll(unknown session)", s.CreatePoll(ctx, bad), store.ErrNotFound)
		polls, err := s.ListPolls(ctx, s1.ID)
		must(t, err)
		if g := ids(polls); fmt.Sprint(g) != "[poll-1 poll-2]" {
			t.Errorf("ListPolls = %v, want [poll-1 poll-2]", g)
		}

		// Of the live sessions, only those with polls; an ended one with
		// polls is left out.
		s2 := session(w.m2, "s-2", at(5)) // live, no polls
		ended := session(w.mOther, "s-ended", at(1))
		ended.Status, ended.EndedAt = store.SessionEnded, at(3)
		must(t, s.CreateSession(ctx, s2))
		must(t, s.CreateSession(ctx, ended))
		must(t, s.CreatePoll(ctx, store.Poll{ID: "poll-old", AppID: w.app2.ID, SessionID: ended.ID, MeetingID: w.mOther.ID,
			Question: "Over?", Options: []string{"Yes", "No"}, CreatedAt: at(2)}))
		withPolls, err := s.ListLiveSessionsWithPolls(ctx)
		must(t, err)
		if g := ids(withPolls); fmt.Sprint(g) != "[s-1]" {
			t.Errorf("ListLiveSessionsWithPolls = %v, want [s-1]", g)
		}

		v1 := store.PollVote{PollID: p1.ID, ParticipantID: "pb", Name: "B", Option: 2, CreatedAt: at(13)}
		v2 := store.PollVote{PollID: p1.ID, ParticipantID: "pa", Name: "A", Option: 0, CreatedAt: at(14)}
		must(t, s.CreatePollVote(ctx, v1))
		must(t, s.CreatePollVote(ctx, v2))
		again := v1
		again.Option = 1
		wantErr(t, "CreatePollVote(second vote)", s.CreatePollVote(ctx, again), store.ErrConflict)
		wantErr(t, "CreatePollVote(unknown poll)", s.CreatePollVote(ctx, store.PollVote{PollID: "nope", ParticipantID: "pa", CreatedAt: at(1)}), store.ErrNotFound)
		votes, err := s.ListPollVotes(ctx, p1.ID)
		must(t, err)
		if len(votes) != 2 {
			t.Fatalf("ListPollVotes = %v, want 2 votes", votes)
		}
		same(t, "first vote", votes[0], v1)
		same(t, "second vote", votes[1], v2)
	})

	t.Run("ChatMessages", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		s1 := session(w.m1, "s-1", at(10))
		s2 := session(w.m2, "s-2", at(10))
		must(t, s.CreateSession(ctx, s1))
		must(t, s.CreateSession(ctx, s2))
		msg := func(sess store.Session, id, pid string, created time.Time) store.ChatMessage {
			return store.ChatMessage{ID: id, AppID: sess.AppID, SessionID: sess.ID, MeetingID: sess.MeetingID,
				ParticipantID: pid, Name: "Name of " + pid, Message: "Hello from " + id + " – Ünïcode ✓", CreatedAt: created}
		}
		// Stored out of time order; c-z, c-a and c-m share a time (c-m's
		// extra nanoseconds are lost in the microsecond): they must come in
		// the order they were stored, not in id order.
		late := msg(s1, "c-late", "pa", at(15))
		z := msg(s1, "c-z", "pb", at(12))
		z.ToParticipantID = "pa" // private: it round-trips; the others are to everyone
		other := msg(s2, "o-1", "pa", at(12))
		a := msg(s1, "c-a", "pa", at(12))
		m := msg(s1, "c-m", "pc", at(12).Add(100*time.Nanosecond))
		early := msg(s1, "c-early", "pb", at(11))
		for _, c := range []store.ChatMessage{late, z, other, a, m, early} {
			must(t, s.CreateChatMessage(ctx, c))
		}

		wantErr(t, "CreateChatMessage(same id)", s.CreateChatMessage(ctx, msg(s1, a.ID, "pd", at(20))), store.ErrConflict)
		wantErr(t, "CreateChatMessage(same id, another session)", s.CreateChatMessage(ctx, msg(s2, a.ID, "pd", at(20))), store.ErrConflict)
		bad := msg(s1, "c-x", "pd", at(20))
		bad.SessionID = "nope"
		wantErr(t, "CreateChatMessage(unknown session)", s.CreateChatMessage(ctx, bad), store.ErrNotFound)

		all := []store.ChatMessage{early, z, a, m, late}
		for _, tc := range []struct {
			limit int
			want  []store.ChatMessage
		}{
			{0, all},
			{-1, all},
			{len(all), all},
			{len(all) + 1, all},
			{3, all[2:]}, // the cut falls between messages of the same time
			{2, all[3:]},
			{1, all[4:]},
		} {
			what := fmt.Sprintf("ListChatMessages(limit %d)", tc.limit)
			got, err := s.ListChatMessages(ctx, s1.ID, tc.limit)
			must(t, err)
			if g, w := ids(got), ids(tc.want); !slices.Equal(g, w) {
				t.Errorf("%s = %q, want %q", what, g, w)
				continue
			}
			for i := range got {
				same(t, what+" "+got[i].ID, got[i], tc.want[i])
			}
		}

		got, err := s.ListChatMessages(ctx, s2.ID, 0)
		must(t, err)
		if g := ids(got); !slices.Equal(g, []string{other.ID}) {
			t.Errorf("ListChatMessages(s-2) = %q, want [o-1]", g)
		} else {
			same(t, "chat message of s-2", got[0], other)
		}
		got, err = s.ListChatMessages(ctx, "nope", 0)
		must(t, err)
		if len(got) != 0 {
			t.Errorf("ListChatMessages(unknown session) = %q, want none", ids(got))
		}
	})
}
