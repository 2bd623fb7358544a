package presets_test

import (
	"slices"
	"testing"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"rtk-sidecar/presets"
)

// deniedPermissions allows nothing: every boolean false, nothing produced,
// no recorder, no waiting room, plugins view-only.
func deniedPermissions() presets.Permissions {
	return presets.Permissions{
		RecorderType:    presets.RecorderTypeNone,
		WaitingRoomType: presets.WaitingRoomSkip,
		Media: presets.MediaPermissions{
			Audio:       presets.ProducePermission{CanProduce: presets.ProduceNotAllowed},
			Video:       presets.ProducePermission{CanProduce: presets.ProduceNotAllowed},
			Screenshare: presets.ProducePermission{CanProduce: presets.ProduceNotAllowed},
		},
		Plugins: presets.PluginPermissions{Config: presets.PluginConfig{AccessControl: presets.AccessViewOnly}},
	}
}

// grant is what a preset may change in a VideoGrant; everything else is fixed.
type grant struct {
	sources    []livekit.TrackSource // nil: may publish nothing
	data       bool
	updateMeta bool
	hidden     bool
	recorder   bool
}

var allSources = []livekit.TrackSource{
	livekit.TrackSource_UNKNOWN,
	livekit.TrackSource_CAMERA,
	livekit.TrackSource_MICROPHONE,
	livekit.TrackSource_SCREEN_SHARE,
	livekit.TrackSource_SCREEN_SHARE_AUDIO,
}

var (
	mic         = []livekit.TrackSource{livekit.TrackSource_MICROPHONE}
	camera      = []livekit.TrackSource{livekit.TrackSource_CAMERA}
	screenshare = []livekit.TrackSource{livekit.TrackSource_SCREEN_SHARE, livekit.TrackSource_SCREEN_SHARE_AUDIO}
)

// checkGrant fails t unless g is the grant to join room with exactly want.
func checkGrant(t *testing.T, g *auth.VideoGrant, room string, want grant) {
	t.Helper()
	if !g.RoomJoin || g.Room != room {
		t.Errorf("RoomJoin, Room = %v, %q; want true, %q", g.RoomJoin, g.Room, room)
	}
	if g.RoomAdmin || g.RoomCreate || g.RoomList || g.RoomRecord || g.IngressAdmin || g.Agent || g.DestinationRoom != "" {
		t.Errorf("grant has admin powers: %+v", g)
	}
	if g.CanSubscribe == nil || !*g.CanSubscribe {
		t.Error("CanSubscribe is not explicitly true")
	}
	if g.CanPublish == nil || *g.CanPublish != (len(want.sources) > 0) {
		t.Errorf("CanPublish = %v, want explicitly %v", g.CanPublish, len(want.sources) > 0)
	}
	if g.CanPublishSources == nil {
		t.Error("CanPublishSources is not set explicitly")
	}
	for _, s := range allSources {
		if got, want := g.GetCanPublishSource(s), slices.Contains(want.sources, s); got != want {
			t.Errorf("GetCanPublishSource(%s) = %v, want %v", s, got, want)
		}
	}
	if g.CanPublishData == nil || *g.CanPublishData != want.data {
		t.Errorf("CanPublishData = %v, want explicitly %v", g.CanPublishData, want.data)
	}
	if g.GetCanUpdateOwnMetadata() != want.updateMeta {
		t.Errorf("CanUpdateOwnMetadata = %v, want %v", g.GetCanUpdateOwnMetadata(), want.updateMeta)
	}
	if g.Hidden != want.hidden || g.Recorder != want.recorder {
		t.Errorf("Hidden, Recorder = %v, %v; want %v, %v", g.Hidden, g.Recorder, want.hidden, want.recorder)
	}
	if g.GetCanSubscribeMetrics() || g.GetCanManageAgentSession() {
		t.Error("grant allows metrics or agent sessions")
	}
}

// TestGrants starts every row from deniedPermissions, changes one permission
// (or a few, for the combinations) and checks the whole grant.
func TestGrants(t *testing.T) {
	const pluginID = "0b7c1e2d-3f4a-4b5c-8d6e-7f8091a2b3c4"
	for _, tc := range []struct {
		name   string
		change func(*presets.Permissions)
		want   grant
	}{
		{"nothing allowed", func(*presets.Permissions) {}, grant{}},

		// One row per permission.
		{"accept_waiting_requests", func(p *presets.Permissions) { p.AcceptWaitingRequests = true }, grant{}},
		{"can_accept_production_requests", func(p *presets.Permissions) { p.CanAcceptProductionRequests = true }, grant{}},
		{"can_change_participant_permissions", func(p *presets.Permissions) { p.CanChangeParticipantPermissions = true }, grant{}},
		{"can_edit_display_name", func(p *presets.Permissions) { p.CanEditDisplayName = true }, grant{updateMeta: true}},
		{"can_livestream", func(p *presets.Permissions) { p.CanLivestream = true }, grant{}},
		{"can_record", func(p *presets.Permissions) { p.CanRecord = true }, grant{}},
		{"can_spotlight", func(p *presets.Permissions) { p.CanSpotlight = true }, grant{}},
		{"disable_participant_audio", func(p *presets.Permissions) { p.DisableParticipantAudio = true }, grant{}},
		{"disable_participant_screensharing", func(p *presets.Permissions) { p.DisableParticipantScreensharing = true }, grant{}},
		{"disable_participant_video", func(p *presets.Permissions) { p.DisableParticipantVideo = true }, grant{}},
		{"hidden_participant", func(p *presets.Permissions) { p.HiddenParticipant = true }, grant{hidden: true}},
		{"kick_participant", func(p *presets.Permissions) { p.KickParticipant = true }, grant{}},
		{"pin_participant", func(p *presets.Permissions) { p.PinParticipant = true }, grant{}},
		{"show_participant_list", func(p *presets.Permissions) { p.ShowParticipantList = true }, grant{}},
		{"is_recorder", func(p *presets.Permissions) { p.IsRecorder = true }, grant{hidden: true, recorder: true}},
		{"recorder_type RECORDER", func(p *presets.Permissions) { p.RecorderType = presets.RecorderTypeRecorder }, grant{hidden: true, recorder: true}},
		{"recorder_type LIVESTREAMER", func(p *presets.Permissions) { p.RecorderType = presets.RecorderTypeLivestreamer }, grant{hidden: true, recorder: true}},
		{"waiting_room_type ON_PRIVILEGED_USER_ENTRY", func(p *presets.Permissions) { p.WaitingRoomType = presets.WaitingRoomOnPrivilegedUserEntry }, grant{}},
		{"waiting_room_type SKIP_ON_ACCEPT", func(p *presets.Permissions) { p.WaitingRoomType = presets.WaitingRoomSkipOnAccept }, grant{}},
		{"media.audio ALLOWED", func(p *presets.Permissions) { p.Media.Audio.CanProduce = presets.ProduceAllowed }, grant{sources: mic}},
		{"media.audio CAN_REQUEST", func(p *presets.Permissions) { p.Media.Audio.CanProduce = presets.ProduceCanRequest }, grant{}},
		{"media.video ALLOWED", func(p *presets.Permissions) { p.Media.Video.CanProduce = presets.ProduceAllowed }, grant{sources: camera}},
		{"media.video CAN_REQUEST", func(p *presets.Permissions) { p.Media.Video.CanProduce = presets.ProduceCanRequest }, grant{}},
		{"media.screenshare ALLOWED", func(p *presets.Permissions) { p.Media.Screenshare.CanProduce = presets.ProduceAllowed }, grant{sources: screenshare}},
		{"media.screenshare CAN_REQUEST", func(p *presets.Permissions) { p.Media.Screenshare.CanProduce = presets.ProduceCanRequest }, grant{}},
		{"chat.public.can_send alone", func(p *presets.Permissions) { p.Chat.Public.CanSend = true }, grant{}},
		{"chat.public.text alone", func(p *presets.Permissions) { p.Chat.Public.Text = true }, grant{}},
		{"chat.public.files alone", func(p *presets.Permissions) { p.Chat.Public.Files = true }, grant{}},
		{"chat.private.can_send alone", func(p *presets.Permissions) { p.Chat.Private.CanSend = true }, grant{}},
		{"chat.private.can_receive", func(p *presets.Permissions) { p.Chat.Private.CanReceive = true }, grant{}},
		{"chat.private.text alone", func(p *presets.Permissions) { p.Chat.Private.Text = true }, grant{}},
		{"chat.private.files alone", func(p *presets.Permissions) { p.Chat.Private.Files = true }, grant{}},
		{"polls.can_create", func(p *presets.Permissions) { p.Polls.CanCreate = true }, grant{data: true}},
		{"polls.can_vote", func(p *presets.Permissions) { p.Polls.CanVote = true }, grant{data: true}},
		{"polls.can_view", func(p *presets.Permissions) { p.Polls.CanView = true }, grant{}},
		{"plugins.can_start", func(p *presets.Permissions) { p.Plugins.CanStart = true }, grant{data: true}},
		{"plugins.can_close", func(p *presets.Permissions) { p.Plugins.CanClose = true }, grant{data: true}},
		{"plugins.can_edit_config", func(p *presets.Permissions) { p.Plugins.CanEditConfig = true }, grant{data: true}},
		{"plugins.config FULL_ACCESS", func(p *presets.Permissions) { p.Plugins.Config.AccessControl = presets.AccessFullAccess }, grant{data: true}},
		{"plugins.config handles_view_only", func(p *presets.Permissions) { p.Plugins.Config.HandlesViewOnly = true }, grant{}},
		{"plugins.config id", func(p *presets.Permissions) { p.Plugins.Config = presets.PluginConfig{ID: pluginID} }, grant{}},
		{"connected_meetings.can_alter_connected_meetings", func(p *presets.Permissions) { p.ConnectedMeetings.CanAlterConnectedMeetings = true }, grant{}},
		{"connected_meetings.can_switch_connected_meetings", func(p *presets.Permissions) { p.ConnectedMeetings.CanSwitchConnectedMeetings = true }, grant{}},
		{"connected_meetings.can_switch_to_parent_meeting", func(p *presets.Permissions) { p.ConnectedMeetings.CanSwitchToParentMeeting = true }, grant{}},

		// Combinations.
		{"public chat text", func(p *presets.Permissions) { p.Chat.Public.CanSend, p.Chat.Public.Text = true, true }, grant{data: true}},
		{"public chat files", func(p *presets.Permissions) { p.Chat.Public.CanSend, p.Chat.Public.Files = true, true }, grant{data: true}},
		{"private chat text", func(p *presets.Permissions) { p.Chat.Private.CanSend, p.Chat.Private.Text = true, true }, grant{data: true}},
		{"private chat files", func(p *presets.Permissions) { p.Chat.Private.CanSend, p.Chat.Private.Files = true, true }, grant{data: true}},
		{"plugin id with FULL_ACCESS left over", func(p *presets.Permissions) {
			p.Plugins.Config = presets.PluginConfig{ID: pluginID, AccessControl: presets.AccessFullAccess}
		}, grant{}},
		{"screenshare only", func(p *presets.Permissions) {
			p.Media.Audio.CanProduce = presets.ProduceCanRequest
			p.Media.Video.CanProduce = presets.ProduceNotAllowed
			p.Media.Screenshare.CanProduce = presets.ProduceAllowed
		}, grant{sources: screenshare}},
		{"audio and video", func(p *presets.Permissions) {
			p.Media.Audio.CanProduce = presets.ProduceAllowed
			p.Media.Video.CanProduce = presets.ProduceAllowed
		}, grant{sources: []livekit.TrackSource{livekit.TrackSource_MICROPHONE, livekit.TrackSource_CAMERA}}},
		{"all media", func(p *presets.Permissions) {
			p.Media.Audio.CanProduce = presets.ProduceAllowed
			p.Media.Video.CanProduce = presets.ProduceAllowed
			p.Media.Screenshare.CanProduce = presets.ProduceAllowed
		}, grant{sources: append(append(slices.Clone(mic), camera...), screenshare...)}},
		{"recorder", func(p *presets.Permissions) {
			p.HiddenParticipant = true
			p.IsRecorder = true
			p.RecorderType = presets.RecorderTypeRecorder
			p.Polls.CanView = true
		}, grant{hidden: true, recorder: true}},
		{"hidden publisher", func(p *presets.Permissions) {
			p.HiddenParticipant = true
			p.Media.Audio.CanProduce = presets.ProduceAllowed
		}, grant{sources: mic, hidden: true}},
		{"livestreamer that may publish", func(p *presets.Permissions) {
			p.RecorderType = presets.RecorderTypeLivestreamer
			p.Media.Video.CanProduce = presets.ProduceAllowed
		}, grant{sources: camera, hidden: true, recorder: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := deniedPermissions()
			tc.change(&p)
			checkGrant(t, presets.Grants(p, "room-1"), "room-1", tc.want)
		})
	}
}

func TestGrantsOfDefaults(t *testing.T) {
	all := append(append(slices.Clone(mic), camera...), screenshare...)
	want := map[string]grant{
		presets.GroupCallHost:        {sources: all, data: true, updateMeta: true},
		presets.GroupCallParticipant: {sources: all, data: true},
		presets.WebinarPresenter:     {sources: all, data: true, updateMeta: true},
		presets.WebinarViewer:        {data: true},
		presets.Recorder:             {hidden: true, recorder: true},
	}
	for _, p := range presets.Defaults() {
		t.Run(p.Name, func(t *testing.T) {
			checkGrant(t, presets.Grants(p.Permissions, "meeting"), "meeting", want[p.Name])
		})
	}
}

// TestGrantsPermissionRoundTrip checks that the grant survives LiveKit's own
// conversion to a ParticipantPermission (what UpdateParticipant and a move
// carry), including an empty source list.
func TestGrantsPermissionRoundTrip(t *testing.T) {
	for _, p := range presets.Defaults() {
		t.Run(p.Name, func(t *testing.T) {
			g := presets.Grants(p.Permissions, "meeting")
			if !g.MatchesPermission(g.ToPermission()) {
				t.Errorf("grant %+v does not match its own permission %+v", g, g.ToPermission())
			}
			perm := g.ToPermission()
			if want := p.Permissions.PublishSources(); !slices.Equal(perm.CanPublishSources, want) || perm.CanPublish != (len(want) > 0) {
				t.Errorf("permission CanPublish, sources = %v, %v; want sources %v", perm.CanPublish, perm.CanPublishSources, want)
			}
		})
	}
}
