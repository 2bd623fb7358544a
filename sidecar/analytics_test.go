package sidecar_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/realtime_kit"
	"github.com/google/uuid"

	"rtk-sidecar/store"
	"rtk-sidecar/webhooks"
)

// TestSDKAnalyticsDaywise: GET .../analytics/daywise through the Cloudflare SDK
// (Analytics.GetOrgAnalytics) answers, for each UTC day of the range, the sessions started
// that day with their participant minutes and the recordings invoked that day with their
// minutes, and the totals; days without any are zeros; another app's sessions do not count.
func TestSDKAnalyticsDaywise(t *testing.T) {
	e := newLKEnv(t, webhooks.Options{})
	ctx := context.Background()
	m := e.meeting("Daily")
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	session := func(appID, meetingID string, started time.Time, participantTime time.Duration) {
		t.Helper()
		s := store.Session{ID: uuid.NewString(), AppID: appID, MeetingID: meetingID, Title: "Daily", Status: store.SessionEnded,
			ParticipantTime: participantTime, StartedAt: started, EndedAt: started.Add(time.Hour), CreatedAt: started, UpdatedAt: started}
		if err := e.st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	session(appID, m.ID, day(1, 9), 30*time.Minute)
	session(appID, m.ID, day(1, 23), 90*time.Second)
	session(appID, m.ID, day(3, 0), time.Hour)
	session(appID, m.ID, day(5, 0), time.Hour) // after the range
	other := store.Meeting{ID: uuid.NewString(), AppID: otherApp, Title: "x", Status: store.MeetingActive, CreatedAt: day(1, 0), UpdatedAt: day(1, 0)}
	if err := e.st.CreateMeeting(ctx, other); err != nil {
		t.Fatal(err)
	}
	session(otherApp, other.ID, day(2, 12), time.Hour)
	for i, r := range []struct {
		invoked time.Time
		seconds int
	}{{day(2, 10), 600}, {day(2, 11), 150}, {day(4, 8), 0}} {
		rec := store.Recording{ID: uuid.NewString(), AppID: appID, MeetingID: m.ID, Kind: "composite", Backend: "local",
			Status: store.RecordingUploaded, Duration: r.seconds, InvokedAt: r.invoked, UpdatedAt: r.invoked}
		if err := e.st.CreateRecording(ctx, rec); err != nil {
			t.Fatalf("recording %d: %v", i, err)
		}
	}

	analytics := sdkClient(e.env, secret).RealtimeKit.Analytics
	acc := cloudflare.F(account)
	res := mustSDK(analytics.GetOrgAnalytics(ctx, appID, realtime_kit.AnalyticsGetOrgAnalyticsParams{
		AccountID: acc, StartDate: cloudflare.F("2026-03-01"), EndDate: cloudflare.F("2026-03-04"),
	}))(t, "GetOrgAnalytics")
	ss, rs := res.Data.SessionStats, res.Data.RecordingStats
	if ss.SessionsCount != 3 || ss.SessionsMinutesConsumed != 91.5 {
		t.Errorf("session totals: %d sessions, %v minutes; want 3, 91.5", ss.SessionsCount, ss.SessionsMinutesConsumed)
	}
	if rs.RecordingCount != 3 || rs.RecordingMinutesConsumed != 12.5 {
		t.Errorf("recording totals: %d recordings, %v minutes; want 3, 12.5", rs.RecordingCount, rs.RecordingMinutesConsumed)
	}
	type sDay struct {
		day     string
		n       int64
		minutes float64
	}
	var gotS []sDay
	for _, d := range ss.DayStats {
		gotS = append(gotS, sDay{d.Day, d.TotalSessions, d.TotalSessionMinutes})
	}
	wantS := []sDay{{"2026-03-01", 2, 31.5}, {"2026-03-02", 0, 0}, {"2026-03-03", 1, 60}, {"2026-03-04", 0, 0}}
	if len(gotS) != len(wantS) || gotS[0] != wantS[0] || gotS[1] != wantS[1] || gotS[2] != wantS[2] || gotS[3] != wantS[3] {
		t.Errorf("session days = %v, want %v", gotS, wantS)
	}
	var gotR []sDay
	for _, d := range rs.DayStats {
		gotR = append(gotR, sDay{d.Day, d.TotalRecordings, float64(d.TotalRecordingMinutes)})
	}
	wantR := []sDay{{"2026-03-01", 0, 0}, {"2026-03-02", 2, 13}, {"2026-03-03", 0, 0}, {"2026-03-04", 1, 0}}
	if len(gotR) != len(wantR) || gotR[0] != wantR[0] || gotR[1] != wantR[1] || gotR[2] != wantR[2] || gotR[3] != wantR[3] {
		t.Errorf("recording days = %v, want %v (minutes rounded per day)", gotR, wantR)
	}

	// Without dates: the 30 days up to today.
	res = mustSDK(analytics.GetOrgAnalytics(ctx, appID, realtime_kit.AnalyticsGetOrgAnalyticsParams{AccountID: acc}))(t, "GetOrgAnalytics without dates")
	days := res.Data.SessionStats.DayStats
	if today := time.Now().UTC().Format("2006-01-02"); len(days) != 30 || days[29].Day != today {
		t.Errorf("default range: %d days, the last %+v; want 30 up to %s", len(days), days[len(days)-1], today)
	}

	for _, bad := range []struct{ start, end, want string }{
		{"2026-03-05", "2026-03-01", `"start_date" must not be after end_date`},
		{"yesterday", "", `"start_date" must be a date as YYYY-MM-DD`},
		{"", "2026-3-1", `"end_date" must be a date as YYYY-MM-DD`},
		{"2024-01-01", "2026-01-01", `"start_date" is more than 366 days before end_date`},
	} {
		p := realtime_kit.AnalyticsGetOrgAnalyticsParams{AccountID: acc}
		if bad.start != "" {
			p.StartDate = cloudflare.F(bad.start)
		}
		if bad.end != "" {
			p.EndDate = cloudflare.F(bad.end)
		}
		_, err := analytics.GetOrgAnalytics(ctx, appID, p)
		wantSDKError(t, "GetOrgAnalytics "+bad.start+".."+bad.end, err, 400, bad.want)
	}
}

// TestSessionBreakoutRoomsEmpty: asked for its breakout rooms, a session without any answers
// "breakout_rooms": [] rather than leaving the key out; not asked, the key is absent.
func TestSessionBreakoutRoomsEmpty(t *testing.T) {
	e := newLKEnv(t, webhooks.Options{})
	m := e.meeting("Alone")
	ada, _ := e.addParticipant(m.ID, "ada", "group_call_host")
	e.join(m, ada)
	sid := e.must(200, "GET", basePathF+"/meetings/"+m.ID+"/active-session", nil).data()["id"].(string)

	s := e.must(200, "GET", basePathF+"/sessions/"+sid+"?include_breakout_rooms=true", nil).data()["session"].(map[string]any)
	if rooms, ok := s["breakout_rooms"].([]any); !ok || len(rooms) != 0 {
		t.Errorf("breakout_rooms asked for = %#v (present %v), want []", s["breakout_rooms"], ok)
	}
	s = e.must(200, "GET", basePathF+"/sessions/"+sid, nil).data()["session"].(map[string]any)
	if _, ok := s["breakout_rooms"]; ok {
		t.Errorf("breakout_rooms not asked for = %#v, want the key absent", s["breakout_rooms"])
	}
	details := mustSDK(sdkClient(e.env, secret).RealtimeKit.Sessions.GetSessionDetails(context.Background(), appID, sid,
		realtime_kit.SessionGetSessionDetailsParams{AccountID: cloudflare.F(account), IncludeBreakoutRooms: cloudflare.F(true)}))(t, "GetSessionDetails")
	if details.Data.Session.BreakoutRooms == nil || len(details.Data.Session.BreakoutRooms) != 0 {
		t.Errorf("the SDK decoded breakout_rooms as %#v, want an empty list", details.Data.Session.BreakoutRooms)
	}
}
