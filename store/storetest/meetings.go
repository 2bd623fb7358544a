package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"rtk-sidecar/store"
)

func testMeetings(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		must(t, s.CreateApp(ctx, app("app-1", "acct-1", t0)))

		full := meeting("app-1", "m-full", "Full", t0)
		must(t, s.CreateMeeting(ctx, full))
		got, err := s.GetMeeting(ctx, "app-1", full.ID)
		must(t, err)
		same(t, "meeting with every field set", got, full)

		// Zero values, and nil JSON documents, come back as they went in.
		bare := store.Meeting{ID: "m-bare", AppID: "app-1", Status: store.MeetingInactive, CreatedAt: at(1), UpdatedAt: at(1)}
		must(t, s.CreateMeeting(ctx, bare))
		got, err = s.GetMeeting(ctx, "app-1", bare.ID)
		must(t, err)
		same(t, "meeting with zero fields", got, bare)

		// Empty but non-nil documents are values too.
		empty := meeting("app-1", "m-empty-json", "Empty JSON", at(2))
		empty.AIConfig = json.RawMessage(`{}`)
		empty.RecordingConfig = json.RawMessage(`null`)
		must(t, s.CreateMeeting(ctx, empty))
		got, err = s.GetMeeting(ctx, "app-1", empty.ID)
		must(t, err)
		same(t, "meeting with {} and null documents", got, empty)

		breakout := child(full, "m-child", "Breakout", at(3))
		must(t, s.CreateMeeting(ctx, breakout))
		got, err = s.GetMeeting(ctx, "app-1", breakout.ID)
		must(t, err)
		same(t, "breakout meeting", got, breakout)
	})

	t.Run("GetNotFound", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		_, err := s.GetMeeting(t.Context(), w.app1.ID, "nope")
		wantErr(t, "GetMeeting(unknown id)", err, store.ErrNotFound)
		_, err = s.GetMeeting(t.Context(), w.app2.ID, w.m1.ID)
		wantErr(t, "GetMeeting(another app's meeting)", err, store.ErrNotFound)
		_, err = s.GetMeeting(t.Context(), "no-app", w.m1.ID)
		wantErr(t, "GetMeeting(unknown app)", err, store.ErrNotFound)
	})

	t.Run("CreateConflict", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		dup := meeting(w.app1.ID, w.m1.ID, "Duplicate", at(9))
		wantErr(t, "CreateMeeting(same id)", s.CreateMeeting(ctx, dup), store.ErrConflict)
		dup.AppID = w.app2.ID
		wantErr(t, "CreateMeeting(same id, other app)", s.CreateMeeting(ctx, dup), store.ErrConflict)
		got, err := s.GetMeeting(ctx, w.app1.ID, w.m1.ID)
		must(t, err)
		same(t, "meeting after rejected duplicate", got, w.m1)
	})

	t.Run("CreateNotFound", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		for _, tc := range []struct {
			name string
			m    store.Meeting
		}{
			{"unknown app", meeting("no-app", "m-new", "New", at(9))},
			{"unknown parent", child(store.Meeting{AppID: w.app1.ID, ID: "no-meeting"}, "m-new", "New", at(9))},
			{"parent in another app", child(store.Meeting{AppID: w.app1.ID, ID: w.mOther.ID}, "m-new", "New", at(9))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, "CreateMeeting", s.CreateMeeting(ctx, tc.m), store.ErrNotFound)
				_, err := s.GetMeeting(ctx, tc.m.AppID, tc.m.ID)
				wantErr(t, "GetMeeting after rejected create", err, store.ErrNotFound)
			})
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		breakout := child(w.m1, "m-child", "Breakout", at(5))
		must(t, s.CreateMeeting(ctx, breakout))

		// Every mutable field changes; documents go from set to nil.
		upd := store.Meeting{
			ID:                         breakout.ID,
			AppID:                      breakout.AppID,
			ParentID:                   breakout.ParentID,
			Title:                      "Renamed",
			Status:                     store.MeetingInactive,
			SessionKeepAliveTimeInSecs: 300,
			PreferredRegion:            "us-east-1",
			CreatedAt:                  at(100), // ignored: CreatedAt is kept
			UpdatedAt:                  at(50).Add(time.Nanosecond),
		}
		must(t, s.UpdateMeeting(ctx, upd))
		got, err := s.GetMeeting(ctx, upd.AppID, upd.ID)
		must(t, err)
		want := upd
		want.CreatedAt = breakout.CreatedAt
		same(t, "updated meeting", got, want)

		// And from nil back to set.
		upd2 := meeting(upd.AppID, upd.ID, "Renamed again", at(100))
		upd2.ParentID = upd.ParentID
		upd2.UpdatedAt = at(60)
		must(t, s.UpdateMeeting(ctx, upd2))
		got, err = s.GetMeeting(ctx, upd.AppID, upd.ID)
		must(t, err)
		want = upd2
		want.CreatedAt = breakout.CreatedAt
		same(t, "meeting updated again", got, want)

		// Search follows the new title.
		list, total, err := s.ListMeetings(ctx, w.app1.ID, store.MeetingFilter{Search: "again"})
		wantList(t, "search for the new title", list, total, err, 1, upd.ID)
		list, total, err = s.ListMeetings(ctx, w.app1.ID, store.MeetingFilter{Search: "breakout"})
		wantList(t, "search for the old title", list, total, err, 0)
	})

	t.Run("UpdateParentKept", func(t *testing.T) {
		// ParentID is an id: Update leaves it alone.
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		upd := w.m2
		upd.ParentID = w.m1.ID
		upd.Title = "Moved?"
		must(t, s.UpdateMeeting(ctx, upd))
		got, err := s.GetMeeting(ctx, w.app1.ID, w.m2.ID)
		must(t, err)
		if got.ParentID != "" || got.Title != "Moved?" {
			t.Errorf("after update: ParentID %q, Title %q; want \"\", \"Moved?\"", got.ParentID, got.Title)
		}
	})

	t.Run("UpdateNotFound", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		unknown := meeting(w.app1.ID, "nope", "Nope", at(9))
		wantErr(t, "UpdateMeeting(unknown)", s.UpdateMeeting(ctx, unknown), store.ErrNotFound)
		wrongApp := w.m1
		wrongApp.AppID = w.app2.ID
		wrongApp.Title = "Hijacked"
		wantErr(t, "UpdateMeeting(another app's meeting)", s.UpdateMeeting(ctx, wrongApp), store.ErrNotFound)
		got, err := s.GetMeeting(ctx, w.app1.ID, w.m1.ID)
		must(t, err)
		same(t, "meeting after rejected update", got, w.m1)
	})
}

func testListMeetings(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	must(t, s.CreateApp(ctx, app("app-1", "acct-1", t0)))
	must(t, s.CreateApp(ctx, app("app-2", "acct-1", t0)))
	weekly := meeting("app-1", "m1", "Weekly Sync", at(1))
	all := []store.Meeting{
		weekly,
		meeting("app-1", "m2", "Design review", at(2)),
		meeting("app-1", "m3", "100% Done", at(3)),
		meeting("app-1", "m4", "weekly_sync notes", at(4)),
		child(weekly, "m5", "Breakout A", at(5)),
		child(weekly, "m6", "Breakout B", at(6)),
		meeting("app-1", "m7", "Réunion ÉTÉ", at(7)),
		meeting("app-2", "m8", "Weekly Sync", at(8)),
	}
	// Stored out of order (parents first): the list orders by CreatedAt.
	for _, i := range []int{2, 0, 6, 3, 1, 4, 5, 7} {
		must(t, s.CreateMeeting(ctx, all[i]))
	}
	created := func(n int) time.Time { return at(n).Truncate(time.Microsecond) } // as stored
	parent := func(id string) *string { return &id }

	for _, tc := range []struct {
		name   string
		app    string
		filter store.MeetingFilter
		total  int
		want   []string
	}{
		{"all, newest first", "app-1", store.MeetingFilter{}, 7, []string{"m7", "m6", "m5", "m4", "m3", "m2", "m1"}},
		{"page", "app-1", store.MeetingFilter{Page: store.Page{Offset: 1, Limit: 2}}, 7, []string{"m6", "m5"}},
		{"offset only", "app-1", store.MeetingFilter{Page: store.Page{Offset: 5}}, 7, []string{"m2", "m1"}},
		{"past the end", "app-1", store.MeetingFilter{Page: store.Page{Offset: 10, Limit: 5}}, 7, nil},
		{"other app", "app-2", store.MeetingFilter{}, 1, []string{"m8"}},
		{"unknown app", "app-9", store.MeetingFilter{}, 0, nil},

		{"search ignores case", "app-1", store.MeetingFilter{Search: "WEEKLY"}, 2, []string{"m4", "m1"}},
		{"search substring", "app-1", store.MeetingFilter{Search: "eView"}, 1, []string{"m2"}},
		{"search non-ASCII case", "app-1", store.MeetingFilter{Search: "été"}, 1, []string{"m7"}},
		{"search % is literal", "app-1", store.MeetingFilter{Search: "%"}, 1, []string{"m3"}},
		{"search with %", "app-1", store.MeetingFilter{Search: "0% d"}, 1, []string{"m3"}},
		{"search _ is literal", "app-1", store.MeetingFilter{Search: "y_s"}, 1, []string{"m4"}},
		{"search backslash", "app-1", store.MeetingFilter{Search: `\`}, 0, nil},
		{"search no match", "app-1", store.MeetingFilter{Search: "standup"}, 0, nil},
		{"search, paged", "app-1", store.MeetingFilter{Search: "weekly", Page: store.Page{Limit: 1}}, 2, []string{"m4"}},

		{"created after, inclusive", "app-1", store.MeetingFilter{CreatedAfter: created(5)}, 3, []string{"m7", "m6", "m5"}},
		{"created before, inclusive", "app-1", store.MeetingFilter{CreatedBefore: created(2)}, 2, []string{"m2", "m1"}},
		{"created between", "app-1", store.MeetingFilter{CreatedAfter: created(2), CreatedBefore: created(4)}, 3, []string{"m4", "m3", "m2"}},
		{"created between, other zone", "app-1", store.MeetingFilter{
			CreatedAfter: created(2).In(time.FixedZone("PST", -8*3600)), CreatedBefore: created(4).In(time.FixedZone("IST", 19800)),
		}, 3, []string{"m4", "m3", "m2"}},
		{"created between, empty", "app-1", store.MeetingFilter{CreatedAfter: created(2).Add(time.Microsecond), CreatedBefore: created(3).Add(-time.Microsecond)}, 0, nil},

		{"top-level only", "app-1", store.MeetingFilter{ParentID: parent("")}, 5, []string{"m7", "m4", "m3", "m2", "m1"}},
		{"children of a meeting", "app-1", store.MeetingFilter{ParentID: parent("m1")}, 2, []string{"m6", "m5"}},
		{"children of a meeting without any", "app-1", store.MeetingFilter{ParentID: parent("m2")}, 0, nil},
		{"children of another app's meeting", "app-2", store.MeetingFilter{ParentID: parent("m1")}, 0, nil},

		{"every condition", "app-1", store.MeetingFilter{
			Search: "breakout", ParentID: parent("m1"), CreatedAfter: created(5), CreatedBefore: created(9),
			Page: store.Page{Offset: 1, Limit: 5},
		}, 2, []string{"m5"}},
		{"top-level, searched, paged", "app-1", store.MeetingFilter{Search: "sync", ParentID: parent(""), Page: store.Page{Limit: 1}}, 2, []string{"m4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := s.ListMeetings(ctx, tc.app, tc.filter)
			wantList(t, "ListMeetings", got, total, err, tc.total, tc.want...)
		})
	}

	t.Run("records", func(t *testing.T) {
		got, _, err := s.ListMeetings(ctx, "app-1", store.MeetingFilter{ParentID: parent("m1")})
		must(t, err)
		if len(got) == 2 {
			same(t, "listed meeting", got[0], all[5])
			same(t, "listed meeting", got[1], all[4])
		}
	})
}
