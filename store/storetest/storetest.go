// Package storetest is the contract suite for store.Store: it checks, through
// the interface only, what the doc comments of package store promise. Every
// implementation runs Run from its own tests. The package holds no storage
// itself and is imported by tests only.
package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"rtk-sidecar/store"
)

// Run checks a store.Store implementation against the contract in package
// store. Each call of open must return a new, empty store, and arrange with
// t.Cleanup for it to be closed and removed when t ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Apps", func(t *testing.T) { testApps(t, open) })
	t.Run("Meetings", func(t *testing.T) { testMeetings(t, open) })
	t.Run("ListMeetings", func(t *testing.T) { testListMeetings(t, open) })
	t.Run("Presets", func(t *testing.T) { testPresets(t, open) })
	t.Run("Participants", func(t *testing.T) { testParticipants(t, open) })
	t.Run("Recordings", func(t *testing.T) { testRecordings(t, open) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, open) })
	t.Run("InTx", func(t *testing.T) { testInTx(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("Breakouts", func(t *testing.T) { testBreakouts(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("Webhooks", func(t *testing.T) { testWebhooks(t, open) })
	t.Run("Stats", func(t *testing.T) { testStats(t, open) })
}

// t0 has nanoseconds and a zone on purpose: the store must return it
// truncated to microseconds, in UTC.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))

// at returns t0 plus n minutes.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// Fixtures: records with every field set, differing by id.

func app(id, account string, created time.Time) store.App {
	return store.App{ID: id, AccountID: account, Name: "app " + id, CreatedAt: created}
}

func meeting(appID, id, title string, created time.Time) store.Meeting {
	return store.Meeting{
		ID:                         id,
		AppID:                      appID,
		Title:                      title,
		Status:                     store.MeetingActive,
		RecordOnStart:              true,
		LiveStreamOnStart:          true,
		PersistChat:                true,
		SummarizeOnEnd:             true,
		SessionKeepAliveTimeInSecs: 60,
		PreferredRegion:            "ap-south-1",
		AIConfig:                   json.RawMessage(`{"transcription": {"language": "en-US"}}`),
		RecordingConfig:            json.RawMessage(`{"max_seconds": 3600, "file_name_prefix": "rec"}`),
		CreatedAt:                  created,
		UpdatedAt:                  created.Add(time.Second),
	}
}

func child(parent store.Meeting, id, title string, created time.Time) store.Meeting {
	m := meeting(parent.AppID, id, title, created)
	m.ParentID = parent.ID
	return m
}

func preset(appID, id, name string, created time.Time) store.Preset {
	return store.Preset{
		ID:        id,
		AppID:     appID,
		Name:      name,
		Body:      json.RawMessage(`{"config": {"view_type": "GROUP_CALL"}, "ui": {}, "permissions": {"can_record": true}}`),
		CreatedAt: created,
		UpdatedAt: created.Add(time.Second),
	}
}

func participant(m store.Meeting, presetID, id, customID string, created time.Time) store.Participant {
	return store.Participant{
		ID:                  id,
		AppID:               m.AppID,
		MeetingID:           m.ID,
		CustomParticipantID: customID,
		PresetID:            presetID,
		Name:                "Name " + id,
		Picture:             "https://example.com/" + id + ".png",
		CreatedAt:           created,
		UpdatedAt:           created.Add(time.Second),
	}
}

// world is a small set of related records in two apps.
type world struct {
	app1, app2     store.App
	m1, m2, mOther store.Meeting // m1 and m2 in app1, mOther in app2
	p1, p2, pOther store.Preset  // p1 and p2 in app1, pOther in app2
}

// seed stores a world.
func seed(t *testing.T, s store.Store) world {
	t.Helper()
	w := world{app1: app("app-1", "acct-1", at(0)), app2: app("app-2", "acct-1", at(0))}
	w.m1 = meeting(w.app1.ID, "m-1", "First", at(1))
	w.m2 = meeting(w.app1.ID, "m-2", "Second", at(2))
	w.mOther = meeting(w.app2.ID, "m-other", "Other", at(3))
	w.p1 = preset(w.app1.ID, "p-1", "host", at(1))
	w.p2 = preset(w.app1.ID, "p-2", "guest", at(2))
	w.pOther = preset(w.app2.ID, "p-other", "host", at(3))
	ctx := t.Context()
	must(t, s.CreateApp(ctx, w.app1))
	must(t, s.CreateApp(ctx, w.app2))
	for _, m := range []store.Meeting{w.m1, w.m2, w.mOther} {
		must(t, s.CreateMeeting(ctx, m))
	}
	for _, p := range []store.Preset{w.p1, w.p2, w.pOther} {
		must(t, s.CreatePreset(ctx, p))
	}
	return w
}

// must fails the test now if err is not nil.
// oneWins checks the results of racing attempts (errs, closed): exactly
// one succeeded, and every other lost with ErrConflict.
func oneWins(t *testing.T, what string, errs <-chan error) {
	t.Helper()
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("losing %s: %v, want ErrConflict", what, err)
		}
	}
	if won != 1 {
		t.Errorf("%d of the racing %ss won, want 1", won, what)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr checks that err is, or wraps, target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

// same checks that got equals want, a record as it was written: got's times
// must be want's truncated to microseconds, in UTC, and its JSON documents
// must be nil exactly when want's are, and otherwise hold the same JSON value.
func same[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if d := diff(got, want); len(d) > 0 {
		t.Errorf("%s differs:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

func diff(got, want any) []string {
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	var out []string
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		switch g := gv.Field(i).Interface().(type) {
		case time.Time:
			w := wv.Field(i).Interface().(time.Time).Truncate(time.Microsecond)
			if !g.Equal(w) || g.Location() != time.UTC {
				out = append(out, fmt.Sprintf("%s: got %v, want %v", name, g, w.UTC()))
			}
		case json.RawMessage:
			w := wv.Field(i).Interface().(json.RawMessage)
			if !sameJSON(g, w) {
				out = append(out, fmt.Sprintf("%s: got %s, want %s", name, showJSON(g), showJSON(w)))
			}
		default:
			w := wv.Field(i).Interface()
			if !reflect.DeepEqual(g, w) {
				out = append(out, fmt.Sprintf("%s: got %#v, want %#v", name, g, w))
			}
		}
	}
	return out
}

// sameJSON reports whether a and b are both nil, or hold the same JSON value
// (an implementation may store documents in a normalized form).
func sameJSON(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if bytes.Equal(a, b) {
		return true
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func showJSON(m json.RawMessage) string {
	if m == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", m)
}

// ids returns the ids of records, in order.
func ids[T any](records []T) []string {
	out := make([]string, 0, len(records))
	for _, r := range records {
		out = append(out, reflect.ValueOf(r).FieldByName("ID").String())
	}
	return out
}

// wantList checks a list result: the ids in order, and the total.
func wantList[T any](t *testing.T, what string, got []T, total int, err error, wantTotal int, wantIDs ...string) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if g := ids(got); !slices.Equal(g, wantIDs) {
		t.Errorf("%s: got %q, want %q", what, g, wantIDs)
	}
	if total != wantTotal {
		t.Errorf("%s: total = %d, want %d", what, total, wantTotal)
	}
}
