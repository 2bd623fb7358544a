package meetings

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/livekit/psrpc"

	"rtk-sidecar/presets"
	"rtk-sidecar/store"
)

func TestCreateApp(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, give string
		want       string // the stored name; "" when refused
	}{
		{"empty", "", ""},
		{"blank", "   ", ""},
		{"too long", strings.Repeat("a", 256), ""},
		{"longest", strings.Repeat("a", 255), strings.Repeat("a", 255)},
		{"trimmed", "  Team  ", "Team"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := e.svc.CreateApp(e.ctx, account, tc.give)
			if tc.want == "" {
				wantErr(t, err, psrpc.InvalidArgument, `"name"`)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Name != tc.want || a.AccountID != account || a.ID == "" {
				t.Fatalf("app = %+v, want name %q in %s", a, tc.want, account)
			}
		})
	}
	apps, total, err := e.svc.ListApps(e.ctx, account, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(apps) != 3 { // the env's app and the two created
		t.Fatalf("ListApps: %d apps, total %d, want 3", len(apps), total)
	}
}

// Every new app gets the built-in presets, once.
func TestAppDefaultPresets(t *testing.T) {
	e := newEnv(t)
	var want []string
	for _, p := range presets.Defaults() {
		want = append(want, p.Name)
	}
	names := func(appID string) []string {
		t.Helper()
		ps, total, err := e.svc.ListPresets(e.ctx, appID, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if total != len(ps) {
			t.Fatalf("total %d, listed %d", total, len(ps))
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		slices.Sort(out)
		return out
	}
	slices.Sort(want)
	if got := names(appID); !slices.Equal(got, want) {
		t.Fatalf("presets of the ensured app: %q, want %q", got, want)
	}
	a, err := e.svc.CreateApp(e.ctx, account, "second")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(a.ID); !slices.Equal(got, want) {
		t.Fatalf("presets of a created app: %q, want %q", got, want)
	}
	// Ensuring the app again neither changes it nor seeds twice.
	again, err := e.svc.EnsureApp(e.ctx, account, appID, "renamed")
	if err != nil {
		t.Fatal(err)
	}
	if again.Name != "app" {
		t.Fatalf("EnsureApp renamed the existing app to %q", again.Name)
	}
	if got := names(appID); !slices.Equal(got, want) {
		t.Fatalf("presets after a second EnsureApp: %q, want %q", got, want)
	}
}

func TestEnsureApp(t *testing.T) {
	e := newEnv(t)
	const other = "5b4a3d2f-8c7e-4f60-9b8c-1d2e3f4a5b6c"
	a, err := e.svc.EnsureApp(e.ctx, account, other, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != other || a.Name != "default" || a.AccountID != account {
		t.Fatalf("EnsureApp without a name: %+v, want id %s named default", a, other)
	}
	// App ids are global: another account cannot claim one.
	if _, err := e.svc.EnsureApp(e.ctx, "acct-2", appID, "mine"); err == nil {
		t.Fatal("EnsureApp of another account's app id succeeded")
	}
	if got, err := e.svc.App(e.ctx, account, appID); err != nil || got.Name != "app" {
		t.Fatalf("the app after another account's claim: %+v, %v", got, err)
	}
}

// An app of another account is reported as not found, like a missing one.
func TestAppOfAnotherAccount(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.App(e.ctx, account, appID); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.App(e.ctx, "acct-2", appID)
	wantErr(t, err, psrpc.NotFound, appID)
	_, err = e.svc.App(e.ctx, account, "no-such-app")
	wantErr(t, err, psrpc.NotFound, "no-such-app")
	if apps, total, err := e.svc.ListApps(e.ctx, "acct-2", store.Page{}); err != nil || total != 0 || len(apps) != 0 {
		t.Fatalf("ListApps of another account: %v, total %d, %v", apps, total, err)
	}
}

func TestCreateMeetingDefaults(t *testing.T) {
	e := newEnv(t)
	m, err := e.svc.CreateMeeting(e.ctx, appID, MeetingInput{Title: "  All hands  "})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != store.MeetingActive || m.Title != "All hands" || m.AppID != appID || m.ParentID != "" {
		t.Fatalf("meeting = %+v, want an ACTIVE top-level meeting titled %q", m, "All hands")
	}
	if m.RecordOnStart || m.LiveStreamOnStart || m.PersistChat || m.SummarizeOnEnd ||
		m.SessionKeepAliveTimeInSecs != 0 || m.PreferredRegion != "" || m.AIConfig != nil || m.RecordingConfig != nil {
		t.Fatalf("meeting without settings has settings: %+v", m)
	}
	if m.CreatedAt.IsZero() || !m.UpdatedAt.Equal(m.CreatedAt) {
		t.Fatalf("created %v, updated %v: want equal and set", m.CreatedAt, m.UpdatedAt)
	}
	untitled, err := e.svc.CreateMeeting(e.ctx, appID, MeetingInput{})
	if err != nil {
		t.Fatal(err)
	}
	if untitled.Title != "" || untitled.ID == m.ID {
		t.Fatalf("a meeting without a body: %+v", untitled)
	}
}

// meetingCases are inputs of a meeting create, each valid or refused with
// InvalidArgument naming a field.
var meetingCases = []struct {
	name  string
	body  string
	field string // "" when valid
}{
	{"empty", `{}`, ""},
	{"longest title", `{"title": "` + strings.Repeat("t", 1024) + `"}`, ""},
	{"title too long", `{"title": "` + strings.Repeat("t", 1025) + `"}`, "title"},
	{"keep-alive 0", `{"session_keep_alive_time_in_secs": 0}`, ""},
	{"keep-alive a day", `{"session_keep_alive_time_in_secs": 86400}`, ""},
	{"keep-alive over a day", `{"session_keep_alive_time_in_secs": 86401}`, "session_keep_alive_time_in_secs"},
	{"keep-alive negative", `{"session_keep_alive_time_in_secs": -1}`, "session_keep_alive_time_in_secs"},
	{"keep-alive fractional", `{"session_keep_alive_time_in_secs": 1.5}`, "session_keep_alive_time_in_secs"},
	{"region", `{"preferred_region": "eu-central-1"}`, ""},
	{"region empty", `{"preferred_region": ""}`, ""},
	{"region unknown", `{"preferred_region": "mars-1"}`, "preferred_region"},
	{"ai language", `{"ai_config": {"transcription": {"language": "de"}}}`, ""},
	{"ai language unknown", `{"ai_config": {"transcription": {"language": "tlh"}}}`, "ai_config.transcription.language"},
	{"ai blank keyword", `{"ai_config": {"transcription": {"keywords": ["ok", " "]}}}`, "ai_config.transcription.keywords[1]"},
	{"ai word limit", `{"ai_config": {"summarization": {"word_limit": 150}}}`, ""},
	{"ai word limit low", `{"ai_config": {"summarization": {"word_limit": 149}}}`, "ai_config.summarization.word_limit"},
	{"ai word limit high", `{"ai_config": {"summarization": {"word_limit": 1001}}}`, "ai_config.summarization.word_limit"},
	{"ai text format", `{"ai_config": {"summarization": {"text_format": "html"}}}`, "ai_config.summarization.text_format"},
	{"ai summary type", `{"ai_config": {"summarization": {"summary_type": "poem"}}}`, "ai_config.summarization.summary_type"},
	{"recording max seconds", `{"recording_config": {"max_seconds": 60}}`, ""},
	{"recording max seconds low", `{"recording_config": {"max_seconds": 59}}`, "recording_config.max_seconds"},
	{"recording prefix with a path", `{"recording_config": {"file_name_prefix": "a/b"}}`, "recording_config.file_name_prefix"},
	{"video codec", `{"recording_config": {"video_config": {"codec": "AV1"}}}`, "recording_config.video_config.codec"},
	{"video width", `{"recording_config": {"video_config": {"width": 0}}}`, "recording_config.video_config.width"},
	{"watermark url", `{"recording_config": {"video_config": {"watermark": {"url": "ftp://x/w.png"}}}}`, "recording_config.video_config.watermark.url"},
	{"watermark position", `{"recording_config": {"video_config": {"watermark": {"position": "center"}}}}`, "recording_config.video_config.watermark.position"},
	{"audio codec", `{"recording_config": {"audio_config": {"codec": "FLAC"}}}`, "recording_config.audio_config.codec"},
	{"audio channel", `{"recording_config": {"audio_config": {"channel": "quad"}}}`, "recording_config.audio_config.channel"},
	{"storage", `{"recording_config": {"storage_config": {"type": "aws", "bucket": "b", "port": 443}}}`, ""},
	{"storage without type", `{"recording_config": {"storage_config": {"bucket": "b"}}}`, "recording_config.storage_config.type"},
	{"storage type unknown", `{"recording_config": {"storage_config": {"type": "floppy"}}}`, "recording_config.storage_config.type"},
	{"storage auth method", `{"recording_config": {"storage_config": {"type": "sftp", "auth_method": "TOKEN"}}}`, "recording_config.storage_config.auth_method"},
	{"storage port", `{"recording_config": {"storage_config": {"type": "sftp", "port": 0}}}`, "recording_config.storage_config.port"},
	{"bucket without enabled", `{"recording_config": {"realtimekit_bucket_config": {}}}`, "recording_config.realtimekit_bucket_config.enabled"},
	{"rtmps", `{"recording_config": {"live_streaming_config": {"rtmp_url": "rtmps://live.example/app"}}}`, ""},
	{"rtmp url over http", `{"recording_config": {"live_streaming_config": {"rtmp_url": "http://live.example/app"}}}`, "recording_config.live_streaming_config.rtmp_url"},
	// Only the first problem is reported, in document order.
	{"first problem", `{"recording_config": {"max_seconds": 1, "video_config": {"codec": "AV1"}}}`, "recording_config.max_seconds"},
}

func TestMeetingValidation(t *testing.T) {
	e := newEnv(t)
	valid := 0
	for _, tc := range meetingCases {
		t.Run(tc.name, func(t *testing.T) {
			var in MeetingInput
			if err := json.Unmarshal([]byte(tc.body), &in); err != nil {
				t.Fatal(err)
			}
			m, err := e.svc.CreateMeeting(e.ctx, appID, in)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				valid++
				if m.ID == "" {
					t.Fatal("no id")
				}
				return
			}
			wantErr(t, err, psrpc.InvalidArgument, `"`+tc.field+`"`)
		})
	}
	// Refused meetings are not stored.
	if _, total, err := e.svc.ListMeetings(e.ctx, appID, store.MeetingFilter{}); err != nil || total != valid {
		t.Fatalf("%d meetings stored (%v), want the %d valid ones", total, err, valid)
	}
}

// A meeting's AI and recording configs are stored as canonical JSON, and
// the recording config's credentials are kept but never shown.
func TestMeetingDocuments(t *testing.T) {
	e := newEnv(t)
	var in MeetingInput
	body := `{"ai_config": {"transcription": {"language": "fr", "keywords": ["rtk"]}},
		"recording_config": {"file_name_prefix": "rec", "storage_config": {"type": "sftp", "host": "h", "password": "pw", "secret": "s", "private_key": "k"}}}`
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	m, err := e.svc.CreateMeeting(e.ctx, appID, in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(m.AIConfig), `{"transcription":{"keywords":["rtk"],"language":"fr"}}`; got != want {
		t.Fatalf("ai_config = %s, want %s", got, want)
	}
	if !strings.Contains(string(m.RecordingConfig), `"password":"pw"`) {
		t.Fatalf("recording_config lost its credentials: %s", m.RecordingConfig)
	}
	red := string(Redacted(m.RecordingConfig))
	for _, secret := range []string{"pw", `"s"`, `"k"`, "password", "private_key"} {
		if strings.Contains(red, secret) {
			t.Fatalf("Redacted shows %s: %s", secret, red)
		}
	}
	if !strings.Contains(red, `"host":"h"`) || !strings.Contains(red, `"file_name_prefix":"rec"`) {
		t.Fatalf("Redacted dropped more than the credentials: %s", red)
	}
	if Redacted(nil) != nil || Redacted([]byte("not json")) != nil {
		t.Fatal("Redacted of nothing or of garbage is not nil")
	}
}

func TestUpdateMeeting(t *testing.T) {
	e := newEnv(t)
	m, err := e.svc.CreateMeeting(e.ctx, appID, MeetingInput{Title: "Old", RecordOnStart: true, PreferredRegion: ptr("us-east-1")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.UpdateMeeting(e.ctx, appID, m.ID, MeetingPatch{Title: ptr(" New "), PersistChat: ptr(true),
		SessionKeepAliveTimeInSecs: ptr(60.0), AIConfig: &AIConfig{Summarization: &Summarization{TextFormat: "markdown"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "New" || !got.PersistChat || got.SessionKeepAliveTimeInSecs != 60 ||
		string(got.AIConfig) != `{"summarization":{"text_format":"markdown"}}` {
		t.Fatalf("patched fields: %+v", got)
	}
	if !got.RecordOnStart || got.PreferredRegion != "us-east-1" || got.Status != store.MeetingActive {
		t.Fatalf("a patch changed fields it did not name: %+v", got)
	}
	if !got.CreatedAt.Equal(m.CreatedAt) || !got.UpdatedAt.After(m.UpdatedAt) {
		t.Fatalf("times: created %v -> %v, updated %v -> %v", m.CreatedAt, got.CreatedAt, m.UpdatedAt, got.UpdatedAt)
	}

	for _, tc := range []struct {
		name  string
		patch MeetingPatch
		field string
	}{
		{"status unknown", MeetingPatch{Status: ptr("ENDED")}, "status"},
		{"title too long", MeetingPatch{Title: ptr(strings.Repeat("t", 1025))}, "title"},
		{"keep-alive", MeetingPatch{SessionKeepAliveTimeInSecs: ptr(-5.0)}, "session_keep_alive_time_in_secs"},
		{"region", MeetingPatch{PreferredRegion: ptr("moon")}, "preferred_region"},
		{"ai config", MeetingPatch{AIConfig: &AIConfig{Transcription: &Transcription{Language: "xx"}}}, "ai_config.transcription.language"},
		// A valid field does not get stored beside an invalid one.
		{"half valid", MeetingPatch{Title: ptr("Half"), Status: ptr("LIVE")}, "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.UpdateMeeting(e.ctx, appID, m.ID, tc.patch)
			wantErr(t, err, psrpc.InvalidArgument, `"`+tc.field+`"`)
			now, err := e.svc.Meeting(e.ctx, appID, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if now.Title != got.Title || now.Status != got.Status || !now.UpdatedAt.Equal(got.UpdatedAt) {
				t.Fatalf("a refused patch changed the meeting: %+v", now)
			}
		})
	}

	_, err = e.svc.UpdateMeeting(e.ctx, appID, "no-such-meeting", MeetingPatch{Title: ptr("x")})
	wantErr(t, err, psrpc.NotFound, "no-such-meeting")
	other, err := e.svc.CreateApp(e.ctx, account, "other")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.UpdateMeeting(e.ctx, other.ID, m.ID, MeetingPatch{Title: ptr("x")})
	wantErr(t, err, psrpc.NotFound, m.ID)
	_, err = e.svc.Meeting(e.ctx, other.ID, m.ID)
	wantErr(t, err, psrpc.NotFound, m.ID)
}

// The status changes only through a patch, both ways; a replace keeps it.
func TestMeetingStatus(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("M")
	for _, status := range []string{store.MeetingInactive, store.MeetingActive, store.MeetingInactive} {
		got, err := e.svc.UpdateMeeting(e.ctx, appID, m.ID, MeetingPatch{Status: ptr(status)})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != status {
			t.Fatalf("status %s after patching it to %s", got.Status, status)
		}
	}
	got, err := e.svc.ReplaceMeeting(e.ctx, appID, m.ID, MeetingInput{Title: "Replaced"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.MeetingInactive || got.Title != "Replaced" {
		t.Fatalf("after a replace: status %s, title %q; want INACTIVE, Replaced", got.Status, got.Title)
	}
}

// A replace sets every settable field: what its body leaves out is reset.
func TestReplaceMeeting(t *testing.T) {
	e := newEnv(t)
	m, err := e.svc.CreateMeeting(e.ctx, appID, MeetingInput{Title: "Full", RecordOnStart: true, PersistChat: true,
		SessionKeepAliveTimeInSecs: ptr(30.0), PreferredRegion: ptr("ap-south-1"),
		AIConfig: &AIConfig{Transcription: &Transcription{Language: "en-US"}}, RecordingConfig: &RecordingConfig{FileNamePrefix: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.ReplaceMeeting(e.ctx, appID, m.ID, MeetingInput{Title: "Bare", SummarizeOnEnd: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "Bare" || !got.SummarizeOnEnd || got.RecordOnStart || got.PersistChat ||
		got.SessionKeepAliveTimeInSecs != 0 || got.PreferredRegion != "" || got.AIConfig != nil || got.RecordingConfig != nil {
		t.Fatalf("after a replace: %+v", got)
	}
	_, err = e.svc.ReplaceMeeting(e.ctx, appID, m.ID, MeetingInput{PreferredRegion: ptr("nowhere")})
	wantErr(t, err, psrpc.InvalidArgument, `"preferred_region"`)
	_, err = e.svc.ReplaceMeeting(e.ctx, appID, "no-such-meeting", MeetingInput{})
	wantErr(t, err, psrpc.NotFound, "no-such-meeting")
}

func TestListMeetings(t *testing.T) {
	e := newEnv(t)
	var ids []string // oldest first
	for _, title := range []string{"Standup", "Retro", "standup notes", "Planning", "Review"} {
		ids = append(ids, e.meeting(title).ID)
	}
	titles := func(ms []store.Meeting) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Title)
		}
		return out
	}

	// Newest first, in pages, with the total.
	var walked []string
	for offset := 0; offset < 6; offset += 2 {
		page, total, err := e.svc.ListMeetings(e.ctx, appID, store.MeetingFilter{Page: store.Page{Offset: offset, Limit: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if total != 5 {
			t.Fatalf("page at %d: total %d, want 5", offset, total)
		}
		walked = append(walked, titles(page)...)
	}
	if want := []string{"Review", "Planning", "standup notes", "Retro", "Standup"}; !slices.Equal(walked, want) {
		t.Fatalf("pages: %q, want %q", walked, want)
	}

	for _, tc := range []struct {
		name   string
		filter store.MeetingFilter
		want   []string
		total  int
	}{
		{"title, any case", store.MeetingFilter{Search: "STANDUP"}, []string{"standup notes", "Standup"}, 2},
		{"no match", store.MeetingFilter{Search: "lunch"}, nil, 0},
		// A meeting id finds that meeting, whatever its title.
		{"id", store.MeetingFilter{Search: " " + ids[1] + " "}, []string{"Retro"}, 1},
		{"id, second page", store.MeetingFilter{Search: ids[1], Page: store.Page{Offset: 1}}, nil, 1},
		{"unknown id", store.MeetingFilter{Search: "6f1d2c3b-0000-4000-8000-000000000000"}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := e.svc.ListMeetings(e.ctx, appID, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(titles(got), tc.want) || total != tc.total {
				t.Fatalf("got %q (total %d), want %q (total %d)", titles(got), total, tc.want, tc.total)
			}
		})
	}

	// Another app's meeting is not found by its id.
	other, err := e.svc.CreateApp(e.ctx, account, "other")
	if err != nil {
		t.Fatal(err)
	}
	if got, total, err := e.svc.ListMeetings(e.ctx, other.ID, store.MeetingFilter{Search: ids[0]}); err != nil || total != 0 || len(got) != 0 {
		t.Fatalf("another app's search by id: %q, total %d, %v", titles(got), total, err)
	}
}
