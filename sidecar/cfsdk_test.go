package sidecar_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/realtime_kit"
	"github.com/google/uuid"

	"rtk-sidecar/presets"
)

// These tests drive the server with the official Cloudflare Go SDK
// (cloudflare-go v6, package realtime_kit), as a Cloudflare customer would:
// every endpoint the SDK has and we implement must succeed, and every
// response must decode into the SDK's types with nothing the SDK requires
// missing and nothing it reads invalid (see sdkCheck).

// sdkClient returns an SDK client for the test server, authenticated with token.
func sdkClient(e *env, token string) *cloudflare.Client {
	return cloudflare.NewClient(
		option.WithBaseURL(e.srv.URL+"/client/v4/"),
		option.WithAPIToken(token),
		option.WithMaxRetries(0),
	)
}

// sdkMeta is the method set of the SDK's (internal) apijson.Field, the
// per-field decoding status each response struct keeps in its JSON field.
type sdkMeta interface {
	IsMissing() bool
	IsNull() bool
	IsInvalid() bool
	Raw() string
}

var timeType = reflect.TypeFor[time.Time]()

// sdkProblems walks a value the SDK decoded and returns every problem with
// its JSON path: a field the SDK marks required that is missing (or null), a
// present field it could not decode, a value whose JSON type differs from the
// field's (apijson decodes loosely, e.g. "1" into a number, and would not
// flag it), an enum value the SDK does not know, and a malformed uuid or uri
// where the SDK declares that format. It also returns the fields the SDK does
// not define, which are allowed (our superset, e.g. preset_id) but logged.
func sdkProblems(v reflect.Value, path string) (problems, extras []string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return []string{path + ": decoded to nil"}, nil
		}
		return sdkProblems(v.Elem(), path)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			p, x := sdkProblems(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			problems, extras = append(problems, p...), append(extras, x...)
		}
		return problems, extras
	case reflect.Struct:
	default:
		return nil, nil
	}
	meta := v.FieldByName("JSON")
	if !meta.IsValid() || meta.Kind() != reflect.Struct {
		return nil, nil // not an SDK model (e.g. time.Time)
	}
	typ := v.Type()
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		if f.Name == "JSON" || tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		at := strings.TrimPrefix(path+"."+name, ".")
		mv := meta.FieldByName(f.Name)
		if !mv.IsValid() {
			problems = append(problems, at+": the SDK keeps no metadata for this field")
			continue
		}
		m := mv.Interface().(sdkMeta)
		required := slices.Contains(strings.Split(opts, ","), "required")
		switch {
		case m.IsInvalid():
			problems = append(problems, fmt.Sprintf("%s: the SDK cannot decode %s into %s", at, m.Raw(), f.Type))
			continue
		case m.IsMissing():
			if required {
				problems = append(problems, at+": required by the SDK but missing")
			}
			continue
		case m.IsNull():
			if required {
				problems = append(problems, at+": required by the SDK but null")
			}
			continue
		}
		fv := v.Field(i)
		if want := jsonTypeOf(f.Type); want != "" && want != rawJSONType(m.Raw()) {
			problems = append(problems, fmt.Sprintf("%s: the SDK expects %s, got %s", at, want, m.Raw()))
		}
		if enum, ok := fv.Interface().(interface{ IsKnown() bool }); ok && !enum.IsKnown() {
			problems = append(problems, fmt.Sprintf("%s: the SDK does not know the value %s", at, m.Raw()))
		}
		if fv.Kind() == reflect.String && fv.String() != "" {
			switch f.Tag.Get("format") {
			case "uuid":
				if _, err := uuid.Parse(fv.String()); err != nil {
					problems = append(problems, fmt.Sprintf("%s: the SDK expects a uuid, got %s", at, m.Raw()))
				}
			case "uri":
				if u, err := url.Parse(fv.String()); err != nil || u.Scheme == "" {
					problems = append(problems, fmt.Sprintf("%s: the SDK expects a uri, got %s", at, m.Raw()))
				}
			}
		}
		p, x := sdkProblems(fv, at)
		problems, extras = append(problems, p...), append(extras, x...)
	}
	if extra := meta.FieldByName("ExtraFields"); extra.IsValid() {
		for _, k := range extra.MapKeys() {
			extras = append(extras, strings.TrimPrefix(path+"."+k.String(), "."))
		}
	}
	return problems, extras
}

// jsonTypeOf names the JSON type a field of type t must have ("" = any).
func jsonTypeOf(t reflect.Type) string {
	switch {
	case t == timeType:
		return "string"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		return "number"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "array"
	case t.Kind() == reflect.Struct || t.Kind() == reflect.Map:
		return "object"
	default:
		return "" // unions (interfaces) decode from several types
	}
}

// rawJSONType names the JSON type of a raw JSON value.
func rawJSONType(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// sdkCheck fails t on every problem sdkProblems finds in res, the decoded
// response of call, and logs the fields the SDK does not define.
func sdkCheck(t *testing.T, call string, res any) {
	t.Helper()
	if res == nil || reflect.ValueOf(res).IsNil() {
		t.Fatalf("%s: nil response", call)
	}
	problems, extras := sdkProblems(reflect.ValueOf(res), "")
	for _, p := range problems {
		t.Errorf("%s: %s", call, p)
	}
	if len(extras) > 0 {
		slices.Sort(extras)
		t.Logf("%s: fields the SDK does not define: %s", call, strings.Join(extras, ", "))
	}
	if s := reflect.ValueOf(res).Elem().FieldByName("Success"); s.IsValid() && !s.Bool() {
		t.Errorf("%s: success is false", call)
	}
}

// mustSDK takes an SDK call's results and returns a check of them: it fails
// t at once on the error and runs sdkCheck on the response.
func mustSDK[T any](res *T, err error) func(t *testing.T, call string) *T {
	return func(t *testing.T, call string) *T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", call, err)
		}
		sdkCheck(t, call, res)
		return res
	}
}

// wantSDKError checks that err is the SDK's API error with the status and a
// first message containing every part of want.
func wantSDKError(t *testing.T, call string, err error, status int, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %d", call, status)
	}
	var apiErr *cloudflare.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("%s: error %T %v is not a *cloudflare.Error", call, err, err)
	}
	if apiErr.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %v", call, apiErr.StatusCode, status, err)
	}
	sdkCheck(t, call+" error", apiErr)
	if len(apiErr.Errors) == 0 {
		t.Fatalf("%s: no errors[] in %s", call, apiErr.JSON.RawJSON())
	}
	if code := apiErr.Errors[0].Code; code != int64(status) {
		t.Errorf("%s: errors[0].code %d, want %d", call, code, status)
	}
	msg := apiErr.Errors[0].Message
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: errors[0].message %q does not contain %q", call, msg, w)
		}
	}
}

// near reports whether a time the server stamped is close to now.
func near(ts time.Time) bool { return time.Since(ts).Abs() < time.Minute }

// TestSDKChecker checks the checker on hand-made bodies: each defect must
// give its problem.
func TestSDKChecker(t *testing.T) {
	var res realtime_kit.MeetingAddParticipantResponse
	body := `{"success":true,"data":{"id":"not-a-uuid","token":7,"created_at":"yesterday",` +
		`"custom_participant_id":"c","updated_at":"2026-01-02T03:04:05.000Z","picture":"nope","extra":1}}`
	if err := res.UnmarshalJSON([]byte(body)); err != nil {
		t.Fatal(err)
	}
	problems, extras := sdkProblems(reflect.ValueOf(&res), "")
	got := strings.Join(problems, "\n")
	for _, want := range []string{
		"data.id: the SDK expects a uuid",
		"data.token: the SDK expects string, got 7",
		"data.created_at: the SDK cannot decode",
		"data.preset_name: required by the SDK but missing",
		"data.picture: the SDK expects a uri",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q; got:\n%s", want, got)
		}
	}
	if !slices.Equal(extras, []string{"data.extra"}) {
		t.Errorf("extras = %v, want [data.extra]", extras)
	}

	var status realtime_kit.MeetingGetMeetingByIDResponse
	if err := status.UnmarshalJSON([]byte(`{"success":true,"data":{"id":"` + uuid.NewString() +
		`","created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z","status":"PAUSED"}}`)); err != nil {
		t.Fatal(err)
	}
	if problems, _ := sdkProblems(reflect.ValueOf(&status), ""); len(problems) != 1 || !strings.Contains(problems[0], "data.status: the SDK does not know") {
		t.Errorf("problems = %v, want the unknown status", problems)
	}
}

func TestSDKApps(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	apps := sdkClient(e, secret).RealtimeKit.Apps

	created := mustSDK(apps.Post(ctx, realtime_kit.AppPostParams{
		AccountID: cloudflare.F(account), Name: cloudflare.F("from the SDK"),
	}))(t, "Apps.Post")
	app := created.Data.App
	if app.Name != "from the SDK" || app.ID == "" || app.CreatedAt == "" {
		t.Fatalf("created app = %+v", app)
	}
	if ts, err := time.Parse(time.RFC3339, app.CreatedAt); err != nil || !near(ts) {
		t.Errorf("created_at %q is not a recent RFC 3339 time (%v)", app.CreatedAt, err)
	}

	list := mustSDK(apps.Get(ctx, realtime_kit.AppGetParams{AccountID: cloudflare.F(account)}))(t, "Apps.Get")
	var ids []string
	for _, a := range list.Data {
		ids = append(ids, a.ID)
		if a.ID == app.ID && (a.Name != app.Name || a.CreatedAt != app.CreatedAt) {
			t.Errorf("listed app = %+v, want %+v", a, app)
		}
	}
	slices.Sort(ids)
	if want := slices.Sorted(slices.Values([]string{appID, app.ID})); !slices.Equal(ids, want) {
		t.Errorf("app ids = %v, want %v", ids, want)
	}

	// The new app is usable through the SDK at once.
	m := mustSDK(sdkClient(e, secret).RealtimeKit.Meetings.New(ctx, app.ID,
		realtime_kit.MeetingNewParams{AccountID: cloudflare.F(account), Title: cloudflare.F("in the new app")}))(t, "Meetings.New in the new app")
	if m.Data.Title != "in the new app" {
		t.Errorf("title = %q", m.Data.Title)
	}

	_, err := apps.Post(ctx, realtime_kit.AppPostParams{AccountID: cloudflare.F(account)})
	wantSDKError(t, "Apps.Post without a name", err, 400, `"name" is required`)
	_, err = apps.Get(ctx, realtime_kit.AppGetParams{AccountID: cloudflare.F(otherAcc)})
	wantSDKError(t, "Apps.Get of another account", err, 403, otherAcc)
}

func TestSDKMeetings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	meetingsAPI := sdkClient(e, secret).RealtimeKit.Meetings
	acc := cloudflare.F(account)

	before := time.Now()
	created := mustSDK(meetingsAPI.New(ctx, appID, realtime_kit.MeetingNewParams{
		AccountID:                  acc,
		Title:                      cloudflare.F("SDK standup"),
		RecordOnStart:              cloudflare.F(true),
		LiveStreamOnStart:          cloudflare.F(false),
		PersistChat:                cloudflare.F(true),
		SummarizeOnEnd:             cloudflare.F(true),
		SessionKeepAliveTimeInSecs: cloudflare.F(120.0),
		AIConfig: cloudflare.F(realtime_kit.MeetingNewParamsAIConfig{
			Summarization: cloudflare.F(realtime_kit.MeetingNewParamsAIConfigSummarization{
				SummaryType: cloudflare.F(realtime_kit.MeetingNewParamsAIConfigSummarizationSummaryTypeTeamMeeting),
				TextFormat:  cloudflare.F(realtime_kit.MeetingNewParamsAIConfigSummarizationTextFormatMarkdown),
				WordLimit:   cloudflare.F[int64](300),
			}),
			Transcription: cloudflare.F(realtime_kit.MeetingNewParamsAIConfigTranscription{
				Keywords:        cloudflare.F([]string{"LiveKit", "sidecar"}),
				Language:        cloudflare.F(realtime_kit.MeetingNewParamsAIConfigTranscriptionLanguageEnUs),
				ProfanityFilter: cloudflare.F(true),
			}),
		}),
		RecordingConfig: cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfig{
			MaxSeconds:     cloudflare.F(3600.0),
			FileNamePrefix: cloudflare.F("standup"),
			AudioConfig: cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigAudioConfig{
				Channel:    cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigAudioConfigChannelStereo),
				Codec:      cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigAudioConfigCodecAac),
				ExportFile: cloudflare.F(true),
			}),
			VideoConfig: cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigVideoConfig{
				Codec:      cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigVideoConfigCodecH264),
				Width:      cloudflare.F[int64](1280),
				Height:     cloudflare.F[int64](720),
				ExportFile: cloudflare.F(true),
				Watermark: cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigVideoConfigWatermark{
					URL:      cloudflare.F("https://example.com/wm.png"),
					Position: cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigVideoConfigWatermarkPositionRightBottom),
					Size: cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigVideoConfigWatermarkSize{
						Width: cloudflare.F[int64](64), Height: cloudflare.F[int64](32),
					}),
				}),
			}),
			StorageConfig: cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigStorageConfig{
				Type:       cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigStorageConfigTypeAws),
				AuthMethod: cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigStorageConfigAuthMethodKey),
				AccessKey:  cloudflare.F("AKIA0000"),
				Secret:     cloudflare.F("s3cr3t"),
				Bucket:     cloudflare.F("recordings"),
				Region:     cloudflare.F("us-east-1"),
				Path:       cloudflare.F("rtk/"),
			}),
			RealtimekitBucketConfig: cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigRealtimekitBucketConfig{
				Enabled: cloudflare.F(false),
			}),
			LiveStreamingConfig: cloudflare.F(realtime_kit.MeetingNewParamsRecordingConfigLiveStreamingConfig{
				RtmpURL: cloudflare.F("rtmp://live.example.com/app/key"),
			}),
		}),
	}))(t, "Meetings.New")
	m := created.Data
	if m.Title != "SDK standup" || m.Status != realtime_kit.MeetingNewResponseDataStatusActive ||
		!m.RecordOnStart || m.LiveStreamOnStart || !m.PersistChat || !m.SummarizeOnEnd || m.SessionKeepAliveTimeInSecs != 120 {
		t.Errorf("created meeting = %+v", m)
	}
	if !near(m.CreatedAt) || !near(m.UpdatedAt) {
		t.Errorf("created_at %v, updated_at %v: not now", m.CreatedAt, m.UpdatedAt)
	}
	if s := m.AIConfig.Summarization; s.SummaryType != "team_meeting" || s.TextFormat != "markdown" || s.WordLimit != 300 {
		t.Errorf("ai_config.summarization = %+v", s)
	}
	if tr := m.AIConfig.Transcription; !slices.Equal(tr.Keywords, []string{"LiveKit", "sidecar"}) || tr.Language != "en-US" || !tr.ProfanityFilter {
		t.Errorf("ai_config.transcription = %+v", tr)
	}
	rc := m.RecordingConfig
	if rc.MaxSeconds != 3600 || rc.FileNamePrefix != "standup" ||
		rc.AudioConfig.Channel != "stereo" || rc.AudioConfig.Codec != "AAC" || !rc.AudioConfig.ExportFile ||
		rc.VideoConfig.Codec != "H264" || rc.VideoConfig.Width != 1280 || rc.VideoConfig.Height != 720 || !rc.VideoConfig.ExportFile ||
		rc.VideoConfig.Watermark.URL != "https://example.com/wm.png" || rc.VideoConfig.Watermark.Position != "right bottom" ||
		rc.VideoConfig.Watermark.Size.Width != 64 || rc.VideoConfig.Watermark.Size.Height != 32 ||
		rc.StorageConfig.Type != "aws" || rc.StorageConfig.AuthMethod != "KEY" || rc.StorageConfig.Bucket != "recordings" ||
		rc.StorageConfig.Region != "us-east-1" || rc.StorageConfig.Path != "rtk/" ||
		rc.RealtimekitBucketConfig.Enabled || rc.RealtimekitBucketConfig.JSON.Enabled.IsMissing() ||
		rc.LiveStreamingConfig.RtmpURL != "rtmp://live.example.com/app/key" {
		t.Errorf("recording_config = %s", rc.JSON.RawJSON())
	}

	other := mustSDK(meetingsAPI.New(ctx, appID, realtime_kit.MeetingNewParams{
		AccountID: acc, Title: cloudflare.F("Retro"),
	}))(t, "Meetings.New (minimal)")
	untitled := mustSDK(meetingsAPI.New(ctx, appID, realtime_kit.MeetingNewParams{AccountID: acc}))(t, "Meetings.New (empty)")
	if untitled.Data.Title != "" || untitled.Data.Status != "ACTIVE" {
		t.Errorf("untitled meeting = %s", untitled.Data.JSON.RawJSON())
	}

	got := mustSDK(meetingsAPI.GetMeetingByID(ctx, appID, m.ID,
		realtime_kit.MeetingGetMeetingByIDParams{AccountID: acc}))(t, "Meetings.GetMeetingByID")
	if g := got.Data; g.ID != m.ID || g.Title != m.Title || g.Status != "ACTIVE" || !g.CreatedAt.Equal(m.CreatedAt) ||
		g.AIConfig.JSON.RawJSON() != m.AIConfig.JSON.RawJSON() || g.RecordingConfig.JSON.RawJSON() != rc.JSON.RawJSON() {
		t.Errorf("got meeting %s, want %s", got.Data.JSON.RawJSON(), m.JSON.RawJSON())
	}
	// The SDK's optional "name" query is accepted (and ignored).
	mustSDK(meetingsAPI.GetMeetingByID(ctx, appID, m.ID,
		realtime_kit.MeetingGetMeetingByIDParams{AccountID: acc, Name: cloudflare.F("anything")}))(t, "Meetings.GetMeetingByID with name")

	// List: paging, search and the created-at window (sent in a non-UTC zone,
	// so the "+" of the offset must survive the query string).
	all := mustSDK(meetingsAPI.Get(ctx, appID, realtime_kit.MeetingGetParams{AccountID: acc}))(t, "Meetings.Get")
	if all.Paging.TotalCount != 3 || all.Paging.StartOffset != 1 || all.Paging.EndOffset != 3 || len(all.Data) != 3 {
		t.Errorf("list: paging %+v, %d meetings", all.Paging, len(all.Data))
	}
	for _, d := range all.Data {
		if d.ID == m.ID && (d.Title != m.Title || d.Status != "ACTIVE" || !d.RecordOnStart || d.SessionKeepAliveTimeInSecs != 120) {
			t.Errorf("listed meeting = %s", d.JSON.RawJSON())
		}
	}
	page2 := mustSDK(meetingsAPI.Get(ctx, appID, realtime_kit.MeetingGetParams{
		AccountID: acc, PageNo: cloudflare.F(2.0), PerPage: cloudflare.F(2.0),
	}))(t, "Meetings.Get page 2")
	if page2.Paging.TotalCount != 3 || page2.Paging.StartOffset != 3 || page2.Paging.EndOffset != 3 || len(page2.Data) != 1 {
		t.Errorf("page 2: paging %+v, %d meetings", page2.Paging, len(page2.Data))
	}
	found := mustSDK(meetingsAPI.Get(ctx, appID, realtime_kit.MeetingGetParams{
		AccountID: acc, Search: cloudflare.F("retro"),
	}))(t, "Meetings.Get search")
	if found.Paging.TotalCount != 1 || len(found.Data) != 1 || found.Data[0].ID != other.Data.ID {
		t.Errorf("search: paging %+v, data %+v", found.Paging, found.Data)
	}
	zone := time.FixedZone("UTC+2", 2*3600)
	window := mustSDK(meetingsAPI.Get(ctx, appID, realtime_kit.MeetingGetParams{
		AccountID: acc, StartTime: cloudflare.F(before.Add(-time.Hour).In(zone)), EndTime: cloudflare.F(time.Now().Add(time.Hour).In(zone)),
	}))(t, "Meetings.Get window")
	if window.Paging.TotalCount != 3 {
		t.Errorf("window around now: total %v, want 3", window.Paging.TotalCount)
	}
	future := mustSDK(meetingsAPI.Get(ctx, appID, realtime_kit.MeetingGetParams{
		AccountID: acc, StartTime: cloudflare.F(time.Now().Add(time.Hour).In(zone)),
	}))(t, "Meetings.Get future window")
	if future.Paging.TotalCount != 0 || len(future.Data) != 0 || future.Paging.StartOffset != 0 || future.Paging.EndOffset != 0 {
		t.Errorf("future window: paging %+v, %d meetings", future.Paging, len(future.Data))
	}

	// PATCH: partial update, and the status.
	upd := mustSDK(meetingsAPI.UpdateMeetingByID(ctx, appID, m.ID, realtime_kit.MeetingUpdateMeetingByIDParams{
		AccountID:     acc,
		Title:         cloudflare.F("SDK standup (moved)"),
		Status:        cloudflare.F(realtime_kit.MeetingUpdateMeetingByIDParamsStatusInactive),
		PersistChat:   cloudflare.F(false),
		RecordOnStart: cloudflare.F(false),
		AIConfig: cloudflare.F(realtime_kit.MeetingUpdateMeetingByIDParamsAIConfig{
			Summarization: cloudflare.F(realtime_kit.MeetingUpdateMeetingByIDParamsAIConfigSummarization{
				SummaryType: cloudflare.F(realtime_kit.MeetingUpdateMeetingByIDParamsAIConfigSummarizationSummaryTypeDailyStandup),
				TextFormat:  cloudflare.F(realtime_kit.MeetingUpdateMeetingByIDParamsAIConfigSummarizationTextFormatPlainText),
				WordLimit:   cloudflare.F[int64](150),
			}),
		}),
	}))(t, "Meetings.UpdateMeetingByID")
	if u := upd.Data; u.ID != m.ID || u.Title != "SDK standup (moved)" || u.Status != realtime_kit.MeetingUpdateMeetingByIDResponseDataStatusInactive ||
		u.PersistChat || u.RecordOnStart || !u.SummarizeOnEnd || u.SessionKeepAliveTimeInSecs != 120 || !u.CreatedAt.Equal(m.CreatedAt) ||
		u.RecordingConfig.FileNamePrefix != "standup" || u.AIConfig.Summarization.SummaryType != "daily_standup" ||
		u.AIConfig.Summarization.TextFormat != "plain_text" || u.AIConfig.Summarization.WordLimit != 150 {
		t.Errorf("updated meeting = %s", upd.Data.JSON.RawJSON())
	}
	if g := mustSDK(meetingsAPI.GetMeetingByID(ctx, appID, m.ID,
		realtime_kit.MeetingGetMeetingByIDParams{AccountID: acc}))(t, "Meetings.GetMeetingByID (inactive)"); g.Data.Status != "INACTIVE" {
		t.Errorf("status after PATCH INACTIVE = %q", g.Data.Status)
	}
	react := mustSDK(meetingsAPI.UpdateMeetingByID(ctx, appID, m.ID, realtime_kit.MeetingUpdateMeetingByIDParams{
		AccountID: acc, Status: cloudflare.F(realtime_kit.MeetingUpdateMeetingByIDParamsStatusActive),
	}))(t, "Meetings.UpdateMeetingByID ACTIVE")
	if r := react.Data; r.Status != realtime_kit.MeetingUpdateMeetingByIDResponseDataStatusActive || r.Title != "SDK standup (moved)" {
		t.Errorf("reactivated meeting = %s", react.Data.JSON.RawJSON())
	}
	_, err := meetingsAPI.UpdateMeetingByID(ctx, appID, m.ID, realtime_kit.MeetingUpdateMeetingByIDParams{
		AccountID: acc, Status: cloudflare.F(realtime_kit.MeetingUpdateMeetingByIDParamsStatus("PAUSED")),
	})
	wantSDKError(t, "Meetings.UpdateMeetingByID PAUSED", err, 400, "status")

	// PUT: the whole meeting is replaced; the status is kept.
	rep := mustSDK(meetingsAPI.ReplaceMeetingByID(ctx, appID, m.ID, realtime_kit.MeetingReplaceMeetingByIDParams{
		AccountID:         acc,
		Title:             cloudflare.F("Replaced"),
		LiveStreamOnStart: cloudflare.F(true),
		AIConfig: cloudflare.F(realtime_kit.MeetingReplaceMeetingByIDParamsAIConfig{
			Transcription: cloudflare.F(realtime_kit.MeetingReplaceMeetingByIDParamsAIConfigTranscription{
				Language: cloudflare.F(realtime_kit.MeetingReplaceMeetingByIDParamsAIConfigTranscriptionLanguageFr),
			}),
		}),
	}))(t, "Meetings.ReplaceMeetingByID")
	if r := rep.Data; r.ID != m.ID || r.Title != "Replaced" || !r.LiveStreamOnStart || r.RecordOnStart || r.PersistChat || r.SummarizeOnEnd ||
		r.SessionKeepAliveTimeInSecs != 0 || r.Status != "ACTIVE" || r.AIConfig.Transcription.Language != "fr" ||
		!r.AIConfig.JSON.Summarization.IsMissing() || r.RecordingConfig.FileNamePrefix != "" || !r.CreatedAt.Equal(m.CreatedAt) {
		t.Errorf("replaced meeting = %s", rep.Data.JSON.RawJSON())
	}

	_, err = meetingsAPI.New(ctx, appID, realtime_kit.MeetingNewParams{
		AccountID: acc,
		AIConfig: cloudflare.F(realtime_kit.MeetingNewParamsAIConfig{
			Summarization: cloudflare.F(realtime_kit.MeetingNewParamsAIConfigSummarization{WordLimit: cloudflare.F[int64](5)}),
		}),
	})
	wantSDKError(t, "Meetings.New with a bad word_limit", err, 400, `"ai_config.summarization.word_limit" must be between 150 and 1000`)
}

func TestSDKParticipants(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	meetingsAPI := sdkClient(e, secret).RealtimeKit.Meetings
	acc := cloudflare.F(account)
	mid := e.createMeeting("people")

	host := mustSDK(meetingsAPI.AddParticipant(ctx, appID, mid, realtime_kit.MeetingAddParticipantParams{
		AccountID:           acc,
		CustomParticipantID: cloudflare.F("user-1"),
		PresetName:          cloudflare.F(presets.GroupCallHost),
		Name:                cloudflare.F("Ada"),
		Picture:             cloudflare.F("https://example.com/ada.png"),
	}))(t, "Meetings.AddParticipant")
	h := host.Data
	if h.ID == "" || h.Token == "" || h.CustomParticipantID != "user-1" || h.PresetName != presets.GroupCallHost ||
		h.Name != "Ada" || h.Picture != "https://example.com/ada.png" || !near(h.CreatedAt) || !near(h.UpdatedAt) {
		t.Errorf("added participant = %s", host.Data.JSON.RawJSON())
	}
	guest := mustSDK(meetingsAPI.AddParticipant(ctx, appID, mid, realtime_kit.MeetingAddParticipantParams{
		AccountID: acc, CustomParticipantID: cloudflare.F("user-2"), PresetName: cloudflare.F(presets.GroupCallParticipant),
	}))(t, "Meetings.AddParticipant (no name, no picture)")
	if g := guest.Data; g.Token == "" || g.Name != "" || g.Picture != "" || g.PresetName != presets.GroupCallParticipant {
		t.Errorf("added guest = %s", guest.Data.JSON.RawJSON())
	}

	list := mustSDK(meetingsAPI.GetMeetingParticipants(ctx, appID, mid,
		realtime_kit.MeetingGetMeetingParticipantsParams{AccountID: acc}))(t, "Meetings.GetMeetingParticipants")
	if list.Paging.TotalCount != 2 || list.Paging.StartOffset != 1 || list.Paging.EndOffset != 2 || len(list.Data) != 2 {
		t.Errorf("participants: paging %+v, %d items", list.Paging, len(list.Data))
	}
	for _, p := range list.Data {
		if p.ID == h.ID && (p.CustomParticipantID != "user-1" || p.PresetName != presets.GroupCallHost || p.Name != "Ada" || p.Picture != h.Picture) {
			t.Errorf("listed participant = %s", p.JSON.RawJSON())
		}
	}
	paged := mustSDK(meetingsAPI.GetMeetingParticipants(ctx, appID, mid,
		realtime_kit.MeetingGetMeetingParticipantsParams{AccountID: acc, PageNo: cloudflare.F(2.0), PerPage: cloudflare.F(1.0)}))(t, "Meetings.GetMeetingParticipants page 2")
	if paged.Paging.TotalCount != 2 || paged.Paging.StartOffset != 2 || paged.Paging.EndOffset != 2 || len(paged.Data) != 1 {
		t.Errorf("participants page 2: paging %+v, %d items", paged.Paging, len(paged.Data))
	}

	one := mustSDK(meetingsAPI.GetMeetingParticipant(ctx, appID, mid, h.ID,
		realtime_kit.MeetingGetMeetingParticipantParams{AccountID: acc}))(t, "Meetings.GetMeetingParticipant")
	if o := one.Data; o.ID != h.ID || o.CustomParticipantID != "user-1" || o.PresetName != presets.GroupCallHost ||
		o.Name != "Ada" || o.Picture != h.Picture || !o.CreatedAt.Equal(h.CreatedAt) {
		t.Errorf("got participant = %s", one.Data.JSON.RawJSON())
	}

	edited := mustSDK(meetingsAPI.EditParticipant(ctx, appID, mid, h.ID, realtime_kit.MeetingEditParticipantParams{
		AccountID:  acc,
		Name:       cloudflare.F("Ada L."),
		PresetName: cloudflare.F(presets.GroupCallParticipant),
	}))(t, "Meetings.EditParticipant")
	if ed := edited.Data; ed.ID != h.ID || ed.Token == "" || ed.Name != "Ada L." || ed.PresetName != presets.GroupCallParticipant ||
		ed.Picture != h.Picture || ed.CustomParticipantID != "user-1" {
		t.Errorf("edited participant = %s", edited.Data.JSON.RawJSON())
	}
	if one := mustSDK(meetingsAPI.GetMeetingParticipant(ctx, appID, mid, h.ID,
		realtime_kit.MeetingGetMeetingParticipantParams{AccountID: acc}))(t, "Meetings.GetMeetingParticipant after edit"); one.Data.Name != "Ada L." || one.Data.PresetName != presets.GroupCallParticipant {
		t.Errorf("participant after edit = %s", one.Data.JSON.RawJSON())
	}

	tok := mustSDK(meetingsAPI.RefreshParticipantToken(ctx, appID, mid, h.ID,
		realtime_kit.MeetingRefreshParticipantTokenParams{AccountID: acc}))(t, "Meetings.RefreshParticipantToken")
	if tok.Data.Token == "" {
		t.Error("refreshed token is empty")
	}
	// The refreshed token admits the participant.
	j := e.do("POST", "/client/v1/join", "Bearer "+tok.Data.Token, nil)
	if j.Status != http.StatusOK || j.data()["participant_id"] != h.ID {
		t.Errorf("join with the refreshed token: %d %s", j.Status, j.Raw)
	}

	del := mustSDK(meetingsAPI.DeleteMeetingParticipant(ctx, appID, mid, h.ID,
		realtime_kit.MeetingDeleteMeetingParticipantParams{AccountID: acc}))(t, "Meetings.DeleteMeetingParticipant")
	if d := del.Data; d.CustomParticipantID != "user-1" || d.PresetID == "" || !d.CreatedAt.Equal(h.CreatedAt) {
		t.Errorf("deleted participant = %s", del.Data.JSON.RawJSON())
	}
	presetByName := map[string]string{}
	for _, p := range mustSDK(sdkClient(e, secret).RealtimeKit.Presets.Get(ctx, appID,
		realtime_kit.PresetGetParams{AccountID: acc, PerPage: cloudflare.F(100.0)}))(t, "Presets.Get").Data {
		presetByName[p.Name] = p.ID
	}
	if del.Data.PresetID != presetByName[presets.GroupCallParticipant] {
		t.Errorf("deleted participant's preset_id = %q, want %s's %q", del.Data.PresetID, presets.GroupCallParticipant, presetByName[presets.GroupCallParticipant])
	}
	_, err := meetingsAPI.GetMeetingParticipant(ctx, appID, mid, h.ID, realtime_kit.MeetingGetMeetingParticipantParams{AccountID: acc})
	wantSDKError(t, "Meetings.GetMeetingParticipant after delete", err, 404, h.ID)
	if left := mustSDK(meetingsAPI.GetMeetingParticipants(ctx, appID, mid,
		realtime_kit.MeetingGetMeetingParticipantsParams{AccountID: acc}))(t, "Meetings.GetMeetingParticipants after delete"); left.Paging.TotalCount != 1 || len(left.Data) != 1 || left.Data[0].ID != guest.Data.ID {
		t.Errorf("participants after delete: paging %+v, data %+v", left.Paging, left.Data)
	}

	_, err = meetingsAPI.AddParticipant(ctx, appID, mid, realtime_kit.MeetingAddParticipantParams{
		AccountID: acc, CustomParticipantID: cloudflare.F("user-3"),
	})
	wantSDKError(t, "Meetings.AddParticipant without preset_name", err, 400, "preset_name")
	_, err = meetingsAPI.AddParticipant(ctx, appID, mid, realtime_kit.MeetingAddParticipantParams{
		AccountID: acc, CustomParticipantID: cloudflare.F("user-3"), PresetName: cloudflare.F("no-such-preset"),
	})
	wantSDKError(t, "Meetings.AddParticipant with an unknown preset", err, 400, "no-such-preset")
}

// sdkPresetParams is a complete preset as the SDK sends it.
func sdkPresetParams(name string) realtime_kit.PresetNewParams {
	f := cloudflare.F[bool]
	return realtime_kit.PresetNewParams{
		AccountID: cloudflare.F(account),
		Name:      cloudflare.F(name),
		Config: cloudflare.F(realtime_kit.PresetNewParamsConfig{
			ViewType:            cloudflare.F(realtime_kit.PresetNewParamsConfigViewTypeWebinar),
			MaxScreenshareCount: cloudflare.F[int64](1),
			MaxVideoStreams: cloudflare.F(realtime_kit.PresetNewParamsConfigMaxVideoStreams{
				Desktop: cloudflare.F[int64](9), Mobile: cloudflare.F[int64](3),
			}),
			Media: cloudflare.F(realtime_kit.PresetNewParamsConfigMedia{
				Video: cloudflare.F(realtime_kit.PresetNewParamsConfigMediaVideo{
					FrameRate: cloudflare.F[int64](30),
					Quality:   cloudflare.F(realtime_kit.PresetNewParamsConfigMediaVideoQualityHD),
				}),
				Screenshare: cloudflare.F(realtime_kit.PresetNewParamsConfigMediaScreenshare{
					FrameRate: cloudflare.F[int64](5),
					Quality:   cloudflare.F(realtime_kit.PresetNewParamsConfigMediaScreenshareQualityHD),
				}),
			}),
		}),
		UI: cloudflare.F(realtime_kit.PresetNewParamsUI{
			DesignTokens: cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokens{
				BorderRadius: cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokensBorderRadiusRounded),
				BorderWidth:  cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokensBorderWidthThin),
				SpacingBase:  cloudflare.F(4.0),
				Theme:        cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokensThemeDark),
				Logo:         cloudflare.F("https://example.com/logo.svg"),
				Colors: cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokensColors{
					Brand: cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokensColorsBrand{
						Number300: cloudflare.F("#844d1c"), Number400: cloudflare.F("#9d5b22"), Number500: cloudflare.F("#b56a27"),
						Number600: cloudflare.F("#d37c30"), Number700: cloudflare.F("#d9904f"),
					}),
					Background: cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokensColorsBackground{
						Number600: cloudflare.F("#222222"), Number700: cloudflare.F("#1f1f1f"), Number800: cloudflare.F("#1b1b1b"),
						Number900: cloudflare.F("#181818"), Number1000: cloudflare.F("#141414"),
					}),
					Danger: cloudflare.F("#FF2D2D"), Success: cloudflare.F("#62A504"), Warning: cloudflare.F("#FFCD07"),
					Text: cloudflare.F("#EEEEEE"), TextOnBrand: cloudflare.F("#EEEEEE"), VideoBg: cloudflare.F("#191919"),
				}),
			}),
		}),
		Permissions: cloudflare.F(realtime_kit.PresetNewParamsPermissions{
			AcceptWaitingRequests: f(true), CanAcceptProductionRequests: f(true), CanChangeParticipantPermissions: f(true),
			CanEditDisplayName: f(true), CanLivestream: f(false), CanRecord: f(true), CanSpotlight: f(true),
			DisableParticipantAudio: f(true), DisableParticipantScreensharing: f(true), DisableParticipantVideo: f(true),
			HiddenParticipant: f(false), KickParticipant: f(true), PinParticipant: f(true), ShowParticipantList: f(true),
			IsRecorder:      f(false),
			RecorderType:    cloudflare.F(realtime_kit.PresetNewParamsPermissionsRecorderTypeNone),
			WaitingRoomType: cloudflare.F(realtime_kit.PresetNewParamsPermissionsWaitingRoomTypeSkip),
			Media: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMedia{
				Audio: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMediaAudio{
					CanProduce: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMediaAudioCanProduceAllowed),
				}),
				Video: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMediaVideo{
					CanProduce: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMediaVideoCanProduceAllowed),
				}),
				Screenshare: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMediaScreenshare{
					CanProduce: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMediaScreenshareCanProduceAllowed),
				}),
			}),
			Chat: cloudflare.F(realtime_kit.PresetNewParamsPermissionsChat{
				Public: cloudflare.F(realtime_kit.PresetNewParamsPermissionsChatPublic{CanSend: f(true), Text: f(true), Files: f(true)}),
				Private: cloudflare.F(realtime_kit.PresetNewParamsPermissionsChatPrivate{
					CanSend: f(true), CanReceive: f(true), Text: f(true), Files: f(false),
				}),
			}),
			Polls: cloudflare.F(realtime_kit.PresetNewParamsPermissionsPolls{CanCreate: f(true), CanVote: f(true), CanView: f(true)}),
			Plugins: cloudflare.F(realtime_kit.PresetNewParamsPermissionsPlugins{
				CanStart: f(true), CanClose: f(true), CanEditConfig: f(true),
				Config: cloudflare.F[realtime_kit.PresetNewParamsPermissionsPluginsConfigUnion](realtime_kit.PresetNewParamsPermissionsPluginsConfigObject{
					AccessControl:   cloudflare.F(realtime_kit.PresetNewParamsPermissionsPluginsConfigObjectAccessControlFullAccess),
					HandlesViewOnly: cloudflare.F(false),
				}),
			}),
			ConnectedMeetings: cloudflare.F(realtime_kit.PresetNewParamsPermissionsConnectedMeetings{
				CanAlterConnectedMeetings: f(true), CanSwitchConnectedMeetings: f(true), CanSwitchToParentMeeting: f(true),
			}),
		}),
	}
}

func TestSDKPresets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	presetsAPI := sdkClient(e, secret).RealtimeKit.Presets
	acc := cloudflare.F(account)

	created := mustSDK(presetsAPI.New(ctx, appID, sdkPresetParams("sdk_host")))(t, "Presets.New")
	p := created.Data
	if p.ID == "" || p.Name != "sdk_host" || p.Config.ViewType != "WEBINAR" || p.Config.MaxScreenshareCount != 1 ||
		p.Config.MaxVideoStreams.Desktop != 9 || p.Config.MaxVideoStreams.Mobile != 3 ||
		p.Config.Media.Video.Quality != "hd" || p.Config.Media.Video.FrameRate != 30 || p.Config.Media.Screenshare.FrameRate != 5 ||
		p.UI.DesignTokens.Logo != "https://example.com/logo.svg" || p.UI.DesignTokens.Colors.Brand.Number500 != "#b56a27" ||
		p.UI.DesignTokens.Colors.Background.Number1000 != "#141414" || p.UI.DesignTokens.Colors.VideoBg != "#191919" ||
		!p.Permissions.KickParticipant || p.Permissions.CanLivestream || p.Permissions.RecorderType != "NONE" ||
		p.Permissions.WaitingRoomType != "SKIP" || p.Permissions.Media.Screenshare.CanProduce != "ALLOWED" ||
		!p.Permissions.Chat.Private.CanReceive || p.Permissions.Chat.Private.Files ||
		!p.Permissions.ConnectedMeetings.CanSwitchToParentMeeting {
		t.Errorf("created preset = %s", created.Data.JSON.RawJSON())
	}
	if cfg, ok := p.Permissions.Plugins.Config.(realtime_kit.PresetNewResponseDataPermissionsPluginsConfigObject); !ok || cfg.AccessControl != "FULL_ACCESS" {
		t.Errorf("plugins.config = %#v", p.Permissions.Plugins.Config)
	}

	list := mustSDK(presetsAPI.Get(ctx, appID, realtime_kit.PresetGetParams{AccountID: acc}))(t, "Presets.Get")
	want := len(presets.Defaults()) + 1
	if int(list.Paging.TotalCount) != want || list.Paging.StartOffset != 1 || int(list.Paging.EndOffset) != want || len(list.Data) != want {
		t.Errorf("presets: paging %+v, %d items, want %d", list.Paging, len(list.Data), want)
	}
	var listed bool
	for _, d := range list.Data {
		if d.ID == p.ID {
			listed = d.Name == "sdk_host" && near(d.CreatedAt) && near(d.UpdatedAt)
		}
	}
	if !listed {
		t.Errorf("the new preset is not listed as it should be: %s", list.JSON.RawJSON())
	}
	paged := mustSDK(presetsAPI.Get(ctx, appID, realtime_kit.PresetGetParams{
		AccountID: acc, PageNo: cloudflare.F(2.0), PerPage: cloudflare.F(4.0),
	}))(t, "Presets.Get page 2")
	if int(paged.Paging.TotalCount) != want || paged.Paging.StartOffset != 5 || int(paged.Paging.EndOffset) != min(8, want) || len(paged.Data) != min(4, want-4) {
		t.Errorf("presets page 2: paging %+v, %d items", paged.Paging, len(paged.Data))
	}

	got := mustSDK(presetsAPI.GetPresetByID(ctx, appID, p.ID, realtime_kit.PresetGetPresetByIDParams{AccountID: acc}))(t, "Presets.GetPresetByID")
	if got.Data.ID != p.ID || got.Data.Name != "sdk_host" || got.Data.Config.JSON.RawJSON() != p.Config.JSON.RawJSON() ||
		got.Data.Permissions.JSON.RawJSON() != p.Permissions.JSON.RawJSON() || got.Data.UI.JSON.RawJSON() != p.UI.JSON.RawJSON() {
		t.Errorf("got preset %s, want %s", got.Data.JSON.RawJSON(), p.JSON.RawJSON())
	}

	upd := mustSDK(presetsAPI.Update(ctx, appID, p.ID, realtime_kit.PresetUpdateParams{
		AccountID: acc,
		Name:      cloudflare.F("sdk_host_v2"),
		Config: cloudflare.F(realtime_kit.PresetUpdateParamsConfig{
			ViewType:            cloudflare.F(realtime_kit.PresetUpdateParamsConfigViewTypeGroupCall),
			MaxScreenshareCount: cloudflare.F[int64](2),
		}),
		Permissions: cloudflare.F(realtime_kit.PresetUpdateParamsPermissions{
			Polls: cloudflare.F(realtime_kit.PresetUpdateParamsPermissionsPolls{CanCreate: cloudflare.F(false)}),
		}),
	}))(t, "Presets.Update")
	if u := upd.Data; u.ID != p.ID || u.Name != "sdk_host_v2" || u.Config.ViewType != "GROUP_CALL" || u.Config.MaxScreenshareCount != 2 ||
		u.Config.MaxVideoStreams.Desktop != 9 || u.Permissions.Polls.CanCreate || !u.Permissions.Polls.CanVote ||
		u.UI.JSON.RawJSON() != p.UI.JSON.RawJSON() {
		t.Errorf("updated preset = %s", upd.Data.JSON.RawJSON())
	}
	if g := mustSDK(presetsAPI.GetPresetByID(ctx, appID, p.ID,
		realtime_kit.PresetGetPresetByIDParams{AccountID: acc}))(t, "Presets.GetPresetByID after update"); g.Data.Name != "sdk_host_v2" || g.Data.Config.MaxScreenshareCount != 2 {
		t.Errorf("preset after update = %s", g.Data.JSON.RawJSON())
	}

	// A participant can join with the new preset.
	mid := e.createMeeting("preset user")
	mustSDK(sdkClient(e, secret).RealtimeKit.Meetings.AddParticipant(ctx, appID, mid,
		realtime_kit.MeetingAddParticipantParams{AccountID: acc, CustomParticipantID: cloudflare.F("u"), PresetName: cloudflare.F("sdk_host_v2")}))(t, "Meetings.AddParticipant with the new preset")

	// Deleting a preset in use is refused; once unused, it goes.
	other := mustSDK(presetsAPI.New(ctx, appID, sdkPresetParams("sdk_spare")))(t, "Presets.New (second)")
	del := mustSDK(presetsAPI.Delete(ctx, appID, other.Data.ID, realtime_kit.PresetDeleteParams{AccountID: acc}))(t, "Presets.Delete")
	if d := del.Data; d.ID != other.Data.ID || d.Name != "sdk_spare" || d.Config.ViewType != "WEBINAR" || !d.Permissions.KickParticipant {
		t.Errorf("deleted preset = %s", del.Data.JSON.RawJSON())
	}
	_, err := presetsAPI.GetPresetByID(ctx, appID, other.Data.ID, realtime_kit.PresetGetPresetByIDParams{AccountID: acc})
	wantSDKError(t, "Presets.GetPresetByID after delete", err, 404, other.Data.ID)

	_, err = presetsAPI.New(ctx, appID, sdkPresetParams("sdk_host_v2"))
	wantSDKError(t, "Presets.New with a taken name", err, 409, "sdk_host_v2")
	bad := sdkPresetParams("bad")
	bad.Config.Value.MaxScreenshareCount = cloudflare.Null[int64]()
	_, err = presetsAPI.New(ctx, appID, bad)
	wantSDKError(t, "Presets.New without max_screenshare_count", err, 400, "config.max_screenshare_count")
}

// TestSDKErrors checks that the SDK surfaces our error envelope as its
// *cloudflare.Error, with our status and message.
func TestSDKErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := sdkClient(e, secret)
	acc := cloudflare.F(account)

	const missing = "00000000-0000-4000-8000-000000000000"
	_, err := c.RealtimeKit.Meetings.GetMeetingByID(ctx, appID, missing, realtime_kit.MeetingGetMeetingByIDParams{AccountID: acc})
	wantSDKError(t, "GetMeetingByID of an unknown meeting", err, 404, "meeting", missing)
	_, err = c.RealtimeKit.Meetings.UpdateMeetingByID(ctx, appID, missing, realtime_kit.MeetingUpdateMeetingByIDParams{AccountID: acc, Title: cloudflare.F("x")})
	wantSDKError(t, "UpdateMeetingByID of an unknown meeting", err, 404, missing)
	_, err = c.RealtimeKit.Meetings.Get(ctx, "no-such-app", realtime_kit.MeetingGetParams{AccountID: acc})
	wantSDKError(t, "Meetings.Get of an unknown app", err, 404, "no-such-app")

	// Bad bodies: the SDK can be made to send a wrong type or broken JSON.
	_, err = c.RealtimeKit.Meetings.New(ctx, appID, realtime_kit.MeetingNewParams{AccountID: acc},
		option.WithJSONSet("title", 5))
	wantSDKError(t, "Meetings.New with a numeric title", err, 400, `"title" must be a string`)
	_, err = c.RealtimeKit.Meetings.New(ctx, appID, realtime_kit.MeetingNewParams{AccountID: acc},
		option.WithRequestBody("application/json", []byte(`{"title":`)))
	wantSDKError(t, "Meetings.New with broken JSON", err, 400, "not valid JSON")
	_, err = c.RealtimeKit.Meetings.Get(ctx, appID, realtime_kit.MeetingGetParams{AccountID: acc, PerPage: cloudflare.F(1000.0)})
	wantSDKError(t, "Meetings.Get with per_page 1000", err, 400, `"per_page"`)

	_, err = sdkClient(e, "wrong-key-0123456789").RealtimeKit.Meetings.Get(ctx, appID, realtime_kit.MeetingGetParams{AccountID: acc})
	wantSDKError(t, "Meetings.Get with a wrong token", err, 401, "Unauthorized")
}
