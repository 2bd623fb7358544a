package storetest

import (
	"encoding/json"
	"testing"

	"rtk-sidecar/store"
)

func testPresets(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		must(t, s.CreateApp(ctx, app("app-1", "acct-1", t0)))
		p := preset("app-1", "p-1", "host", t0)
		must(t, s.CreatePreset(ctx, p))
		got, err := s.GetPreset(ctx, "app-1", p.ID)
		must(t, err)
		same(t, "GetPreset", got, p)
		got, err = s.GetPresetByName(ctx, "app-1", p.Name)
		must(t, err)
		same(t, "GetPresetByName", got, p)

		bare := store.Preset{ID: "p-bare", AppID: "app-1", Name: "bare", CreatedAt: at(1), UpdatedAt: at(2)}
		must(t, s.CreatePreset(ctx, bare))
		got, err = s.GetPreset(ctx, "app-1", bare.ID)
		must(t, err)
		same(t, "preset with nil body", got, bare)
	})

	t.Run("GetNotFound", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		_, err := s.GetPreset(ctx, w.app1.ID, "nope")
		wantErr(t, "GetPreset(unknown id)", err, store.ErrNotFound)
		_, err = s.GetPreset(ctx, w.app2.ID, w.p1.ID)
		wantErr(t, "GetPreset(another app's preset)", err, store.ErrNotFound)
		_, err = s.GetPresetByName(ctx, w.app1.ID, "nope")
		wantErr(t, "GetPresetByName(unknown name)", err, store.ErrNotFound)
		_, err = s.GetPresetByName(ctx, w.app2.ID, w.p2.Name)
		wantErr(t, "GetPresetByName(name used in another app)", err, store.ErrNotFound)
		_, err = s.GetPresetByName(ctx, w.app1.ID, "HOST")
		wantErr(t, "GetPresetByName(name in another case)", err, store.ErrNotFound)
	})

	t.Run("CreateConflict", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		dupID := preset(w.app1.ID, w.p1.ID, "fresh-name", at(9))
		wantErr(t, "CreatePreset(same id)", s.CreatePreset(ctx, dupID), store.ErrConflict)
		dupName := preset(w.app1.ID, "p-new", w.p1.Name, at(9))
		wantErr(t, "CreatePreset(name taken in the app)", s.CreatePreset(ctx, dupName), store.ErrConflict)
		_, err := s.GetPreset(ctx, w.app1.ID, "p-new")
		wantErr(t, "GetPreset after rejected create", err, store.ErrNotFound)
		got, err := s.GetPreset(ctx, w.app1.ID, w.p1.ID)
		must(t, err)
		same(t, "preset after rejected duplicates", got, w.p1)

		// A name is unique per app only ("host" is also pOther's name in app2).
		otherApp := preset(w.app2.ID, "p-new2", w.p2.Name, at(9))
		must(t, s.CreatePreset(ctx, otherApp))
		got, err = s.GetPresetByName(ctx, w.app2.ID, w.p2.Name)
		must(t, err)
		same(t, "preset named like one of another app", got, otherApp)
	})

	t.Run("CreateUnknownApp", func(t *testing.T) {
		s := open(t)
		err := s.CreatePreset(t.Context(), preset("no-app", "p-1", "host", t0))
		wantErr(t, "CreatePreset(unknown app)", err, store.ErrNotFound)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		w := seed(t, s) // app1: p-1 at(1), p-2 at(2); app2: p-other at(3)
		ctx := t.Context()
		must(t, s.CreatePreset(ctx, preset(w.app1.ID, "p-0", "first", at(0))))
		must(t, s.CreatePreset(ctx, preset(w.app1.ID, "p-3", "last", at(3))))
		for _, tc := range []struct {
			name  string
			app   string
			page  store.Page
			total int
			want  []string
		}{
			{"all, oldest first", w.app1.ID, store.Page{}, 4, []string{"p-0", "p-1", "p-2", "p-3"}},
			{"page", w.app1.ID, store.Page{Offset: 1, Limit: 2}, 4, []string{"p-1", "p-2"}},
			{"offset only", w.app1.ID, store.Page{Offset: 3}, 4, []string{"p-3"}},
			{"past the end", w.app1.ID, store.Page{Offset: 4, Limit: 1}, 4, nil},
			{"other app", w.app2.ID, store.Page{}, 1, []string{"p-other"}},
			{"unknown app", "app-9", store.Page{}, 0, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, total, err := s.ListPresets(ctx, tc.app, tc.page)
				wantList(t, "ListPresets", got, total, err, tc.total, tc.want...)
			})
		}
		got, _, err := s.ListPresets(ctx, w.app1.ID, store.Page{Offset: 1, Limit: 1})
		must(t, err)
		if len(got) == 1 {
			same(t, "listed preset", got[0], w.p1)
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		upd := store.Preset{
			ID:        w.p1.ID,
			AppID:     w.p1.AppID,
			Name:      "presenter",
			Body:      json.RawMessage(`{"config": {}, "ui": {"theme": "dark"}, "permissions": {}}`),
			CreatedAt: at(100), // ignored: CreatedAt is kept
			UpdatedAt: at(50),
		}
		must(t, s.UpdatePreset(ctx, upd))
		want := upd
		want.CreatedAt = w.p1.CreatedAt
		got, err := s.GetPreset(ctx, upd.AppID, upd.ID)
		must(t, err)
		same(t, "updated preset", got, want)
		got, err = s.GetPresetByName(ctx, upd.AppID, "presenter")
		must(t, err)
		same(t, "updated preset by its new name", got, want)
		_, err = s.GetPresetByName(ctx, upd.AppID, w.p1.Name)
		wantErr(t, "GetPresetByName(old name)", err, store.ErrNotFound)

		// Keeping its own name is no conflict; a nil body is stored as nil.
		upd.Body = nil
		upd.UpdatedAt = at(51)
		must(t, s.UpdatePreset(ctx, upd))
		got, err = s.GetPreset(ctx, upd.AppID, upd.ID)
		must(t, err)
		want = upd
		want.CreatedAt = w.p1.CreatedAt
		same(t, "preset updated under the same name", got, want)

		// The old name is free again.
		must(t, s.CreatePreset(ctx, preset(w.app1.ID, "p-new", w.p1.Name, at(9))))
	})

	t.Run("UpdateConflict", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		upd := w.p1
		upd.Name = w.p2.Name
		upd.UpdatedAt = at(50)
		wantErr(t, "UpdatePreset(name taken in the app)", s.UpdatePreset(ctx, upd), store.ErrConflict)
		got, err := s.GetPreset(ctx, w.app1.ID, w.p1.ID)
		must(t, err)
		same(t, "preset after rejected rename", got, w.p1)

		// pOther's name ("host") is taken in app2 only.
		upd = w.p2
		upd.Name = w.pOther.Name + "-2"
		must(t, s.UpdatePreset(ctx, upd))
		upd = w.pOther
		upd.Name = w.p2.Name // "guest", used in app1 only
		must(t, s.UpdatePreset(ctx, upd))
	})

	t.Run("UpdateNotFound", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		wantErr(t, "UpdatePreset(unknown)", s.UpdatePreset(ctx, preset(w.app1.ID, "nope", "nope", at(9))), store.ErrNotFound)
		wrongApp := w.p1
		wrongApp.AppID = w.app2.ID
		wrongApp.Name = "hijacked"
		wantErr(t, "UpdatePreset(another app's preset)", s.UpdatePreset(ctx, wrongApp), store.ErrNotFound)
		got, err := s.GetPreset(ctx, w.app1.ID, w.p1.ID)
		must(t, err)
		same(t, "preset after rejected update", got, w.p1)
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		wantErr(t, "DeletePreset(another app's preset)", s.DeletePreset(ctx, w.app2.ID, w.p1.ID), store.ErrNotFound)
		must(t, s.DeletePreset(ctx, w.app1.ID, w.p1.ID))
		_, err := s.GetPreset(ctx, w.app1.ID, w.p1.ID)
		wantErr(t, "GetPreset(deleted)", err, store.ErrNotFound)
		_, err = s.GetPresetByName(ctx, w.app1.ID, w.p1.Name)
		wantErr(t, "GetPresetByName(deleted)", err, store.ErrNotFound)
		wantErr(t, "DeletePreset(deleted)", s.DeletePreset(ctx, w.app1.ID, w.p1.ID), store.ErrNotFound)
		wantErr(t, "DeletePreset(unknown)", s.DeletePreset(ctx, w.app1.ID, "nope"), store.ErrNotFound)
		_, total, err := s.ListPresets(ctx, w.app1.ID, store.Page{})
		must(t, err)
		if total != 1 {
			t.Errorf("presets left in app1: %d, want 1", total)
		}
		// The name is free again.
		must(t, s.CreatePreset(ctx, preset(w.app1.ID, "p-new", w.p1.Name, at(9))))
	})

	t.Run("DeleteInUse", func(t *testing.T) {
		s := open(t)
		w := seed(t, s)
		ctx := t.Context()
		pa := participant(w.m1, w.p1.ID, "pa", "cust-a", at(5))
		must(t, s.CreateParticipant(ctx, pa))
		wantErr(t, "DeletePreset(in use)", s.DeletePreset(ctx, w.app1.ID, w.p1.ID), store.ErrConflict)
		got, err := s.GetPreset(ctx, w.app1.ID, w.p1.ID)
		must(t, err)
		same(t, "preset after rejected delete", got, w.p1)
		gotP, err := s.GetParticipant(ctx, w.m1.ID, pa.ID)
		must(t, err)
		same(t, "participant after rejected preset delete", gotP, pa)

		// Once no participant uses it, it goes.
		pa.PresetID = w.p2.ID
		must(t, s.UpdateParticipant(ctx, pa))
		must(t, s.DeletePreset(ctx, w.app1.ID, w.p1.ID))
		pb := participant(w.m2, w.p2.ID, "pb", "cust-b", at(6))
		must(t, s.CreateParticipant(ctx, pb))
		wantErr(t, "DeletePreset(in use in two meetings)", s.DeletePreset(ctx, w.app1.ID, w.p2.ID), store.ErrConflict)
		must(t, s.DeleteParticipant(ctx, pa.MeetingID, pa.ID))
		must(t, s.DeleteParticipant(ctx, pb.MeetingID, pb.ID))
		must(t, s.DeletePreset(ctx, w.app1.ID, w.p2.ID))
	})
}
