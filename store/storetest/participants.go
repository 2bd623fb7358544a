package storetest

import (
	"testing"

	"rtk-sidecar/store"
)

func testParticipants(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		p := participant(w.m1, w.p1.ID, "pa", "cust-a", t0)
		must(t, s.CreateParticipant(ctx, p))
		got, err := s.GetParticipant(ctx, w.m1.ID, p.ID)
		must(t, err)
		same(t, "GetParticipant", got, p)
		got, err = s.GetParticipantByID(ctx, w.app1.ID, p.ID)
		must(t, err)
		same(t, "GetParticipantByID", got, p)

		bare := participant(w.m1, w.p2.ID, "pb", "cust-b", at(1))
		bare.Name, bare.Picture = "", ""
		must(t, s.CreateParticipant(ctx, bare))
		got, err = s.GetParticipant(ctx, w.m1.ID, bare.ID)
		must(t, err)
		same(t, "participant without name and picture", got, bare)

		// The same preset in a breakout of the same app.
		breakout := child(w.m1, "m-child", "Breakout", at(4))
		must(t, s.CreateMeeting(ctx, breakout))
		inBreakout := participant(breakout, w.p1.ID, "pc", "cust-a", at(5))
		must(t, s.CreateParticipant(ctx, inBreakout))
		got, err = s.GetParticipantByID(ctx, w.app1.ID, inBreakout.ID)
		must(t, err)
		same(t, "participant of a breakout", got, inBreakout)
	})

	t.Run("GetNotFound", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		p := participant(w.m1, w.p1.ID, "pa", "cust-a", t0)
		must(t, s.CreateParticipant(ctx, p))
		_, err := s.GetParticipant(ctx, w.m1.ID, "nope")
		wantErr(t, "GetParticipant(unknown id)", err, store.ErrNotFound)
		_, err = s.GetParticipant(ctx, w.m2.ID, p.ID)
		wantErr(t, "GetParticipant(another meeting's participant)", err, store.ErrNotFound)
		_, err = s.GetParticipantByID(ctx, w.app1.ID, "nope")
		wantErr(t, "GetParticipantByID(unknown id)", err, store.ErrNotFound)
		_, err = s.GetParticipantByID(ctx, w.app2.ID, p.ID)
		wantErr(t, "GetParticipantByID(another app's participant)", err, store.ErrNotFound)
	})

	t.Run("CreateConflict", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		p := participant(w.m1, w.p1.ID, "pa", "cust-a", t0)
		must(t, s.CreateParticipant(ctx, p))
		dupID := participant(w.m2, w.p2.ID, p.ID, "cust-z", at(9))
		wantErr(t, "CreateParticipant(same id)", s.CreateParticipant(ctx, dupID), store.ErrConflict)
		dupCustom := participant(w.m1, w.p2.ID, "pb", p.CustomParticipantID, at(9))
		wantErr(t, "CreateParticipant(custom id taken in the meeting)", s.CreateParticipant(ctx, dupCustom), store.ErrConflict)
		_, err := s.GetParticipantByID(ctx, w.app1.ID, "pb")
		wantErr(t, "GetParticipantByID after rejected create", err, store.ErrNotFound)
		got, err := s.GetParticipant(ctx, w.m1.ID, p.ID)
		must(t, err)
		same(t, "participant after rejected duplicates", got, p)

		// A custom id is unique per meeting only.
		otherMeeting := participant(w.m2, w.p2.ID, "pb", p.CustomParticipantID, at(9))
		must(t, s.CreateParticipant(ctx, otherMeeting))
		otherApp := participant(w.mOther, w.pOther.ID, "pc", p.CustomParticipantID, at(9))
		must(t, s.CreateParticipant(ctx, otherApp))
	})

	t.Run("CreateNotFound", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		inOtherApp := participant(w.mOther, w.p1.ID, "px", "cust-x", at(9))
		inOtherApp.AppID = w.app1.ID // app1's preset, app2's meeting
		for _, tc := range []struct {
			name string
			p    store.Participant
		}{
			{"unknown meeting", participant(store.Meeting{AppID: w.app1.ID, ID: "no-meeting"}, w.p1.ID, "px", "cust-x", at(9))},
			{"unknown preset", participant(w.m1, "no-preset", "px", "cust-x", at(9))},
			{"preset of another app", participant(w.m1, w.pOther.ID, "px", "cust-x", at(9))},
			{"meeting of another app", inOtherApp},
			{"unknown app", participant(store.Meeting{AppID: "no-app", ID: w.m1.ID}, w.p1.ID, "px", "cust-x", at(9))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, "CreateParticipant", s.CreateParticipant(ctx, tc.p), store.ErrNotFound)
				for _, a := range []store.App{w.app1, w.app2} {
					_, err := s.GetParticipantByID(ctx, a.ID, tc.p.ID)
					wantErr(t, "GetParticipantByID after rejected create", err, store.ErrNotFound)
				}
			})
		}
	})

	t.Run("CreateWithPreset", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		p := participant(w.m1, "ignored", "pa", "cust-a", t0)
		presetID, err := s.CreateParticipantWithPreset(ctx, p, w.p2.Name)
		must(t, err)
		if presetID != w.p2.ID {
			t.Errorf("CreateParticipantWithPreset: preset %q, want %q", presetID, w.p2.ID)
		}
		p.PresetID = w.p2.ID
		got, err := s.GetParticipant(ctx, w.m1.ID, p.ID)
		must(t, err)
		same(t, "participant created with a preset's name", got, p)

		dup := participant(w.m1, "", "pb", p.CustomParticipantID, at(1))
		_, err = s.CreateParticipantWithPreset(ctx, dup, w.p1.Name)
		wantErr(t, "CreateParticipantWithPreset(custom id taken in the meeting)", err, store.ErrConflict)

		inOtherApp := participant(w.mOther, "", "px", "cust-x", at(9))
		inOtherApp.AppID = w.app1.ID // app2's meeting
		for _, tc := range []struct {
			name, preset string
			p            store.Participant
		}{
			{"unknown meeting", w.p1.Name, participant(store.Meeting{AppID: w.app1.ID, ID: "no-meeting"}, "", "px", "cust-x", at(9))},
			{"unknown preset", "no-such-preset", participant(w.m1, "", "px", "cust-x", at(9))},
			{"preset id for a name", w.p1.ID, participant(w.m1, "", "px", "cust-x", at(9))},
			{"meeting of another app", w.p1.Name, inOtherApp},
			{"unknown app", w.p1.Name, participant(store.Meeting{AppID: "no-app", ID: w.m1.ID}, "", "px", "cust-x", at(9))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.CreateParticipantWithPreset(ctx, tc.p, tc.preset)
				wantErr(t, "CreateParticipantWithPreset", err, store.ErrNotFound)
				for _, a := range []store.App{w.app1, w.app2} {
					_, err := s.GetParticipantByID(ctx, a.ID, tc.p.ID)
					wantErr(t, "GetParticipantByID after rejected create", err, store.ErrNotFound)
				}
			})
		}
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		for _, p := range []store.Participant{
			participant(w.m1, w.p1.ID, "pc", "cust-c", at(13)),
			participant(w.m1, w.p2.ID, "pa", "cust-a", at(11)),
			participant(w.m2, w.p1.ID, "px", "cust-a", at(12)),
			participant(w.m1, w.p1.ID, "pd", "cust-d", at(14)),
			participant(w.m1, w.p1.ID, "pb", "cust-b", at(12)),
		} {
			must(t, s.CreateParticipant(ctx, p))
		}
		for _, tc := range []struct {
			name    string
			meeting string
			page    store.Page
			total   int
			want    []string
		}{
			{"all, oldest first", w.m1.ID, store.Page{}, 4, []string{"pa", "pb", "pc", "pd"}},
			{"page", w.m1.ID, store.Page{Offset: 1, Limit: 2}, 4, []string{"pb", "pc"}},
			{"first page", w.m1.ID, store.Page{Limit: 3}, 4, []string{"pa", "pb", "pc"}},
			{"offset only", w.m1.ID, store.Page{Offset: 2}, 4, []string{"pc", "pd"}},
			{"past the end", w.m1.ID, store.Page{Offset: 4, Limit: 2}, 4, nil},
			{"other meeting", w.m2.ID, store.Page{}, 1, []string{"px"}},
			{"meeting without participants", w.mOther.ID, store.Page{}, 0, nil},
			{"unknown meeting", "no-meeting", store.Page{}, 0, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, total, err := s.ListParticipants(ctx, tc.meeting, tc.page)
				wantList(t, "ListParticipants", got, total, err, tc.total, tc.want...)
			})
		}
		got, _, err := s.ListParticipants(ctx, w.m1.ID, store.Page{Limit: 1})
		must(t, err)
		if len(got) == 1 {
			same(t, "listed participant", got[0], participant(w.m1, w.p2.ID, "pa", "cust-a", at(11)))
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		p := participant(w.m1, w.p1.ID, "pa", "cust-a", t0)
		must(t, s.CreateParticipant(ctx, p))
		upd := store.Participant{
			ID:                  p.ID,
			AppID:               p.AppID,
			MeetingID:           p.MeetingID,
			CustomParticipantID: "cust-renamed",
			PresetID:            w.p2.ID,
			Name:                "",
			Picture:             "https://example.com/new.png",
			CreatedAt:           at(100), // ignored: CreatedAt is kept
			UpdatedAt:           at(50),
		}
		must(t, s.UpdateParticipant(ctx, upd))
		want := upd
		want.CreatedAt = p.CreatedAt
		got, err := s.GetParticipant(ctx, p.MeetingID, p.ID)
		must(t, err)
		same(t, "updated participant", got, want)

		// The old custom id is free again.
		must(t, s.CreateParticipant(ctx, participant(w.m1, w.p1.ID, "pb", "cust-a", at(1))))
		// Keeping its own custom id is no conflict.
		upd.Name = "Named"
		upd.UpdatedAt = at(51)
		must(t, s.UpdateParticipant(ctx, upd))
		got, err = s.GetParticipant(ctx, p.MeetingID, p.ID)
		must(t, err)
		want = upd
		want.CreatedAt = p.CreatedAt
		same(t, "participant updated again", got, want)
	})

	t.Run("UpdateRejected", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		pa := participant(w.m1, w.p1.ID, "pa", "cust-a", t0)
		pb := participant(w.m1, w.p1.ID, "pb", "cust-b", at(1))
		must(t, s.CreateParticipant(ctx, pa))
		must(t, s.CreateParticipant(ctx, pb))
		for _, tc := range []struct {
			name   string
			edit   func(p *store.Participant)
			target error
		}{
			{"custom id taken in the meeting", func(p *store.Participant) { p.CustomParticipantID = pa.CustomParticipantID }, store.ErrConflict},
			{"unknown preset", func(p *store.Participant) { p.PresetID = "no-preset" }, store.ErrNotFound},
			{"preset of another app", func(p *store.Participant) { p.PresetID = w.pOther.ID }, store.ErrNotFound},
			{"unknown participant", func(p *store.Participant) { p.ID = "nope" }, store.ErrNotFound},
			{"another meeting", func(p *store.Participant) { p.MeetingID = w.m2.ID }, store.ErrNotFound},
			{"another app", func(p *store.Participant) { p.AppID = w.app2.ID; p.PresetID = w.pOther.ID }, store.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				upd := pb
				upd.Name = "changed"
				upd.UpdatedAt = at(50)
				tc.edit(&upd)
				wantErr(t, "UpdateParticipant", s.UpdateParticipant(ctx, upd), tc.target)
				got, err := s.GetParticipant(ctx, pb.MeetingID, pb.ID)
				must(t, err)
				same(t, "participant after rejected update", got, pb)
			})
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		pa := participant(w.m1, w.p1.ID, "pa", "cust-a", t0)
		pb := participant(w.m1, w.p1.ID, "pb", "cust-b", at(1))
		must(t, s.CreateParticipant(ctx, pa))
		must(t, s.CreateParticipant(ctx, pb))
		wantErr(t, "DeleteParticipant(another meeting's participant)", s.DeleteParticipant(ctx, w.m2.ID, pa.ID), store.ErrNotFound)
		must(t, s.DeleteParticipant(ctx, w.m1.ID, pa.ID))
		_, err := s.GetParticipant(ctx, w.m1.ID, pa.ID)
		wantErr(t, "GetParticipant(deleted)", err, store.ErrNotFound)
		_, err = s.GetParticipantByID(ctx, w.app1.ID, pa.ID)
		wantErr(t, "GetParticipantByID(deleted)", err, store.ErrNotFound)
		wantErr(t, "DeleteParticipant(deleted)", s.DeleteParticipant(ctx, w.m1.ID, pa.ID), store.ErrNotFound)
		wantErr(t, "DeleteParticipant(unknown)", s.DeleteParticipant(ctx, w.m1.ID, "nope"), store.ErrNotFound)
		got, total, err := s.ListParticipants(ctx, w.m1.ID, store.Page{})
		wantList(t, "ListParticipants after delete", got, total, err, 1, pb.ID)
		// Its custom id is free again.
		must(t, s.CreateParticipant(ctx, participant(w.m1, w.p1.ID, "pc", pa.CustomParticipantID, at(2))))
	})
}
