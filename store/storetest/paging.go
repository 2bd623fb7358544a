package storetest

import (
	"fmt"
	"slices"
	"testing"

	"rtk-sidecar/store"
)

// testPaging checks that paging is stable when records share a CreatedAt:
// walking the pages returns every record exactly once.
func testPaging(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	must(t, s.CreateApp(ctx, app("app-0", "acct-1", t0)))
	m0 := meeting("app-0", "m-0", "Meeting", t0)
	must(t, s.CreateMeeting(ctx, m0))
	must(t, s.CreatePreset(ctx, preset("app-0", "p-0", "preset", t0)))
	var wantApps, wantMeetings, wantPresets, wantParticipants []string
	for _, i := range []int{4, 1, 6, 0, 3, 5, 2} { // stored out of order
		id := fmt.Sprintf("tie-%d", i)
		must(t, s.CreateApp(ctx, app(id, "acct-tie", at(1))))
		must(t, s.CreateMeeting(ctx, meeting("app-0", id, "Tie", at(1))))
		must(t, s.CreatePreset(ctx, preset("app-0", id, id, at(1))))
		must(t, s.CreateParticipant(ctx, participant(m0, "p-0", id, id, at(1))))
		wantApps = append(wantApps, id)
		wantMeetings = append(wantMeetings, id)
		wantPresets = append(wantPresets, id)
		wantParticipants = append(wantParticipants, id)
	}
	wantMeetings = append(wantMeetings, "m-0")
	wantPresets = append(wantPresets, "p-0")

	walk := func(t *testing.T, want []string, list func(p store.Page) ([]string, int, error)) {
		t.Helper()
		for _, limit := range []int{1, 2, 3} {
			var got []string
			for offset := 0; offset < len(want)+limit; offset += limit {
				page, total, err := list(store.Page{Offset: offset, Limit: limit})
				must(t, err)
				if total != len(want) {
					t.Errorf("page at %d: total = %d, want %d", offset, total, len(want))
				}
				got = append(got, page...)
			}
			slices.Sort(got)
			w := slices.Sorted(slices.Values(want))
			if !slices.Equal(got, w) {
				t.Errorf("pages of %d: got %q, want each of %q once", limit, got, w)
			}
		}
	}
	t.Run("Apps", func(t *testing.T) {
		walk(t, wantApps, func(p store.Page) ([]string, int, error) {
			l, total, err := s.ListApps(ctx, "acct-tie", p)
			return ids(l), total, err
		})
	})
	t.Run("Meetings", func(t *testing.T) {
		walk(t, wantMeetings, func(p store.Page) ([]string, int, error) {
			l, total, err := s.ListMeetings(ctx, "app-0", store.MeetingFilter{Page: p})
			return ids(l), total, err
		})
	})
	t.Run("Presets", func(t *testing.T) {
		walk(t, wantPresets, func(p store.Page) ([]string, int, error) {
			l, total, err := s.ListPresets(ctx, "app-0", p)
			return ids(l), total, err
		})
	})
	t.Run("Participants", func(t *testing.T) {
		walk(t, wantParticipants, func(p store.Page) ([]string, int, error) {
			l, total, err := s.ListParticipants(ctx, "m-0", p)
			return ids(l), total, err
		})
	})
}
