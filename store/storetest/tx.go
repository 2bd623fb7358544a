package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"rtk-sidecar/store"
)

func testInTx(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Commit", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		a := app("app-1", "acct-1", t0)
		m := meeting(a.ID, "m-1", "Meeting", at(1))
		p := preset(a.ID, "p-1", "host", at(1))
		pa := participant(m, p.ID, "pa", "cust-a", at(2))
		err := s.InTx(ctx, func(q store.Queries) error {
			if err := q.CreateApp(ctx, a); err != nil {
				return err
			}
			if err := q.CreateMeeting(ctx, m); err != nil {
				return err
			}
			if err := q.CreatePreset(ctx, p); err != nil {
				return err
			}
			if err := q.CreateParticipant(ctx, pa); err != nil {
				return err
			}
			// The transaction reads its own writes.
			got, err := q.GetParticipant(ctx, m.ID, pa.ID)
			if err != nil {
				return err
			}
			same(t, "participant read in the transaction", got, pa)
			_, total, err := q.ListMeetings(ctx, a.ID, store.MeetingFilter{})
			if err != nil {
				return err
			}
			if total != 1 {
				t.Errorf("meetings seen in the transaction: %d, want 1", total)
			}
			return nil
		})
		must(t, err)
		gotA, err := s.GetApp(ctx, a.ID)
		must(t, err)
		same(t, "committed app", gotA, a)
		gotM, err := s.GetMeeting(ctx, a.ID, m.ID)
		must(t, err)
		same(t, "committed meeting", gotM, m)
		gotP, err := s.GetPreset(ctx, a.ID, p.ID)
		must(t, err)
		same(t, "committed preset", gotP, p)
		gotPa, err := s.GetParticipant(ctx, m.ID, pa.ID)
		must(t, err)
		same(t, "committed participant", gotPa, pa)
	})

	t.Run("Rollback", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		errFn := errors.New("fn failed")
		var seen bool
		err := s.InTx(ctx, func(q store.Queries) error {
			if err := q.CreateApp(ctx, app("app-new", "acct-1", at(9))); err != nil {
				return err
			}
			if err := q.CreateMeeting(ctx, meeting(w.app1.ID, "m-new", "New", at(9))); err != nil {
				return err
			}
			if err := q.CreateParticipant(ctx, participant(w.m1, w.p1.ID, "pa", "cust-a", at(9))); err != nil {
				return err
			}
			upd := w.p1
			upd.Name = "renamed"
			if err := q.UpdatePreset(ctx, upd); err != nil {
				return err
			}
			if err := q.DeletePreset(ctx, w.app1.ID, w.p2.ID); err != nil {
				return err
			}
			_, err := q.GetApp(ctx, "app-new")
			seen = err == nil
			return fmt.Errorf("wrapped: %w", errFn)
		})
		if !errors.Is(err, errFn) {
			t.Fatalf("InTx = %v, want fn's error", err)
		}
		if !seen {
			t.Error("the transaction did not see its own app")
		}
		_, err = s.GetApp(ctx, "app-new")
		wantErr(t, "GetApp(rolled back)", err, store.ErrNotFound)
		_, err = s.GetMeeting(ctx, w.app1.ID, "m-new")
		wantErr(t, "GetMeeting(rolled back)", err, store.ErrNotFound)
		_, err = s.GetParticipant(ctx, w.m1.ID, "pa")
		wantErr(t, "GetParticipant(rolled back)", err, store.ErrNotFound)
		got, err := s.GetPreset(ctx, w.app1.ID, w.p1.ID)
		must(t, err)
		same(t, "preset after rolled back update", got, w.p1)
		got, err = s.GetPreset(ctx, w.app1.ID, w.p2.ID)
		must(t, err)
		same(t, "preset after rolled back delete", got, w.p2)
	})

	t.Run("StoreErrorRollsBack", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		err := s.InTx(ctx, func(q store.Queries) error {
			if err := q.CreateMeeting(ctx, meeting(w.app1.ID, "m-new", "New", at(9))); err != nil {
				return err
			}
			return q.CreatePreset(ctx, preset(w.app1.ID, "p-new", w.p1.Name, at(9))) // name taken
		})
		wantErr(t, "InTx", err, store.ErrConflict)
		_, err = s.GetMeeting(ctx, w.app1.ID, "m-new")
		wantErr(t, "GetMeeting(rolled back)", err, store.ErrNotFound)

		err = s.InTx(ctx, func(q store.Queries) error {
			_, err := q.GetMeeting(ctx, w.app1.ID, "nope")
			return err
		})
		wantErr(t, "InTx", err, store.ErrNotFound)
	})

	t.Run("Sequential", func(t *testing.T) {
		// A store keeps working after transactions of both outcomes.
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		for i := range 5 {
			id := "m-" + strconv.Itoa(10+i)
			err := s.InTx(ctx, func(q store.Queries) error {
				if err := q.CreateMeeting(ctx, meeting(w.app1.ID, id, "Loop", at(10+i))); err != nil {
					return err
				}
				if i%2 == 1 {
					return errors.New("discard")
				}
				return nil
			})
			if (err != nil) != (i%2 == 1) {
				t.Fatalf("InTx %d: %v", i, err)
			}
		}
		_, total, err := s.ListMeetings(ctx, w.app1.ID, store.MeetingFilter{Search: "loop"})
		must(t, err)
		if total != 3 {
			t.Errorf("committed meetings: %d, want 3", total)
		}
	})
}

func testConcurrency(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Writers", func(t *testing.T) {
		// Writers, in and out of transactions, with readers alongside: all succeed.
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		const n = 20
		errs := make(chan error, 4*n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				p := participant(w.m1, w.p1.ID, fmt.Sprintf("direct-%d", i), fmt.Sprintf("cust-direct-%d", i), at(i))
				errs <- s.CreateParticipant(ctx, p)
			})
			wg.Go(func() {
				errs <- s.InTx(ctx, func(q store.Queries) error {
					if _, err := q.GetMeeting(ctx, w.app1.ID, w.m1.ID); err != nil {
						return err
					}
					p := participant(w.m1, w.p2.ID, fmt.Sprintf("tx-%d", i), fmt.Sprintf("cust-tx-%d", i), at(i))
					if err := q.CreateParticipant(ctx, p); err != nil {
						return err
					}
					_, err := q.GetParticipant(ctx, p.MeetingID, p.ID)
					return err
				})
			})
			wg.Go(func() {
				_, _, err := s.ListParticipants(ctx, w.m1.ID, store.Page{Limit: 5})
				errs <- err
			})
			wg.Go(func() {
				m := meeting(w.app1.ID, fmt.Sprintf("m-c-%d", i), "Concurrent", at(i))
				errs <- s.CreateMeeting(ctx, m)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		_, total, err := s.ListParticipants(ctx, w.m1.ID, store.Page{})
		must(t, err)
		if total != 2*n {
			t.Errorf("participants: %d, want %d", total, 2*n)
		}
		_, total, err = s.ListMeetings(ctx, w.app1.ID, store.MeetingFilter{Search: "concurrent"})
		must(t, err)
		if total != n {
			t.Errorf("meetings: %d, want %d", total, n)
		}
	})

	t.Run("SameCustomID", func(t *testing.T) {
		// Racing creates of one custom id: one wins, the others get ErrConflict.
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		const n = 10
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs <- s.CreateParticipant(ctx, participant(w.m1, w.p1.ID, fmt.Sprintf("p-%d", i), "cust-same", at(i)))
			})
		}
		wg.Wait()
		close(errs)
		oneWins(t, "create", errs)
	})

	t.Run("ManyWriters", func(t *testing.T) {
		// Many concurrent writes outside transactions, some refused on a
		// constraint, some for a missing meeting: each gets its own answer
		// and exactly the accepted ones are stored.
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		const n = 60
		type answer struct {
			i   int
			err error
		}
		answers := make(chan answer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				m, custom := w.m1, fmt.Sprintf("cust-%d", i)
				switch i % 3 {
				case 1:
					custom = fmt.Sprintf("cust-%d", i-1) // i-1 takes it too
				case 2:
					m = store.Meeting{AppID: w.app1.ID, ID: "no-meeting"}
				}
				_, err := s.CreateParticipantWithPreset(ctx, participant(m, "", fmt.Sprintf("p-%d", i), custom, at(i)), w.p1.Name)
				answers <- answer{i, err}
			})
		}
		wg.Wait()
		close(answers)
		ok := map[int]bool{}
		for a := range answers {
			switch {
			case a.err == nil:
				ok[a.i] = true
			case a.i%3 == 2:
				wantErr(t, fmt.Sprintf("create %d (no meeting)", a.i), a.err, store.ErrNotFound)
			default:
				wantErr(t, fmt.Sprintf("create %d (custom id taken)", a.i), a.err, store.ErrConflict)
			}
		}
		for i := 0; i < n; i += 3 {
			if ok[i] == ok[i+1] {
				t.Errorf("creates %d and %d of one custom id: succeeded %v and %v, want exactly one", i, i+1, ok[i], ok[i+1])
			}
		}
		ps, total, err := s.ListParticipants(ctx, w.m1.ID, store.Page{})
		must(t, err)
		if total != len(ok) {
			t.Errorf("participants stored: %d, want the %d accepted", total, len(ok))
		}
		for _, p := range ps {
			var i int
			if _, err := fmt.Sscanf(p.ID, "p-%d", &i); err != nil || !ok[i] {
				t.Errorf("participant %s stored, but its create was refused", p.ID)
			}
		}
	})

	t.Run("ReadModifyWrite", func(t *testing.T) {
		// Transactions that read a value and write it back incremented lose
		// no increment: InTx isolates them (retrying fn if it must).
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		const n = 8
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				errs <- s.InTx(ctx, func(q store.Queries) error {
					p, err := q.GetPreset(ctx, w.app1.ID, w.p1.ID)
					if err != nil {
						return err
					}
					var body struct{ Count int }
					_ = json.Unmarshal(p.Body, &body) // the seeded body has no Count: 0
					body.Count++
					p.Body, _ = json.Marshal(body)
					return q.UpdatePreset(ctx, p)
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		p, err := s.GetPreset(ctx, w.app1.ID, w.p1.ID)
		must(t, err)
		var body struct{ Count int }
		must(t, json.Unmarshal(p.Body, &body))
		if body.Count != n {
			t.Errorf("count = %d after %d increments", body.Count, n)
		}
	})
}
