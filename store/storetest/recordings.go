package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"rtk-sidecar/store"
)

// recording returns a recording with every field set.
func recording(m store.Meeting, id string, invoked time.Time) store.Recording {
	return store.Recording{
		ID:               id,
		AppID:            m.AppID,
		MeetingID:        m.ID,
		SessionID:        "sess-" + id,
		RoomSID:          "RM_" + id,
		Kind:             "composite",
		Backend:          "local",
		BackendID:        "EG_" + id,
		Status:           store.RecordingUploaded,
		StartReason:      "API_CALL",
		StopReason:       "ALL_PEERS_LEFT",
		Error:            "disk full",
		FileNamePrefix:   "prefix-",
		OutputFileName:   "prefix-" + id + ".zip",
		MaxSeconds:       3600,
		FileSize:         1 << 40, // needs 64 bits
		Duration:         125,
		Config:           json.RawMessage(`{"video_config": {"codec": "VP8"}}`),
		Outputs:          json.RawMessage(`[{"location": "/data/x"}]`),
		BackendUpdatedAt: invoked.UnixNano() + 1, // nanoseconds, kept exactly
		InvokedAt:        invoked,
		StartedAt:        invoked.Add(time.Second),
		StoppedAt:        invoked.Add(time.Minute),
		UpdatedAt:        invoked.Add(2 * time.Minute),
	}
}

func testRecordings(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()

		full := recording(w.m1, "r-full", at(10))
		must(t, s.CreateRecording(ctx, full))
		got, err := s.GetRecording(ctx, w.app1.ID, full.ID)
		must(t, err)
		same(t, "recording with every field set", got, full)

		// Zero values (no times, no documents, no reasons) come back as they went in.
		bare := store.Recording{ID: "r-bare", AppID: w.app1.ID, MeetingID: w.m1.ID, Kind: "track",
			Backend: "egress", Status: store.RecordingInvoked, StartReason: "RECORD_ON_START",
			InvokedAt: at(11), UpdatedAt: at(11)}
		must(t, s.CreateRecording(ctx, bare))
		got, err = s.GetRecording(ctx, w.app1.ID, bare.ID)
		must(t, err)
		same(t, "recording with zero fields", got, bare)

		_, err = s.GetRecording(ctx, w.app2.ID, full.ID)
		wantErr(t, "GetRecording(another app's recording)", err, store.ErrNotFound)
		_, err = s.GetRecording(ctx, w.app1.ID, "nope")
		wantErr(t, "GetRecording(unknown id)", err, store.ErrNotFound)
	})

	t.Run("CreateErrors", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		r := recording(w.m1, "r-1", at(10))
		must(t, s.CreateRecording(ctx, r))
		wantErr(t, "CreateRecording(same id)", s.CreateRecording(ctx, r), store.ErrConflict)

		unknown := recording(store.Meeting{AppID: w.app1.ID, ID: "no-meeting"}, "r-2", at(10))
		wantErr(t, "CreateRecording(unknown meeting)", s.CreateRecording(ctx, unknown), store.ErrNotFound)
		other := recording(store.Meeting{AppID: w.app1.ID, ID: w.mOther.ID}, "r-3", at(10))
		wantErr(t, "CreateRecording(meeting of another app)", s.CreateRecording(ctx, other), store.ErrNotFound)
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		r := recording(w.m1, "r-1", at(10))
		r.StartedAt, r.StoppedAt, r.Outputs, r.StopReason = time.Time{}, time.Time{}, nil, ""
		must(t, s.CreateRecording(ctx, r))

		upd := recording(w.m1, "r-1", at(10))
		upd.Status = store.RecordingUploading
		upd.BackendID = "EG_second"
		upd.FileSize = 42
		upd.UpdatedAt = at(20)
		// Immutable fields are kept whatever the update says.
		changedImmutables := upd
		changedImmutables.Kind, changedImmutables.Backend, changedImmutables.InvokedAt = "track", "egress", at(99)
		must(t, s.UpdateRecording(ctx, changedImmutables))
		got, err := s.GetRecording(ctx, w.app1.ID, r.ID)
		must(t, err)
		same(t, "updated recording", got, upd)

		// Times and texts can be cleared again.
		cleared := upd
		cleared.StartedAt, cleared.StoppedAt, cleared.Error, cleared.Outputs = time.Time{}, time.Time{}, "", nil
		must(t, s.UpdateRecording(ctx, cleared))
		got, err = s.GetRecording(ctx, w.app1.ID, r.ID)
		must(t, err)
		same(t, "cleared recording", got, cleared)

		missing := upd
		missing.ID = "nope"
		wantErr(t, "UpdateRecording(unknown)", s.UpdateRecording(ctx, missing), store.ErrNotFound)
		wrongApp := upd
		wrongApp.AppID = w.app2.ID
		wantErr(t, "UpdateRecording(other app)", s.UpdateRecording(ctx, wrongApp), store.ErrNotFound)
	})

	t.Run("Jobs", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		r1 := recording(w.m1, "r-1", at(10))
		r2 := recording(w.mOther, "r-2", at(11))
		must(t, s.CreateRecording(ctx, r1))
		must(t, s.CreateRecording(ctx, r2))
		must(t, s.AddRecordingJob(ctx, r1.ID, "EG_a"))
		must(t, s.AddRecordingJob(ctx, r1.ID, "EG_b")) // a resumed recording has several jobs
		must(t, s.AddRecordingJob(ctx, r2.ID, "EG_c"))
		wantErr(t, "AddRecordingJob(taken job id)", s.AddRecordingJob(ctx, r2.ID, "EG_a"), store.ErrConflict)
		wantErr(t, "AddRecordingJob(unknown recording)", s.AddRecordingJob(ctx, "nope", "EG_d"), store.ErrNotFound)

		for job, want := range map[string]store.Recording{"EG_a": r1, "EG_b": r1, "EG_c": r2} {
			got, err := s.GetRecordingByJob(ctx, job)
			must(t, err)
			same(t, "recording of job "+job, got, want)
		}
		_, err := s.GetRecordingByJob(ctx, "EG_none")
		wantErr(t, "GetRecordingByJob(unknown)", err, store.ErrNotFound)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		mk := func(m store.Meeting, id string, minute int, status, roomSID string) {
			r := recording(m, id, at(minute))
			r.Status, r.RoomSID = status, roomSID
			must(t, s.CreateRecording(ctx, r))
		}
		mk(w.m1, "r-1", 10, store.RecordingUploaded, "RM_a")
		mk(w.m1, "r-2", 20, store.RecordingRecording, "RM_b")
		mk(w.m2, "r-3", 30, store.RecordingInvoked, "RM_c")
		mk(w.m2, "r-4", 40, store.RecordingPaused, "RM_c")
		mk(w.mOther, "r-5", 50, store.RecordingRecording, "RM_d")

		list := func(appID string, f store.RecordingFilter) ([]store.Recording, int, error) {
			return s.ListRecordings(ctx, appID, f)
		}
		got, total, err := list(w.app1.ID, store.RecordingFilter{})
		wantList(t, "all of app1", got, total, err, 4, "r-4", "r-3", "r-2", "r-1")
		got, total, err = list(w.app1.ID, store.RecordingFilter{OldestFirst: true})
		wantList(t, "all of app1, oldest first", got, total, err, 4, "r-1", "r-2", "r-3", "r-4")
		got, total, err = list("", store.RecordingFilter{})
		wantList(t, "every app", got, total, err, 5, "r-5", "r-4", "r-3", "r-2", "r-1")
		got, total, err = list(w.app1.ID, store.RecordingFilter{MeetingID: w.m2.ID})
		wantList(t, "meeting m2", got, total, err, 2, "r-4", "r-3")
		got, total, err = list(w.app1.ID, store.RecordingFilter{MeetingID: w.mOther.ID})
		wantList(t, "another app's meeting", got, total, err, 0)
		got, total, err = list(w.app1.ID, store.RecordingFilter{Statuses: []string{store.RecordingRecording, store.RecordingPaused}})
		wantList(t, "active statuses", got, total, err, 2, "r-4", "r-2")
		got, total, err = list(w.app1.ID, store.RecordingFilter{RoomSID: "RM_c"})
		wantList(t, "room sid", got, total, err, 2, "r-4", "r-3")
		// Times are kept to the microsecond: bounds compare with the stored times.
		stored := func(n int) time.Time { return at(n).Truncate(time.Microsecond) }
		got, total, err = list(w.app1.ID, store.RecordingFilter{InvokedAfter: stored(20), InvokedBefore: stored(30)})
		wantList(t, "invoked between, inclusive", got, total, err, 2, "r-3", "r-2")
		got, total, err = list(w.app1.ID, store.RecordingFilter{InvokedAfter: stored(20).Add(time.Nanosecond)})
		wantList(t, "invoked after, sub-microsecond", got, total, err, 2, "r-4", "r-3")
		got, total, err = list(w.app1.ID, store.RecordingFilter{Search: "SECOND"}) // m2's title, any case
		wantList(t, "search by title", got, total, err, 2, "r-4", "r-3")
		got, total, err = list(w.app1.ID, store.RecordingFilter{Search: w.m1.ID})
		wantList(t, "search by meeting id", got, total, err, 2, "r-2", "r-1")
		got, total, err = list(w.app1.ID, store.RecordingFilter{Search: "%"})
		wantList(t, "search for a LIKE wildcard", got, total, err, 0)
		got, total, err = list(w.app1.ID, store.RecordingFilter{MeetingID: w.m2.ID, Statuses: []string{store.RecordingInvoked}})
		wantList(t, "meeting and status", got, total, err, 1, "r-3")
		got, total, err = list(w.app1.ID, store.RecordingFilter{Page: store.Page{Offset: 1, Limit: 2}})
		wantList(t, "second page", got, total, err, 4, "r-3", "r-2")
	})

	t.Run("Paging", func(t *testing.T) {
		// Recordings invoked at the same time page stably.
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		var want []string
		for _, i := range []int{4, 1, 6, 0, 3, 5, 2} {
			id := fmt.Sprintf("tie-%d", i)
			must(t, s.CreateRecording(ctx, recording(w.m1, id, at(1))))
			want = append(want, id)
		}
		seen := map[string]int{}
		for offset := 0; offset < len(want)+2; offset += 2 {
			got, total, err := s.ListRecordings(ctx, w.app1.ID, store.RecordingFilter{Page: store.Page{Offset: offset, Limit: 2}})
			must(t, err)
			if total != len(want) {
				t.Errorf("page at %d: total %d, want %d", offset, total, len(want))
			}
			for _, id := range ids(got) {
				seen[id]++
			}
		}
		for _, id := range want {
			if seen[id] != 1 {
				t.Errorf("%s seen %d times over the pages, want once", id, seen[id])
			}
		}
	})

	t.Run("InTx", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		r := recording(w.m1, "r-1", at(10))
		err := s.InTx(ctx, func(q store.Queries) error {
			if err := q.CreateRecording(ctx, r); err != nil {
				return err
			}
			if err := q.AddRecordingJob(ctx, r.ID, "EG_tx"); err != nil {
				return err
			}
			if _, err := q.GetRecordingByJob(ctx, "EG_tx"); err != nil {
				return err
			}
			return fmt.Errorf("roll back")
		})
		if err == nil {
			t.Fatal("InTx succeeded")
		}
		_, err = s.GetRecording(ctx, w.app1.ID, r.ID)
		wantErr(t, "GetRecording(rolled back)", err, store.ErrNotFound)
		_, err = s.GetRecordingByJob(ctx, "EG_tx")
		wantErr(t, "GetRecordingByJob(rolled back)", err, store.ErrNotFound)
	})
}
