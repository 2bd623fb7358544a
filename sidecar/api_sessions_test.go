package sidecar_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/realtime_kit"
	"github.com/google/uuid"
	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/store"
	"rtk-sidecar/webhooks"
)

// breakout creates a breakout room of parent (as the connected-meetings
// feature does, in the store).
func (e *lkEnv) breakout(parent store.Meeting, title string) store.Meeting {
	e.t.Helper()
	now := time.Now().UTC()
	m := store.Meeting{ID: uuid.NewString(), AppID: appID, ParentID: parent.ID, Title: title, Status: store.MeetingActive,
		CreatedAt: now, UpdatedAt: now}
	if err := e.st.CreateMeeting(context.Background(), m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func fieldOf(list []any, key string) []string {
	var out []string
	for _, x := range list {
		out = append(out, fmt.Sprint(x.(map[string]any)[key]))
	}
	return out
}

func TestSessionsAPI(t *testing.T) {
	e := newLKEnv(t, webhooks.Options{})
	m := e.meeting("Town hall")
	ada, _ := e.addParticipant(m.ID, "ada", "group_call_host")
	bob, _ := e.addParticipant(m.ID, "bob", "group_call_participant")
	rec, _ := e.addParticipant(m.ID, "rec", "recorder")
	wantError(t, e.do("GET", basePathF+"/meetings/"+m.ID+"/active-session", "", nil), 404, "has no active session")

	e.join(m, ada)
	e.join(m, bob)
	e.join(m, rec) // hidden: not a session participant
	e.sfu.Join(m.ID, &livekit.ParticipantInfo{Identity: "EG_1", Kind: livekit.ParticipantInfo_EGRESS})

	active := e.must(200, "GET", basePathF+"/meetings/"+m.ID+"/active-session", nil).data()
	sid, _ := active["id"].(string)
	if active["associated_id"] != m.ID || active["meeting_display_name"] != "Town hall" || active["type"] != "meeting" ||
		active["status"] != "LIVE" || active["live_participants"].(float64) != 2 || active["max_concurrent_participants"].(float64) != 2 ||
		active["organization_id"] != appID || active["ended_at"] != nil || active["started_at"] == "" {
		t.Fatalf("active session = %v", active)
	}

	// A breakout room of the meeting, with Ada moved into it.
	bo := e.breakout(m, "Room 1")
	e.join(bo, ada)
	e.sfu.Leave(m.ID, ada)
	s := e.must(200, "GET", basePathF+"/sessions/"+sid+"?include_breakout_rooms=true", nil).data()["session"].(map[string]any)
	rooms, _ := s["breakout_rooms"].([]any)
	if len(rooms) != 1 || rooms[0].(map[string]any)["associated_id"] != bo.ID || rooms[0].(map[string]any)["parent_session_id"] != sid ||
		rooms[0].(map[string]any)["live_participants"].(float64) != 1 {
		t.Errorf("breakout rooms = %v", rooms)
	}
	if plain := e.must(200, "GET", basePathF+"/sessions/"+sid, nil).data()["session"].(map[string]any); plain["breakout_rooms"] != nil {
		t.Errorf("breakout rooms without include_breakout_rooms: %v", plain["breakout_rooms"])
	}
	wantError(t, e.do("GET", basePathF+"/sessions/"+sid+"?include_breakout_rooms=maybe", "", nil), 400, `"include_breakout_rooms" must be true or false`)
	wantError(t, e.do("GET", basePathF+"/sessions/nope", "", nil), 404, "session nope not found")
	wantError(t, e.do("GET", "/accounts/"+otherAcc+"/realtime/kit/"+otherApp+"/sessions/"+sid, "Bearer "+otherKey, nil), 404)

	// Participants: Ada (moved), Bob; not the recorder.
	ps := e.must(200, "GET", basePathF+"/sessions/"+sid+"/participants", nil).data()["participants"].([]any)
	if got := fieldOf(ps, "user_id"); !slices.Equal(got, []string{ada, bob}) {
		t.Fatalf("session participants = %v, want [ada bob]", got)
	}
	a := ps[0].(map[string]any)
	if a["custom_participant_id"] != "ada" || a["display_name"] != "Name ada" || a["preset_name"] != "group_call_host" ||
		a["left_at"] == nil || a["leave_reason"] != "MOVED" || a["joined_at"] == "" || a["id"] == "" {
		t.Errorf("ada = %v", a)
	}
	if b := ps[1].(map[string]any); b["left_at"] != nil || b["leave_reason"] != nil {
		t.Errorf("bob, still in the room = %v", b)
	}
	if got := fieldOf(e.must(200, "GET", basePathF+"/sessions/"+sid+"/participants?search=BOB", nil).data()["participants"].([]any), "user_id"); !slices.Equal(got, []string{bob}) {
		t.Errorf("search bob = %v", got)
	}
	one := e.must(200, "GET", basePathF+"/sessions/"+sid+"/participants/"+a["id"].(string), nil).data()["participant"].(map[string]any)
	if one["user_id"] != ada {
		t.Errorf("one participant = %v", one)
	}
	wantError(t, e.do("GET", basePathF+"/sessions/"+sid+"/participants?sort_by=height", "", nil), 400, `"sort_by" must be one of`)

	// Lists and filters.
	all := e.must(200, "GET", basePathF+"/sessions", nil).data()["sessions"].([]any)
	if got := fieldOf(all, "associated_id"); !slices.Equal(got, []string{bo.ID, m.ID}) {
		t.Errorf("sessions = %v", got)
	}
	for q, want := range map[string][]string{
		"?associated_id=" + m.ID:      {sid},
		"?status=live&sort_order=ASC": {sid, fieldOf(rooms, "id")[0]},
		"?status=ENDED":               nil,
		"?participants=bob":           {sid},
		"?search=room%201":            {fieldOf(rooms, "id")[0]},
		"?per_page=1&page_no=2":       {sid},
		"?start_time=2000-01-01T00:00:00Z&sort_by=minutesConsumed&sort_order=desc": nil, // checked for shape only
	} {
		got := fieldOf(e.must(200, "GET", basePathF+"/sessions"+q, nil).data()["sessions"].([]any), "id")
		if want != nil && !slices.Equal(got, want) {
			t.Errorf("sessions%s = %v, want %v", q, got, want)
		}
	}
	wantError(t, e.do("GET", basePathF+"/sessions?status=PAUSED", "", nil), 400, `"status" must be one of`)
	wantError(t, e.do("GET", basePathF+"/sessions?sort_order=UP", "", nil), 400, `"sort_order" must be ASC or DESC`)

	// The Dyte paths serve the same.
	if v2 := e.must(200, "GET", "/v2/sessions/"+sid, nil).data()["session"].(map[string]any); v2["id"] != sid {
		t.Errorf("/v2 session = %v", v2)
	}
}

func TestActiveSessionModeration(t *testing.T) {
	e := newLKEnv(t, webhooks.Options{})
	m := e.meeting("Moderated")
	ada, _ := e.addParticipant(m.ID, "ada", "group_call_host")
	bob, _ := e.addParticipant(m.ID, "bob", "group_call_host")
	cid, _ := e.addParticipant(m.ID, "cid", "group_call_host")
	base := basePathF + "/meetings/" + m.ID + "/active-session"
	wantError(t, e.do("POST", base+"/kick", "", map[string]any{"participant_ids": []string{ada}}), 404, "has no active session")
	for _, p := range []string{ada, bob, cid} {
		e.join(m, p)
		e.sfu.Publish(m.ID, p, livekit.TrackSource_MICROPHONE)
	}

	// Mute one.
	r := e.must(200, "POST", base+"/mute", map[string]any{"custom_participant_ids": []string{"bob"}})
	if r.data()["action"] != "mute" || fmt.Sprint(fieldOf(r.data()["participants"].([]any), "id")) != "["+bob+"]" {
		t.Errorf("mute = %s", r.Raw)
	}
	if tr := e.sfu.Participant(m.ID, bob).Tracks[0]; !tr.Muted {
		t.Error("bob's microphone is not muted")
	}
	if tr := e.sfu.Participant(m.ID, ada).Tracks[0]; tr.Muted {
		t.Error("ada's microphone is muted")
	}

	// Mute everyone, for good.
	r = e.must(200, "POST", base+"/mute-all", map[string]any{"allow_unmute": false})
	if r.data()["action"] != "mute-all" || r.data()["muted_participants_count"].(float64) != 3 {
		t.Errorf("mute-all = %s", r.Raw)
	}
	if perm := e.sfu.Participant(m.ID, ada).Permission; slices.Contains(perm.CanPublishSources, livekit.TrackSource_MICROPHONE) {
		t.Errorf("ada may still publish her microphone: %v", perm)
	}
	e.must(200, "POST", base+"/mute-all", map[string]any{"allow_unmute": true})
	if perm := e.sfu.Participant(m.ID, ada).Permission; !slices.Contains(perm.CanPublishSources, livekit.TrackSource_MICROPHONE) {
		t.Errorf("ada did not get her microphone back: %v", perm)
	}

	// Kick.
	wantError(t, e.do("POST", base+"/kick", "", map[string]any{}), 400, `"participant_ids" or "custom_participant_ids" must name`)
	wantError(t, e.do("POST", base+"/kick", "", map[string]any{"participant_ids": []string{"nope"}}), 404, "participant nope is not in the active session")
	r = e.must(200, "POST", base+"/kick", map[string]any{"participant_ids": []string{ada}})
	kicked := r.data()["participants"].([]any)
	if r.data()["action"] != "kick" || len(kicked) != 1 || kicked[0].(map[string]any)["id"] != ada || kicked[0].(map[string]any)["name"] != "Name ada" {
		t.Errorf("kick = %s", r.Raw)
	}
	if e.sfu.Participant(m.ID, ada) != nil {
		t.Error("ada is still in the room")
	}
	active := e.must(200, "GET", base, nil).data()
	if active["live_participants"].(float64) != 2 {
		t.Errorf("after kick: %v", active)
	}
	sid := active["id"].(string)

	// Kick everyone: the session ends, by the host.
	r = e.must(200, "POST", base+"/kick-all", nil)
	if r.data()["action"] != "kick-all" || r.data()["kicked_participants_count"].(float64) != 2 {
		t.Errorf("kick-all = %s", r.Raw)
	}
	wantError(t, e.do("GET", base, "", nil), 404)
	s := e.must(200, "GET", basePathF+"/sessions/"+sid, nil).data()["session"].(map[string]any)
	if s["status"] != "ENDED" || s["ended_reason"] != "HOST_ENDED_MEETING" || s["ended_at"] == nil || s["live_participants"].(float64) != 0 {
		t.Errorf("session after kick-all = %v", s)
	}
	ps := e.must(200, "GET", basePathF+"/sessions/"+sid+"/participants", nil).data()["participants"].([]any)
	for _, p := range ps {
		if p.(map[string]any)["leave_reason"] != "KICKED" {
			t.Errorf("participant after kick-all = %v", p)
		}
	}
}

func TestPollsAPI(t *testing.T) {
	e := newLKEnv(t, webhooks.Options{})
	m := e.meeting("Polls")
	ada, _ := e.addParticipant(m.ID, "ada", "group_call_host")
	base := basePathF + "/meetings/" + m.ID + "/active-session/poll"
	body := map[string]any{"question": "Lunch?", "options": []string{"Pizza", "Sushi"}}
	wantError(t, e.do("POST", base, "", body), 404, "has no active session")
	e.join(m, ada)
	wantError(t, e.do("POST", base, "", map[string]any{"options": []string{"a", "b"}}), 400, `"question" is required`)
	r := e.must(201, "POST", base, body)
	poll := r.data()["poll"].(map[string]any)
	if r.data()["action"] != "create" || poll["question"] != "Lunch?" || len(poll["options"].([]any)) != 2 || poll["id"] == "" {
		t.Fatalf("poll = %s", r.Raw)
	}
	// The room heard of it, and Ada votes over LiveKit data.
	if pk := e.sfu.Packets(); len(pk) != 1 || pk[0].Topic != "rtk.poll" || pk[0].Room != m.ID {
		t.Errorf("packets = %+v", pk)
	}
	e.agents.vote(t, m.ID, ada, poll["id"].(string), 1)
	sid := e.must(200, "GET", basePathF+"/meetings/"+m.ID+"/active-session", nil).data()["id"].(string)
	eventuallyT(t, 5*time.Second, func() string {
		list := e.must(200, "GET", basePathF+"/sessions/"+sid+"/polls", nil).data()["polls"].([]any)
		opt := list[0].(map[string]any)["options"].([]any)[1].(map[string]any)
		if opt["count"].(float64) != 1 {
			return fmt.Sprintf("options = %v", list[0].(map[string]any)["options"])
		}
		return ""
	})
}

// TestSessionsReconciled: with LiveKit's webhooks lost (the sidecar was
// down), reconciliation brings the sessions API in line with LiveKit.
func TestSessionsReconciled(t *testing.T) {
	e := newLKEnv(t, webhooks.Options{})
	m := e.meeting("Missed")
	ada, _ := e.addParticipant(m.ID, "ada", "group_call_host")
	e.setDrop(true)
	e.join(m, ada)
	wantError(t, e.do("GET", basePathF+"/meetings/"+m.ID+"/active-session", "", nil), 404)
	if err := e.tracker.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	active := e.must(200, "GET", basePathF+"/meetings/"+m.ID+"/active-session", nil).data()
	if active["live_participants"].(float64) != 1 {
		t.Fatalf("reconciled session = %v", active)
	}
	e.sfu.Finish(m.ID)
	if err := e.tracker.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := e.must(200, "GET", basePathF+"/sessions/"+active["id"].(string), nil).data()["session"].(map[string]any)
	if s["status"] != "ENDED" || s["ended_reason"] != "ALL_PARTICIPANTS_LEFT" {
		t.Errorf("session after reconciling the end = %v", s)
	}
}

// ---- with the Cloudflare SDK ----

func TestSDKSessions(t *testing.T) {
	e := newLKEnv(t, webhooks.Options{})
	ctx := context.Background()
	cf := sdkClient(e.env, secret)
	acc := cloudflare.F(account)
	m := e.meeting("SDK")
	ada, _ := e.addParticipant(m.ID, "ada", "group_call_host")
	bob, _ := e.addParticipant(m.ID, "bob", "group_call_host")
	e.join(m, ada)
	e.join(m, bob)

	active := mustSDK(cf.RealtimeKit.ActiveSession.GetActiveSession(ctx, appID, m.ID,
		realtime_kit.ActiveSessionGetActiveSessionParams{AccountID: acc}))(t, "GetActiveSession")
	if active.Data.AssociatedID != m.ID || active.Data.LiveParticipants != 2 || active.Data.Status != "LIVE" {
		t.Errorf("active session = %+v", active.Data)
	}
	sid := active.Data.ID

	list := mustSDK(cf.RealtimeKit.Sessions.GetSessions(ctx, appID, realtime_kit.SessionGetSessionsParams{
		AccountID: acc, AssociatedID: cloudflare.F(m.ID), Status: cloudflare.F(realtime_kit.SessionGetSessionsParamsStatusLive),
		PageNo: cloudflare.F(1.0), PerPage: cloudflare.F(10.0), SortBy: cloudflare.F(realtime_kit.SessionGetSessionsParamsSortByCreatedAt),
		SortOrder: cloudflare.F(realtime_kit.SessionGetSessionsParamsSortOrderDesc),
		StartTime: cloudflare.F(time.Now().Add(-time.Hour)), EndTime: cloudflare.F(time.Now().Add(time.Hour)),
	}))(t, "GetSessions")
	if len(list.Data.Sessions) != 1 || list.Data.Sessions[0].ID != sid {
		t.Errorf("sessions = %+v", list.Data.Sessions)
	}
	details := mustSDK(cf.RealtimeKit.Sessions.GetSessionDetails(ctx, appID, sid, realtime_kit.SessionGetSessionDetailsParams{
		AccountID: acc, IncludeBreakoutRooms: cloudflare.F(true)}))(t, "GetSessionDetails")
	if details.Data.Session.ID != sid || details.Data.Session.MeetingDisplayName != "SDK" {
		t.Errorf("session = %+v", details.Data.Session)
	}
	parts := mustSDK(cf.RealtimeKit.Sessions.GetSessionParticipants(ctx, appID, sid, realtime_kit.SessionGetSessionParticipantsParams{
		AccountID: acc, PageNo: cloudflare.F(1.0), PerPage: cloudflare.F(10.0),
		SortBy: cloudflare.F(realtime_kit.SessionGetSessionParticipantsParamsSortByJoinedAt), SortOrder: cloudflare.F(realtime_kit.SessionGetSessionParticipantsParamsSortOrderAsc),
		View: cloudflare.F(realtime_kit.SessionGetSessionParticipantsParamsViewConsolidated),
	}))(t, "GetSessionParticipants")
	if len(parts.Data.Participants) != 2 || parts.Data.Participants[0].UserID != ada || parts.Data.Participants[0].CustomParticipantID != "ada" {
		t.Errorf("participants = %+v", parts.Data.Participants)
	}
	one := mustSDK(cf.RealtimeKit.Sessions.GetSessionParticipantDetails(ctx, appID, sid, parts.Data.Participants[1].ID,
		realtime_kit.SessionGetSessionParticipantDetailsParams{AccountID: acc}))(t, "GetSessionParticipantDetails")
	if one.Data.Participant.UserID != bob {
		t.Errorf("participant = %+v", one.Data.Participant)
	}

	chatLink := mustSDK(cf.RealtimeKit.Sessions.GetSessionChat(ctx, appID, sid, realtime_kit.SessionGetSessionChatParams{AccountID: acc}))(t, "GetSessionChat")
	if !strings.Contains(chatLink.Data.ChatDownloadURL, "/sessions/files/"+appID+"/"+sid+"/chat.csv?") || chatLink.Data.ChatDownloadURLExpiry == "" {
		t.Errorf("session chat = %+v", chatLink.Data)
	}

	poll := mustSDK(cf.RealtimeKit.ActiveSession.NewPoll(ctx, appID, m.ID, realtime_kit.ActiveSessionNewPollParams{
		AccountID: acc, Question: cloudflare.F("Lunch?"), Options: cloudflare.F([]string{"Pizza", "Sushi"}),
		Anonymous: cloudflare.F(false), HideVotes: cloudflare.F(false)}))(t, "NewPoll")
	if poll.Data.Poll.Question != "Lunch?" || len(poll.Data.Poll.Options) != 2 || poll.Data.Poll.Options[0].Text != "Pizza" {
		t.Errorf("poll = %+v", poll.Data.Poll)
	}
	kicked := mustSDK(cf.RealtimeKit.ActiveSession.KickParticipants(ctx, appID, m.ID, realtime_kit.ActiveSessionKickParticipantsParams{
		AccountID: acc, ParticipantIDs: cloudflare.F([]string{ada}), CustomParticipantIDs: cloudflare.F([]string{})}))(t, "KickParticipants")
	if len(kicked.Data.Participants) != 1 || kicked.Data.Participants[0].ID != ada {
		t.Errorf("kicked = %+v", kicked.Data)
	}
	all := mustSDK(cf.RealtimeKit.ActiveSession.KickAllParticipants(ctx, appID, m.ID,
		realtime_kit.ActiveSessionKickAllParticipantsParams{AccountID: acc}))(t, "KickAllParticipants")
	if all.Data.KickedParticipantsCount != 1 {
		t.Errorf("kick-all = %+v", all.Data)
	}
	_, err := cf.RealtimeKit.ActiveSession.GetActiveSession(ctx, appID, m.ID, realtime_kit.ActiveSessionGetActiveSessionParams{AccountID: acc})
	wantSDKError(t, "GetActiveSession after kick-all", err, 404, "no active session")
	ended := mustSDK(cf.RealtimeKit.Sessions.GetSessionDetails(ctx, appID, sid, realtime_kit.SessionGetSessionDetailsParams{AccountID: acc}))(t, "GetSessionDetails(ended)")
	if ended.Data.Session.Status != "ENDED" || ended.Data.Session.EndedAt == "" {
		t.Errorf("ended session = %+v", ended.Data.Session)
	}
}

func TestSDKWebhooks(t *testing.T) {
	e := newLKEnv(t, webhooks.Options{})
	ctx := context.Background()
	cf := sdkClient(e.env, secret)
	acc := cloudflare.F(account)
	created := mustSDK(cf.RealtimeKit.Webhooks.NewWebhook(ctx, appID, realtime_kit.WebhookNewWebhookParams{
		AccountID: acc, Name: cloudflare.F("sdk"), URL: cloudflare.F("https://example.com/sdk"),
		Events: cloudflare.F([]realtime_kit.WebhookNewWebhookParamsEvent{realtime_kit.WebhookNewWebhookParamsEventMeetingStarted,
			realtime_kit.WebhookNewWebhookParamsEventRecordingStatusUpdate}),
	}))(t, "NewWebhook")
	id := created.Data.ID
	if !created.Data.Enabled || len(created.Data.Events) != 2 || !near(created.Data.CreatedAt) {
		t.Errorf("created = %+v", created.Data)
	}
	list := mustSDK(cf.RealtimeKit.Webhooks.GetWebhooks(ctx, appID, realtime_kit.WebhookGetWebhooksParams{AccountID: acc}))(t, "GetWebhooks")
	if len(list.Data) != 1 || list.Data[0].ID != id {
		t.Errorf("list = %+v", list.Data)
	}
	mustSDK(cf.RealtimeKit.Webhooks.GetWebhookByID(ctx, appID, id, realtime_kit.WebhookGetWebhookByIDParams{AccountID: acc}))(t, "GetWebhookByID")
	edited := mustSDK(cf.RealtimeKit.Webhooks.EditWebhook(ctx, appID, id, realtime_kit.WebhookEditWebhookParams{
		AccountID: acc, Enabled: cloudflare.F(false)}))(t, "EditWebhook")
	if edited.Data.Enabled || edited.Data.Name != "sdk" {
		t.Errorf("edited = %+v", edited.Data)
	}
	replaced := mustSDK(cf.RealtimeKit.Webhooks.ReplaceWebhook(ctx, appID, id, realtime_kit.WebhookReplaceWebhookParams{
		AccountID: acc, Name: cloudflare.F("sdk2"), URL: cloudflare.F("https://example.com/sdk2"),
		Events: cloudflare.F([]realtime_kit.WebhookReplaceWebhookParamsEvent{realtime_kit.WebhookReplaceWebhookParamsEventMeetingEnded}),
	}))(t, "ReplaceWebhook")
	if replaced.Data.Name != "sdk2" || !replaced.Data.Enabled || len(replaced.Data.Events) != 1 {
		t.Errorf("replaced = %+v", replaced.Data)
	}
	deleted := mustSDK(cf.RealtimeKit.Webhooks.DeleteWebhook(ctx, appID, id, realtime_kit.WebhookDeleteWebhookParams{AccountID: acc}))(t, "DeleteWebhook")
	if deleted.Data.ID != id {
		t.Errorf("deleted = %+v", deleted.Data)
	}
	_, err := cf.RealtimeKit.Webhooks.GetWebhookByID(ctx, appID, id, realtime_kit.WebhookGetWebhookByIDParams{AccountID: acc})
	wantSDKError(t, "GetWebhookByID(deleted)", err, 404, "not found")
	_, err = cf.RealtimeKit.Webhooks.NewWebhook(ctx, appID, realtime_kit.WebhookNewWebhookParams{
		AccountID: acc, Name: cloudflare.F("bad"), URL: cloudflare.F("mailto:x@example.com"),
		Events: cloudflare.F([]realtime_kit.WebhookNewWebhookParamsEvent{realtime_kit.WebhookNewWebhookParamsEventMeetingStarted}),
	})
	wantSDKError(t, "NewWebhook(bad url)", err, 400, `"url" must be an http(s) URL`)
}
