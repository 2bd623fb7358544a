package sessions

import (
	"context"
	"math"
	"time"

	"rtk-sidecar/apierr"
	"rtk-sidecar/store"
)

// Analytics is an app's day-by-day use over a range of UTC days (the
// answer of GET .../analytics/daywise): its sessions, by the day they
// started, with their participant minutes (minutes_consumed, open stints up
// to now), and its recordings, by the day they were invoked, with their
// recorded minutes. Days holds every day of the range, oldest first, with
// zeros where nothing happened.
type Analytics struct {
	Days []DayStats
	// Sessions and SessionMinutes, Recordings and RecordingMinutes are the
	// totals over the range.
	Sessions         int
	SessionMinutes   float64
	Recordings       int
	RecordingMinutes float64
}

// DayStats is one day of Analytics.
type DayStats struct {
	Day              string // YYYY-MM-DD, UTC
	Sessions         int
	SessionMinutes   float64
	Recordings       int
	RecordingMinutes float64
}

// MaxAnalyticsDays is the longest range Analytics answers for.
const MaxAnalyticsDays = 366

// dateLayout is the form of the days of Analytics.
const dateLayout = "2006-01-02"

// Analytics returns the app's use from the UTC day start to the UTC day end,
// both included, given as YYYY-MM-DD. An empty end means today; an empty
// start means 29 days before end (30 days in all). A malformed date, a
// start after the end or a range longer than MaxAnalyticsDays is
// InvalidArgument.
func (s *Service) Analytics(ctx context.Context, appID, start, end string) (Analytics, error) {
	to := s.now().UTC().Truncate(24 * time.Hour)
	if end != "" {
		d, err := time.Parse(dateLayout, end)
		if err != nil {
			return Analytics{}, apierr.Invalid("end_date", "must be a date as YYYY-MM-DD")
		}
		to = d
	}
	from := to.AddDate(0, 0, -29)
	if start != "" {
		d, err := time.Parse(dateLayout, start)
		if err != nil {
			return Analytics{}, apierr.Invalid("start_date", "must be a date as YYYY-MM-DD")
		}
		from = d
	}
	days := int(to.Sub(from)/(24*time.Hour)) + 1
	switch {
	case days < 1:
		return Analytics{}, apierr.Invalid("start_date", "must not be after end_date")
	case days > MaxAnalyticsDays:
		return Analytics{}, apierr.Invalid("start_date", "is more than %d days before end_date", MaxAnalyticsDays)
	}
	until := to.Add(24*time.Hour - time.Microsecond) // the end of the last day

	a := Analytics{Days: make([]DayStats, days)}
	for i := range a.Days {
		a.Days[i].Day = from.AddDate(0, 0, i).Format(dateLayout)
	}
	dayOf := func(t time.Time) *DayStats {
		i := int(t.UTC().Sub(from) / (24 * time.Hour))
		if i < 0 || i >= days {
			return nil
		}
		return &a.Days[i]
	}

	sessions, _, err := s.st.ListSessions(ctx, appID, store.SessionFilter{StartedAfter: from, StartedBefore: until, Ascending: true})
	if err != nil {
		return Analytics{}, err
	}
	for _, x := range sessions {
		v, err := s.view(ctx, x, false)
		if err != nil {
			return Analytics{}, err
		}
		if d := dayOf(x.StartedAt); d != nil {
			d.Sessions++
			d.SessionMinutes += v.MinutesConsumed
			a.Sessions++
			a.SessionMinutes += v.MinutesConsumed
		}
	}
	recs, _, err := s.st.ListRecordings(ctx, appID, store.RecordingFilter{InvokedAfter: from, InvokedBefore: until, OldestFirst: true})
	if err != nil {
		return Analytics{}, err
	}
	for _, r := range recs {
		if d := dayOf(r.InvokedAt); d != nil {
			minutes := float64(r.Duration) / 60
			d.Recordings++
			d.RecordingMinutes += minutes
			a.Recordings++
			a.RecordingMinutes += minutes
		}
	}
	a.SessionMinutes, a.RecordingMinutes = round3(a.SessionMinutes), round3(a.RecordingMinutes)
	for i := range a.Days {
		a.Days[i].SessionMinutes, a.Days[i].RecordingMinutes = round3(a.Days[i].SessionMinutes), round3(a.Days[i].RecordingMinutes)
	}
	return a, nil
}

// round3 rounds to three decimals, as minutes_consumed is.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
