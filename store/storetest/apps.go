package storetest

import (
	"testing"

	"rtk-sidecar/store"
)

func testApps(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		a := app("app-1", "acct-1", t0)
		must(t, s.CreateApp(t.Context(), a))
		got, err := s.GetApp(t.Context(), a.ID)
		must(t, err)
		same(t, "GetApp", got, a)
	})

	t.Run("GetUnknown", func(t *testing.T) {
		s := open(t)
		_, err := s.GetApp(t.Context(), "nope")
		wantErr(t, "GetApp(unknown)", err, store.ErrNotFound)
	})

	t.Run("CreateDuplicate", func(t *testing.T) {
		s := open(t)
		a := app("app-1", "acct-1", t0)
		must(t, s.CreateApp(t.Context(), a))
		dup := app(a.ID, "acct-2", at(1))
		dup.Name = "other"
		wantErr(t, "CreateApp(same id)", s.CreateApp(t.Context(), dup), store.ErrConflict)
		got, err := s.GetApp(t.Context(), a.ID)
		must(t, err)
		same(t, "app after rejected duplicate", got, a)
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		// Created out of order; listed oldest first.
		for _, a := range []store.App{
			app("a-3", "acct-1", at(3)),
			app("a-1", "acct-1", at(1)),
			app("x-1", "acct-2", at(2)),
			app("a-5", "acct-1", at(5)),
			app("a-2", "acct-1", at(2)),
			app("a-4", "acct-1", at(4)),
		} {
			must(t, s.CreateApp(ctx, a))
		}
		for _, tc := range []struct {
			name    string
			account string
			page    store.Page
			total   int
			want    []string
		}{
			{"all", "acct-1", store.Page{}, 5, []string{"a-1", "a-2", "a-3", "a-4", "a-5"}},
			{"first page", "acct-1", store.Page{Limit: 2}, 5, []string{"a-1", "a-2"}},
			{"middle page", "acct-1", store.Page{Offset: 2, Limit: 2}, 5, []string{"a-3", "a-4"}},
			{"last page", "acct-1", store.Page{Offset: 4, Limit: 2}, 5, []string{"a-5"}},
			{"offset only", "acct-1", store.Page{Offset: 3}, 5, []string{"a-4", "a-5"}},
			{"past the end", "acct-1", store.Page{Offset: 9, Limit: 2}, 5, nil},
			{"other account", "acct-2", store.Page{}, 1, []string{"x-1"}},
			{"unknown account", "acct-9", store.Page{}, 0, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, total, err := s.ListApps(ctx, tc.account, tc.page)
				wantList(t, "ListApps", got, total, err, tc.total, tc.want...)
			})
		}
		got, _, err := s.ListApps(ctx, "acct-1", store.Page{Limit: 1})
		must(t, err)
		if len(got) == 1 {
			same(t, "listed app", got[0], app("a-1", "acct-1", at(1)))
		}
	})
}
