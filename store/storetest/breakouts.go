package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"rtk-sidecar/store"
)

func testBreakouts(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("FamilyVersions", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		_, err := s.GetFamily(ctx, w.app1.ID, w.m1.ID)
		wantErr(t, "get unsaved family", err, store.ErrNotFound)

		f := store.Family{ParentID: w.m1.ID, AppID: w.app1.ID, Version: 1, Status: store.FamilyIdle, UpdatedAt: at(5)}
		must(t, s.SaveFamily(ctx, f))
		got, err := s.GetFamily(ctx, w.app1.ID, w.m1.ID)
		must(t, err)
		if got != (store.Family{ParentID: w.m1.ID, AppID: w.app1.ID, Version: 1, Status: store.FamilyIdle, UpdatedAt: at(5).Truncate(time.Microsecond).UTC()}) {
			t.Fatalf("got %+v", got)
		}
		wantErr(t, "create twice", s.SaveFamily(ctx, f), store.ErrConflict)

		f.Version, f.Status, f.ClosingAt = 2, store.FamilyClosing, at(9)
		must(t, s.SaveFamily(ctx, f))
		got, _ = s.GetFamily(ctx, w.app1.ID, w.m1.ID)
		if got.Version != 2 || got.Status != store.FamilyClosing || !got.ClosingAt.Equal(at(9).Truncate(time.Microsecond)) || got.ClosingAt.Location() != time.UTC {
			t.Fatalf("after update: %+v", got)
		}
		f.Status = store.FamilyRunning
		wantErr(t, "stale version", s.SaveFamily(ctx, f), store.ErrConflict)
		stale := f
		stale.Version = 5
		wantErr(t, "version from the future", s.SaveFamily(ctx, stale), store.ErrConflict)
		if got, _ := s.GetFamily(ctx, w.app1.ID, w.m1.ID); got.Status != store.FamilyClosing {
			t.Fatalf("a refused save changed the family: %+v", got)
		}

		_, err = s.GetFamily(ctx, w.app2.ID, w.m1.ID)
		wantErr(t, "family under another app", err, store.ErrNotFound)
		wantErr(t, "family of an unknown meeting",
			s.SaveFamily(ctx, store.Family{ParentID: "nope", AppID: w.app1.ID, Version: 1, Status: store.FamilyIdle, UpdatedAt: at(1)}), store.ErrNotFound)
		wantErr(t, "family of a meeting of another app",
			s.SaveFamily(ctx, store.Family{ParentID: w.mOther.ID, AppID: w.app1.ID, Version: 1, Status: store.FamilyIdle, UpdatedAt: at(1)}), store.ErrNotFound)
	})

	t.Run("ListClosingFamilies", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		must(t, s.SaveFamily(ctx, store.Family{ParentID: w.m1.ID, AppID: w.app1.ID, Version: 1, Status: store.FamilyClosing, ClosingAt: at(10), UpdatedAt: at(1)}))
		must(t, s.SaveFamily(ctx, store.Family{ParentID: w.m2.ID, AppID: w.app1.ID, Version: 1, Status: store.FamilyClosing, ClosingAt: at(20), UpdatedAt: at(1)}))
		must(t, s.SaveFamily(ctx, store.Family{ParentID: w.mOther.ID, AppID: w.app2.ID, Version: 1, Status: store.FamilyRunning, UpdatedAt: at(1)}))
		for _, tc := range []struct {
			before time.Time
			want   []string
		}{{at(5), nil}, {at(10), []string{w.m1.ID}}, {at(30), []string{w.m1.ID, w.m2.ID}}} {
			fs, err := s.ListClosingFamilies(ctx, tc.before)
			must(t, err)
			var ids []string
			for _, f := range fs {
				ids = append(ids, f.ParentID)
			}
			if len(ids) != len(tc.want) || (len(ids) > 0 && (ids[0] != tc.want[0] || ids[len(ids)-1] != tc.want[len(tc.want)-1])) {
				t.Errorf("closing before %v = %v, want %v", tc.before, ids, tc.want)
			}
		}
	})

	t.Run("ListTimedFamilies", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		timed := store.Family{ParentID: w.m1.ID, AppID: w.app1.ID, Version: 1, Status: store.FamilyRunning,
			EndsAt: at(20), WarnAt: at(10), AssignLate: true, UpdatedAt: at(1)}
		must(t, s.SaveFamily(ctx, timed))
		must(t, s.SaveFamily(ctx, store.Family{ParentID: w.m2.ID, AppID: w.app1.ID, Version: 1, Status: store.FamilyRunning, UpdatedAt: at(1)}))
		must(t, s.SaveFamily(ctx, store.Family{ParentID: w.mOther.ID, AppID: w.app2.ID, Version: 1, Status: store.FamilyClosing,
			ClosingAt: at(20), EndsAt: at(20), WarnAt: at(5), UpdatedAt: at(1)}))
		got, err := s.GetFamily(ctx, w.app1.ID, w.m1.ID)
		must(t, err)
		if !got.EndsAt.Equal(at(20).Truncate(time.Microsecond)) || !got.WarnAt.Equal(at(10).Truncate(time.Microsecond)) || !got.ClosingAt.IsZero() || !got.AssignLate {
			t.Errorf("timed family = %+v", got)
		}
		for _, tc := range []struct {
			before time.Time
			want   []string
		}{{at(9), nil}, {at(10), []string{w.m1.ID}}, {at(30), []string{w.m1.ID}}} {
			fs, err := s.ListTimedFamilies(ctx, tc.before)
			must(t, err)
			var ids []string
			for _, f := range fs {
				ids = append(ids, f.ParentID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("timed before %v = %v, want %v (running with a timer only)", tc.before, ids, tc.want)
			}
		}
		// The timer is cleared by saving the family without it.
		timed.Version, timed.EndsAt, timed.WarnAt, timed.AssignLate, timed.UpdatedAt = 2, time.Time{}, time.Time{}, false, at(2)
		must(t, s.SaveFamily(ctx, timed))
		if got, err := s.GetFamily(ctx, w.app1.ID, w.m1.ID); err != nil || !got.EndsAt.IsZero() || !got.WarnAt.IsZero() || got.AssignLate {
			t.Errorf("family after its timer was cleared = %+v, %v", got, err)
		}
	})

	t.Run("ListActiveFamilies", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		// m1 runs (changed long ago), mOther (another app) closes, m2 was
		// closed (idle) at 5.
		must(t, s.SaveFamily(ctx, store.Family{ParentID: w.m1.ID, AppID: w.app1.ID, Version: 1, Status: store.FamilyRunning, UpdatedAt: at(1)}))
		must(t, s.SaveFamily(ctx, store.Family{ParentID: w.mOther.ID, AppID: w.app2.ID, Version: 1, Status: store.FamilyClosing,
			ClosingAt: at(20), UpdatedAt: at(2)}))
		must(t, s.SaveFamily(ctx, store.Family{ParentID: w.m2.ID, AppID: w.app1.ID, Version: 1, Status: store.FamilyIdle, UpdatedAt: at(5)}))
		for _, tc := range []struct {
			since time.Time
			want  []string
		}{
			{at(0), []string{w.m1.ID, w.mOther.ID, w.m2.ID}},
			{at(5), []string{w.m1.ID, w.mOther.ID, w.m2.ID}},
			{at(6), []string{w.m1.ID, w.mOther.ID}},
		} {
			fs, err := s.ListActiveFamilies(ctx, tc.since)
			must(t, err)
			var ids []string
			for _, f := range fs {
				ids = append(ids, f.ParentID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("active since %v = %v, want %v (running or closing, or changed since; oldest change first)", tc.since, ids, tc.want)
			}
		}
		// Stopped: the family leaves the list once its last change is old.
		must(t, s.SaveFamily(ctx, store.Family{ParentID: w.m1.ID, AppID: w.app1.ID, Version: 2, Status: store.FamilyIdle, UpdatedAt: at(7)}))
		fs, err := s.ListActiveFamilies(ctx, at(8))
		must(t, err)
		if len(fs) != 1 || fs[0].ParentID != w.mOther.ID || fs[0].AppID != w.app2.ID || !fs[0].ClosingAt.Equal(at(20).Truncate(time.Microsecond)) {
			t.Errorf("active since 8 = %+v, want the closing family only", fs)
		}
	})

	t.Run("Placements", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		room := child(w.m1, "room-1", "Room 1", at(4))
		must(t, s.CreateMeeting(ctx, room))
		a := participant(w.m1, w.p1.ID, "pa", "a", at(5))
		b := participant(w.m1, w.p1.ID, "pb", "b", at(6))
		must(t, s.CreateParticipant(ctx, a))
		must(t, s.CreateParticipant(ctx, b))

		_, err := s.GetPlacement(ctx, a.ID)
		wantErr(t, "get missing placement", err, store.ErrNotFound)

		pa := store.Placement{ParticipantID: a.ID, ParentID: w.m1.ID, AssignedID: room.ID, UpdatedAt: at(7)}
		must(t, s.PutPlacement(ctx, pa))
		got, err := s.GetPlacement(ctx, a.ID)
		must(t, err)
		if got.RoomID != "" || got.AssignedID != room.ID || got.PresetID != "" || !got.UpdatedAt.Equal(at(7).Truncate(time.Microsecond)) || got.ParentID != w.m1.ID {
			t.Fatalf("got %+v", got)
		}
		// Replace: move into the room with a preset override.
		pa.RoomID, pa.PresetID, pa.UpdatedAt = room.ID, w.p2.ID, at(8)
		must(t, s.PutPlacement(ctx, pa))
		got, _ = s.GetPlacement(ctx, a.ID)
		if got.RoomID != room.ID || got.PresetID != w.p2.ID || !got.UpdatedAt.Equal(at(8).Truncate(time.Microsecond)) {
			t.Fatalf("after replace: %+v", got)
		}
		must(t, s.PutPlacement(ctx, store.Placement{ParticipantID: b.ID, ParentID: w.m1.ID, UpdatedAt: at(9)}))
		ps, err := s.ListPlacements(ctx, w.m1.ID)
		must(t, err)
		if len(ps) != 2 {
			t.Fatalf("placements = %+v", ps)
		}
		if ps, _ := s.ListPlacements(ctx, w.m2.ID); len(ps) != 0 {
			t.Fatalf("placements of another family: %+v", ps)
		}

		for name, p := range map[string]store.Placement{
			"unknown participant": {ParticipantID: "nope", ParentID: w.m1.ID, UpdatedAt: at(1)},
			"unknown room":        {ParticipantID: a.ID, ParentID: w.m1.ID, RoomID: "nope", UpdatedAt: at(1)},
			"unknown assigned":    {ParticipantID: a.ID, ParentID: w.m1.ID, AssignedID: "nope", UpdatedAt: at(1)},
			"unknown preset":      {ParticipantID: a.ID, ParentID: w.m1.ID, PresetID: "nope", UpdatedAt: at(1)},
		} {
			wantErr(t, "put with "+name, s.PutPlacement(ctx, p), store.ErrNotFound)
		}
		if got, _ := s.GetPlacement(ctx, a.ID); got.RoomID != room.ID {
			t.Fatalf("a refused put changed the placement: %+v", got)
		}

		// A placement goes with its participant.
		must(t, s.DeleteParticipant(ctx, w.m1.ID, a.ID))
		_, err = s.GetPlacement(ctx, a.ID)
		wantErr(t, "placement of a deleted participant", err, store.ErrNotFound)
	})

	t.Run("ConcurrentVersionedWrites", func(t *testing.T) {
		// Many writers read the family and save version+1: exactly one
		// writer per version wins, in or out of transactions.
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		must(t, s.SaveFamily(ctx, store.Family{ParentID: w.m1.ID, AppID: w.app1.ID, Version: 1, Status: store.FamilyIdle, UpdatedAt: at(1)}))
		const writers = 12
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range writers {
			wg.Go(func() {
				err := s.InTx(ctx, func(q store.Queries) error {
					f, err := q.GetFamily(ctx, w.app1.ID, w.m1.ID)
					if err != nil {
						return err
					}
					f.Version++
					return q.SaveFamily(ctx, f)
				})
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		f, err := s.GetFamily(ctx, w.app1.ID, w.m1.ID)
		must(t, err)
		if int(f.Version) != 1+wins || wins == 0 {
			t.Fatalf("version %d after %d successful increments", f.Version, wins)
		}
	})
}
