package sidecar_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/presets"
)

func TestAuth(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, path, auth string
		status           int
	}{
		{"no credentials", basePathF + "/meetings", "-", 401},
		{"wrong bearer", basePathF + "/meetings", "Bearer nope-nope-nope", 401},
		{"unknown scheme", basePathF + "/meetings", "Token " + secret, 401},
		{"basic with wrong org", "/v2/meetings", basic("org-2", secret), 401},
		{"basic not base64", "/v2/meetings", "Basic !!!", 401},
		{"bearer ok", basePathF + "/meetings", "", 200},
		{"basic ok on v2", "/v2/meetings", basic(org, secret), 200},
		{"bearer ok on v2", "/v2/meetings", "", 200},
		{"client/v4 prefix", "/client/v4" + basePathF + "/meetings", "", 200},
		{"another account's path", "/accounts/" + otherAcc + "/realtime/kit/" + otherApp + "/meetings", "", 403},
		{"another account's app under my account", "/accounts/" + account + "/realtime/kit/" + otherApp + "/meetings", "", 404},
		{"unknown app", "/accounts/" + account + "/realtime/kit/nope/meetings", "", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, tc.auth, nil)
			if tc.status == 200 {
				if r.Status != 200 {
					t.Fatalf("status %d: %s", r.Status, r.Raw)
				}
				return
			}
			wantError(t, r, tc.status)
		})
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.do("GET", "/nope", "-", nil), 404, "no such endpoint")
	wantError(t, e.do("DELETE", basePathF+"/meetings", "", nil), 405)
}

func TestApps(t *testing.T) {
	e := newEnv(t)
	base := "/accounts/" + account + "/realtime/kit/apps"
	r := e.must(201, "POST", base, map[string]any{"name": "second"})
	app := r.data()["app"].(map[string]any)
	if app["name"] != "second" || app["id"] == "" || app["created_at"] == "" {
		t.Fatalf("created app = %v", app)
	}
	list := e.must(200, "GET", base, nil).list()
	if len(list) != 2 {
		t.Fatalf("apps = %v, want the default app and the new one", list)
	}
	// The new app is usable at once, with the default presets.
	presetsList := e.must(200, "GET", "/accounts/"+account+"/realtime/kit/"+app["id"].(string)+"/presets", nil).list()
	if len(presetsList) != len(presets.Defaults()) {
		t.Fatalf("new app has %d presets, want %d", len(presetsList), len(presets.Defaults()))
	}
	wantError(t, e.do("POST", base, "", map[string]any{}), 400, `"name" is required`)
	wantError(t, e.do("POST", base, "", map[string]any{"name": 5}), 400, `"name" must be a string`)
	// The other account sees only its own app.
	other := e.do("GET", "/accounts/"+otherAcc+"/realtime/kit/apps", "Bearer "+otherKey, nil)
	if other.Status != 200 || len(other.list()) != 1 {
		t.Fatalf("other account's apps: %s", other.Raw)
	}
}

func TestMeetingLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.must(201, "POST", basePathF+"/meetings", map[string]any{
		"title": "Standup", "record_on_start": true, "persist_chat": true, "session_keep_alive_time_in_secs": 120,
		"ai_config":        map[string]any{"transcription": map[string]any{"language": "de", "keywords": []string{"rtk"}}},
		"recording_config": map[string]any{"max_seconds": 3600, "video_config": map[string]any{"codec": "VP8", "width": 1280, "height": 720}},
	})
	m := r.data()
	id := m["id"].(string)
	if m["title"] != "Standup" || m["status"] != "ACTIVE" || m["record_on_start"] != true || m["persist_chat"] != true ||
		m["session_keep_alive_time_in_secs"] != 120.0 {
		t.Fatalf("created meeting = %v", m)
	}
	if lang := m["ai_config"].(map[string]any)["transcription"].(map[string]any)["language"]; lang != "de" {
		t.Fatalf("ai_config lost: %v", m["ai_config"])
	}

	got := e.must(200, "GET", basePathF+"/meetings/"+id, nil).data()
	if got["recording_config"].(map[string]any)["video_config"].(map[string]any)["codec"] != "VP8" {
		t.Fatalf("recording_config lost: %v", got)
	}

	// PATCH changes only what it names, and is the way to deactivate.
	time.Sleep(2 * time.Millisecond) // timestamps have millisecond resolution
	p := e.must(200, "PATCH", basePathF+"/meetings/"+id, map[string]any{"status": "INACTIVE", "title": "Renamed"}).data()
	if p["status"] != "INACTIVE" || p["title"] != "Renamed" || p["record_on_start"] != true {
		t.Fatalf("patched meeting = %v", p)
	}
	if p["updated_at"] == m["updated_at"] || p["created_at"] != m["created_at"] {
		t.Fatalf("timestamps: created %v→%v updated %v→%v", m["created_at"], p["created_at"], m["updated_at"], p["updated_at"])
	}

	// PUT replaces every settable field but keeps the status.
	put := e.must(200, "PUT", basePathF+"/meetings/"+id, map[string]any{"title": "Replaced"}).data()
	if put["title"] != "Replaced" || put["record_on_start"] != false || put["status"] != "INACTIVE" || put["recording_config"] != nil {
		t.Fatalf("replaced meeting = %v", put)
	}

	wantError(t, e.do("GET", basePathF+"/meetings/3a0c1d4e-0000-4000-8000-000000000000", "", nil), 404, "meeting")
	wantError(t, e.do("PATCH", basePathF+"/meetings/nope", "", map[string]any{"title": "x"}), 404)
	// A meeting of another app is invisible.
	otherID := e.do("POST", "/accounts/"+otherAcc+"/realtime/kit/"+otherApp+"/meetings", "Bearer "+otherKey, map[string]any{}).data()["id"].(string)
	wantError(t, e.do("GET", basePathF+"/meetings/"+otherID, "", nil), 404)
}

func TestMeetingValidation(t *testing.T) {
	e := newEnv(t)
	id := e.createMeeting("v")
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               string
	}{
		{"not json", "POST", "/meetings", "{", "not valid JSON"},
		{"array body", "POST", "/meetings", "[]", "JSON object"},
		{"title wrong type", "POST", "/meetings", map[string]any{"title": 1}, `"title" must be a string`},
		{"bool wrong type", "POST", "/meetings", map[string]any{"record_on_start": "yes"}, `"record_on_start" must be a boolean`},
		{"nested wrong type", "POST", "/meetings", map[string]any{"recording_config": map[string]any{"max_seconds": "1"}}, `"recording_config.max_seconds" must be a number`},
		{"max_seconds range", "POST", "/meetings", map[string]any{"recording_config": map[string]any{"max_seconds": 10}}, `"recording_config.max_seconds" must be between 60 and 86400`},
		{"codec enum", "POST", "/meetings", map[string]any{"recording_config": map[string]any{"video_config": map[string]any{"codec": "AV1"}}}, `"recording_config.video_config.codec" must be one of [H264, VP8]`},
		{"storage type required", "POST", "/meetings", map[string]any{"recording_config": map[string]any{"storage_config": map[string]any{"bucket": "b"}}}, `"recording_config.storage_config.type" is required`},
		{"language enum", "POST", "/meetings", map[string]any{"ai_config": map[string]any{"transcription": map[string]any{"language": "xx"}}}, `"ai_config.transcription.language" must be one of`},
		{"word limit", "POST", "/meetings", map[string]any{"ai_config": map[string]any{"summarization": map[string]any{"word_limit": 5}}}, `"ai_config.summarization.word_limit" must be between 150 and 1000`},
		{"keep alive", "POST", "/meetings", map[string]any{"session_keep_alive_time_in_secs": -1}, `"session_keep_alive_time_in_secs"`},
		{"region", "POST", "/meetings", map[string]any{"preferred_region": "mars-1"}, `"preferred_region" must be one of`},
		{"status enum", "PATCH", "/meetings/" + id, map[string]any{"status": "PAUSED"}, `"status" must be one of [ACTIVE, INACTIVE]`},
		{"rtmp url", "POST", "/meetings", map[string]any{"recording_config": map[string]any{"live_streaming_config": map[string]any{"rtmp_url": "http://x"}}}, `"recording_config.live_streaming_config.rtmp_url" must be a rtmp or rtmps URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(tc.method, basePathF+tc.path, "", tc.body), 400, tc.want)
		})
	}
	// Nothing invalid was stored.
	if n := len(e.must(200, "GET", basePathF+"/meetings", nil).list()); n != 1 {
		t.Fatalf("%d meetings after invalid requests, want 1", n)
	}
}

func TestMeetingListPagingAndSearch(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, e.createMeeting(fmt.Sprintf("Weekly sync %d", i)))
		time.Sleep(2 * time.Millisecond) // distinct created_at
	}
	e.createMeeting("Retro")

	r := e.must(200, "GET", basePathF+"/meetings?per_page=2&page_no=2", nil)
	pg := r.Body["paging"].(map[string]any)
	if len(r.list()) != 2 || pg["total_count"] != 6.0 || pg["start_offset"] != 3.0 || pg["end_offset"] != 4.0 {
		t.Fatalf("page 2: %s", r.Raw)
	}
	first := e.must(200, "GET", basePathF+"/meetings?per_page=1", nil).list()[0].(map[string]any)
	if first["title"] != "Retro" {
		t.Fatalf("newest first: got %v", first["title"])
	}
	if _, ok := first["recording_config"]; ok {
		t.Fatalf("list items must not carry recording_config: %v", first)
	}
	s := e.must(200, "GET", basePathF+"/meetings?search=weekly", nil)
	if n := len(s.list()); n != 5 {
		t.Fatalf("search weekly: %d results", n)
	}
	byID := e.must(200, "GET", basePathF+"/meetings?search="+ids[2], nil).list()
	if len(byID) != 1 || byID[0].(map[string]any)["id"] != ids[2] {
		t.Fatalf("search by id: %v", byID)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if n := len(e.must(200, "GET", basePathF+"/meetings?start_time="+future, nil).list()); n != 0 {
		t.Fatalf("start_time in the future: %d results", n)
	}
	if n := len(e.must(200, "GET", basePathF+"/meetings?end_time="+future, nil).list()); n != 6 {
		t.Fatalf("end_time in the future: %d results", n)
	}
	empty := e.must(200, "GET", basePathF+"/meetings?page_no=9", nil)
	if pg := empty.Body["paging"].(map[string]any); len(empty.list()) != 0 || pg["start_offset"] != 0.0 || pg["total_count"] != 6.0 {
		t.Fatalf("page past the end: %s", empty.Raw)
	}
	wantError(t, e.do("GET", basePathF+"/meetings?per_page=0", "", nil), 400, `"per_page"`)
	wantError(t, e.do("GET", basePathF+"/meetings?page_no=x", "", nil), 400, `"page_no"`)
	wantError(t, e.do("GET", basePathF+"/meetings?start_time=yesterday", "", nil), 400, `"start_time"`)
}

func TestParticipants(t *testing.T) {
	e := newEnv(t)
	mid := e.createMeeting("p")
	base := basePathF + "/meetings/" + mid + "/participants"

	r := e.must(201, "POST", base, map[string]any{"custom_participant_id": "u-1", "preset_name": "group_call_host", "name": "Ada", "picture": "https://example.com/a.png"})
	p := r.data()
	pid := p["id"].(string)
	if p["token"] == "" || p["custom_participant_id"] != "u-1" || p["preset_name"] != "group_call_host" || p["name"] != "Ada" || p["preset_id"] == "" {
		t.Fatalf("added participant = %v", p)
	}

	for _, tc := range []struct {
		name string
		body any
		code int
		want string
	}{
		{"missing custom id", map[string]any{"preset_name": "group_call_host"}, 400, `"custom_participant_id" is required`},
		{"missing preset", map[string]any{"custom_participant_id": "x"}, 400, `"preset_name" is required`},
		{"unknown preset", map[string]any{"custom_participant_id": "x", "preset_name": "nope"}, 400, `"preset_name" names no preset`},
		{"bad picture", map[string]any{"custom_participant_id": "x", "preset_name": "group_call_host", "picture": "not a url"}, 400, `"picture"`},
		{"wrong type", map[string]any{"custom_participant_id": 7, "preset_name": "group_call_host"}, 400, `"custom_participant_id" must be a string`},
		{"duplicate custom id", map[string]any{"custom_participant_id": "u-1", "preset_name": "group_call_host"}, 409, "u-1"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantError(t, e.do("POST", base, "", tc.body), tc.code, tc.want) })
	}
	wantError(t, e.do("POST", basePathF+"/meetings/nope/participants", "", map[string]any{"custom_participant_id": "x", "preset_name": "group_call_host"}), 404)

	e.addParticipant(mid, "u-2", "group_call_participant")
	list := e.must(200, "GET", base+"?per_page=1", nil)
	if len(list.list()) != 1 || list.Body["paging"].(map[string]any)["total_count"] != 2.0 {
		t.Fatalf("list: %s", list.Raw)
	}
	if _, has := list.list()[0].(map[string]any)["token"]; has {
		t.Fatal("listed participants must not carry tokens")
	}

	got := e.must(200, "GET", base+"/"+pid, nil).data()
	if got["name"] != "Ada" || got["picture"] != "https://example.com/a.png" {
		t.Fatalf("get = %v", got)
	}
	ed := e.must(200, "PATCH", base+"/"+pid, map[string]any{"preset_name": "webinar_viewer", "name": "Ada L."}).data()
	if ed["preset_name"] != "webinar_viewer" || ed["name"] != "Ada L." || ed["token"] == "" || ed["token"] == p["token"] {
		t.Fatalf("edit = %v", ed)
	}
	wantError(t, e.do("PATCH", base+"/"+pid, "", map[string]any{"preset_name": "nope"}), 400, "preset_name")

	tok := e.must(200, "POST", base+"/"+pid+"/token", nil).data()["token"]
	if tok == "" || tok == ed["token"] {
		t.Fatalf("refreshed token = %v", tok)
	}

	del := e.must(200, "DELETE", base+"/"+pid, nil).data()
	if del["custom_participant_id"] != "u-1" || del["preset_id"] == "" {
		t.Fatalf("delete = %v", del)
	}
	wantError(t, e.do("GET", base+"/"+pid, "", nil), 404, "participant")
	wantError(t, e.do("DELETE", base+"/"+pid, "", nil), 404)
	wantError(t, e.do("POST", base+"/"+pid+"/token", "", nil), 404)
}

func presetDoc(t *testing.T, name string) map[string]any {
	t.Helper()
	p := presets.Defaults()[1]
	p.Name = name
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPresets(t *testing.T) {
	e := newEnv(t)
	base := basePathF + "/presets"
	r := e.must(200, "POST", base, presetDoc(t, "coach"))
	p := r.data()
	id := p["id"].(string)
	if p["name"] != "coach" || p["config"] == nil || p["ui"] == nil || p["permissions"] == nil {
		t.Fatalf("created preset = %v", p)
	}
	wantError(t, e.do("POST", base, "", presetDoc(t, "coach")), 409, "coach")

	bad := presetDoc(t, "bad")
	bad["config"].(map[string]any)["view_type"] = "THEATRE"
	wantError(t, e.do("POST", base, "", bad), 400, `"config.view_type"`)
	wantError(t, e.do("POST", base, "", map[string]any{"name": "x"}), 400, `"config" is required`)

	list := e.must(200, "GET", base+"?per_page=100", nil)
	if n := len(list.list()); n != len(presets.Defaults())+1 {
		t.Fatalf("%d presets listed", n)
	}
	if item := list.list()[0].(map[string]any); item["permissions"] != nil || item["name"] == "" {
		t.Fatalf("list items are summaries: %v", item)
	}

	patched := e.must(200, "PATCH", base+"/"+id, map[string]any{
		"permissions": map[string]any{"media": map[string]any{"audio": map[string]any{"can_produce": "NOT_ALLOWED"}}},
	}).data()
	perms := patched["permissions"].(map[string]any)
	if got := perms["media"].(map[string]any)["audio"].(map[string]any)["can_produce"]; got != "NOT_ALLOWED" {
		t.Fatalf("patch not applied: %v", got)
	}
	if got := perms["media"].(map[string]any)["video"].(map[string]any)["can_produce"]; got != "ALLOWED" {
		t.Fatalf("patch changed a field it did not name: video %v", got)
	}
	got := e.must(200, "GET", base+"/"+id, nil).data()
	if got["permissions"].(map[string]any)["media"].(map[string]any)["audio"].(map[string]any)["can_produce"] != "NOT_ALLOWED" {
		t.Fatal("patch not stored")
	}
	wantError(t, e.do("PATCH", base+"/"+id, "", map[string]any{"name": "group_call_host"}), 409, "group_call_host")
	wantError(t, e.do("PATCH", base+"/"+id, "", map[string]any{"config": map[string]any{"max_screenshare_count": "many"}}), 400, `"config.max_screenshare_count"`)

	// A preset in use cannot be deleted; once unused it can.
	mid := e.createMeeting("m")
	ppid, _ := e.addParticipant(mid, "c-1", "coach")
	wantError(t, e.do("DELETE", base+"/"+id, "", nil), 409, "coach")
	e.must(200, "DELETE", basePathF+"/meetings/"+mid+"/participants/"+ppid, nil)
	del := e.must(200, "DELETE", base+"/"+id, nil).data()
	if del["name"] != "coach" {
		t.Fatalf("delete returned %v", del)
	}
	wantError(t, e.do("GET", base+"/"+id, "", nil), 404, "preset")
}

// joinAs calls POST /client/v1/join with a participant token.
func (e *env) joinAs(token string) response {
	e.t.Helper()
	return e.do("POST", "/client/v1/join", "Bearer "+token, nil)
}

func TestJoin(t *testing.T) {
	e := newEnv(t)
	mid := e.createMeeting("join")
	hostID, hostTok := e.addParticipant(mid, "host-1", "group_call_host")
	_, viewerTok := e.addParticipant(mid, "viewer-1", "webinar_viewer")

	r := e.joinAs(hostTok)
	if r.Status != 200 {
		t.Fatalf("join: %d %s", r.Status, r.Raw)
	}
	d := r.data()
	if d["url"] != lkPublic || d["room"] != mid || d["identity"] != hostID {
		t.Fatalf("join answer = %v", d)
	}
	if e.rooms.Room(mid) == nil {
		t.Fatal("join did not create the LiveKit room")
	}
	if !strings.Contains(e.rooms.Room(mid).Metadata, mid) {
		t.Fatalf("room metadata = %q", e.rooms.Room(mid).Metadata)
	}
	grant := decodeLiveKit(t, d["token"].(string))
	if grant.Identity != hostID || grant.Name != "Name host-1" || grant.Video.Room != mid || !grant.Video.RoomJoin {
		t.Fatalf("LiveKit claims = %+v / %+v", grant, grant.Video)
	}
	for _, src := range []livekit.TrackSource{livekit.TrackSource_MICROPHONE, livekit.TrackSource_CAMERA, livekit.TrackSource_SCREEN_SHARE} {
		if !grant.Video.GetCanPublishSource(src) {
			t.Errorf("host cannot publish %v", src)
		}
	}
	var meta map[string]any
	if err := json.Unmarshal([]byte(grant.Metadata), &meta); err != nil || meta["custom_participant_id"] != "host-1" || meta["preset_name"] != "group_call_host" {
		t.Fatalf("participant metadata = %q", grant.Metadata)
	}

	viewer := decodeLiveKit(t, e.joinAs(viewerTok).data()["token"].(string))
	if viewer.Video.GetCanPublish() || viewer.Video.GetCanPublishSource(livekit.TrackSource_MICROPHONE) {
		t.Fatalf("viewer may publish: %+v", viewer.Video)
	}

	// The preset is read at join time: a preset change applies to the old token too.
	e.must(200, "PATCH", basePathF+"/meetings/"+mid+"/participants/"+hostID, map[string]any{"preset_name": "webinar_viewer"})
	demoted := decodeLiveKit(t, e.joinAs(hostTok).data()["token"].(string))
	if demoted.Video.GetCanPublishSource(livekit.TrackSource_MICROPHONE) {
		t.Fatal("a demoted participant kept the microphone")
	}

	wantError(t, e.do("POST", "/client/v1/join", "-", nil), 401)
	wantError(t, e.joinAs("garbage"), 401, "invalid participant token")

	e.must(200, "PATCH", basePathF+"/meetings/"+mid, map[string]any{"status": "INACTIVE"})
	wantError(t, e.joinAs(viewerTok), 403, "INACTIVE")
	e.must(200, "PATCH", basePathF+"/meetings/"+mid, map[string]any{"status": "ACTIVE"})
	if r := e.joinAs(viewerTok); r.Status != 200 {
		t.Fatalf("join after reactivation: %s", r.Raw)
	}

	e.must(200, "DELETE", basePathF+"/meetings/"+mid+"/participants/"+hostID, nil)
	wantError(t, e.joinAs(hostTok), 401, "no longer exists")
}

func TestLiveKitOutageIs503WithoutDetails(t *testing.T) {
	e := newEnv(t)
	mid := e.createMeeting("down")
	_, tok := e.addParticipant(mid, "x", "group_call_host")
	e.rooms.SetErr(fmt.Errorf("dial tcp 10.1.2.3:7880: connection refused"))
	r := e.joinAs(tok)
	wantError(t, r, 503)
	if strings.Contains(string(r.Raw), "10.1.2.3") || strings.Contains(string(r.Raw), "refused") {
		t.Fatalf("5xx leaked internal detail: %s", r.Raw)
	}
	ready := e.do("GET", "/readyz", "-", nil)
	if ready.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz during outage: %d", ready.Status)
	}
	e.rooms.SetErr(nil)
	if ready := e.do("GET", "/readyz", "-", nil); ready.Status != 200 {
		t.Fatalf("readyz after outage: %s", ready.Raw)
	}
	if h := e.do("GET", "/healthz", "-", nil); h.Status != 200 {
		t.Fatalf("healthz: %s", h.Raw)
	}
}

func decodeLiveKit(t *testing.T, token string) *auth.ClaimGrants {
	t.Helper()
	v, err := auth.ParseAPIToken(token)
	if err != nil {
		t.Fatal(err)
	}
	_, grants, err := v.Verify(lkSecret)
	if err != nil {
		t.Fatalf("LiveKit token does not verify with the LiveKit secret: %v", err)
	}
	return grants
}

func TestStorageCredentialsAreWriteOnly(t *testing.T) {
	e := newEnv(t)
	r := e.must(201, "POST", basePathF+"/meetings", map[string]any{"recording_config": map[string]any{
		"storage_config": map[string]any{"type": "aws", "bucket": "b", "access_key": "AKIA1", "secret": "s3cr3t",
			"password": "pw-123", "private_key": "-----BEGIN KEY-----"},
	}})
	id := r.data()["id"].(string)
	for _, raw := range [][]byte{r.Raw, e.must(200, "GET", basePathF+"/meetings/"+id, nil).Raw} {
		for _, secret := range []string{"s3cr3t", "pw-123", "BEGIN KEY"} {
			if strings.Contains(string(raw), secret) {
				t.Fatalf("answer leaks %q: %s", secret, raw)
			}
		}
		if !strings.Contains(string(raw), "AKIA1") || !strings.Contains(string(raw), `"bucket":"b"`) {
			t.Fatalf("non-secret storage fields lost: %s", raw)
		}
	}
	// The credentials are still stored for the recorder.
	m, err := e.svc.Meeting(t.Context(), appID, id)
	if err != nil || !strings.Contains(string(m.RecordingConfig), "s3cr3t") {
		t.Fatalf("stored recording_config lost the secret: %s (%v)", m.RecordingConfig, err)
	}
}
