package presets

// Names of the built-in presets that Defaults returns.
const (
	GroupCallHost        = "group_call_host"
	GroupCallParticipant = "group_call_participant"
	WebinarPresenter     = "webinar_presenter"
	WebinarViewer        = "webinar_viewer"
	Recorder             = "recorder"
)

// Defaults returns the built-in presets seeded into every new app, named in
// the style of RealtimeKit's (Dyte's) defaults: group_call_host (the default
// preset_name of Dyte's add-participant), group_call_participant,
// webinar_presenter, webinar_viewer, and recorder, a hidden preset for
// recording bots. Each call returns fresh values that the caller may modify.
//
// No waiting room is on by default (waiting_room_type SKIP everywhere): an
// app opts in by editing a preset. There is no livestream preset, because
// RealtimeKit's API has no livestream view type.
func Defaults() []Preset {
	webinar := DefaultConfig()
	webinar.ViewType = ViewWebinar
	return []Preset{
		{Name: GroupCallHost, Config: DefaultConfig(), UI: DefaultUI(), Permissions: hostPermissions()},
		{Name: GroupCallParticipant, Config: DefaultConfig(), UI: DefaultUI(), Permissions: participantPermissions()},
		{Name: WebinarPresenter, Config: webinar, UI: DefaultUI(), Permissions: hostPermissions()},
		{Name: WebinarViewer, Config: webinar, UI: DefaultUI(), Permissions: viewerPermissions()},
		{Name: Recorder, Config: DefaultConfig(), UI: DefaultUI(), Permissions: recorderPermissions()},
	}
}

// DefaultConfig returns the config of the built-in group call presets:
// 25 video tiles on desktop and 6 on mobile, one screen share at a time,
// camera in hd at 30 fps, screen share in hd at 5 fps, mono audio at the
// normal bitrate.
func DefaultConfig() Config {
	return Config{
		ViewType:            ViewGroupCall,
		MaxVideoStreams:     MaxVideoStreams{Mobile: 6, Desktop: 25},
		MaxScreenshareCount: 1,
		Media: MediaConfig{
			Video:       StreamConfig{Quality: QualityHD, FrameRate: 30},
			Screenshare: StreamConfig{Quality: QualityHD, FrameRate: 5},
		},
	}
}

// DefaultUI returns the UI of the built-in presets: RealtimeKit's dark theme
// with a blue brand palette and no logo.
func DefaultUI() UI {
	return UI{DesignTokens: DesignTokens{
		BorderRadius: BorderRadiusRounded,
		BorderWidth:  BorderWidthThin,
		SpacingBase:  4,
		Theme:        ThemeDark,
		Logo:         "",
		Colors: Colors{
			Brand: BrandColors{
				Shade300: "#497CFD",
				Shade400: "#356EFD",
				Shade500: "#2160FD",
				Shade600: "#0D51FD",
				Shade700: "#0245EF",
			},
			Background: BackgroundColors{
				Shade600:  "#444444",
				Shade700:  "#383838",
				Shade800:  "#2C2C2C",
				Shade900:  "#212121",
				Shade1000: "#080808",
			},
			Danger:      "#FF2D2D",
			Text:        "#EEEEEE",
			TextOnBrand: "#EEEEEE",
			Success:     "#62A504",
			VideoBg:     "#191919",
			Warning:     "#FFCD07",
		},
	}}
}

// denied returns a permission set that allows nothing: the base the built-in
// sets are written against, so each states only what it allows.
func denied() Permissions {
	return Permissions{
		RecorderType:    RecorderTypeNone,
		WaitingRoomType: WaitingRoomSkip,
		Media: MediaPermissions{
			Audio:       ProducePermission{CanProduce: ProduceNotAllowed},
			Video:       ProducePermission{CanProduce: ProduceNotAllowed},
			Screenshare: ProducePermission{CanProduce: ProduceNotAllowed},
		},
		Plugins: PluginPermissions{Config: PluginConfig{AccessControl: AccessViewOnly}},
	}
}

// hostPermissions allows everything a person may do, breakout rooms
// included, without making the host hidden or a recorder.
func hostPermissions() Permissions {
	p := denied()
	p.AcceptWaitingRequests = true
	p.CanAcceptProductionRequests = true
	p.CanChangeParticipantPermissions = true
	p.CanEditDisplayName = true
	p.CanLivestream = true
	p.CanRecord = true
	p.CanSpotlight = true
	p.DisableParticipantAudio = true
	p.DisableParticipantScreensharing = true
	p.DisableParticipantVideo = true
	p.KickParticipant = true
	p.PinParticipant = true
	p.ShowParticipantList = true
	p.Media.Audio.CanProduce = ProduceAllowed
	p.Media.Video.CanProduce = ProduceAllowed
	p.Media.Screenshare.CanProduce = ProduceAllowed
	p.Chat = ChatPermissions{
		Public:  PublicChat{CanSend: true, Text: true, Files: true},
		Private: PrivateChat{CanSend: true, CanReceive: true, Text: true, Files: true},
	}
	p.Polls = PollPermissions{CanCreate: true, CanVote: true, CanView: true}
	p.Plugins = PluginPermissions{CanStart: true, CanClose: true, CanEditConfig: true,
		Config: PluginConfig{AccessControl: AccessFullAccess}}
	p.ConnectedMeetings = ConnectedMeetingsPermissions{
		CanAlterConnectedMeetings:  true,
		CanSwitchConnectedMeetings: true,
		CanSwitchToParentMeeting:   true,
	}
	return p
}

// participantPermissions is an ordinary group call member: publishes
// everything, chats, votes in polls and uses plugins a host opened, but
// moderates nothing, cannot rename itself and stays in the breakout room a
// host puts it in. Decode also uses it when a body has no permissions.
func participantPermissions() Permissions {
	p := denied()
	p.ShowParticipantList = true
	p.Media.Audio.CanProduce = ProduceAllowed
	p.Media.Video.CanProduce = ProduceAllowed
	p.Media.Screenshare.CanProduce = ProduceAllowed
	p.Chat = ChatPermissions{
		Public:  PublicChat{CanSend: true, Text: true, Files: true},
		Private: PrivateChat{CanSend: true, CanReceive: true, Text: true, Files: true},
	}
	p.Polls = PollPermissions{CanVote: true, CanView: true}
	p.Plugins.Config = PluginConfig{AccessControl: AccessFullAccess}
	return p
}

// viewerPermissions is a webinar audience member: may ask to speak or show
// video (CAN_REQUEST) but never share a screen, may send text to the public
// chat and read private messages, votes in polls, views plugins.
func viewerPermissions() Permissions {
	p := denied()
	p.Media.Audio.CanProduce = ProduceCanRequest
	p.Media.Video.CanProduce = ProduceCanRequest
	p.Chat = ChatPermissions{
		Public:  PublicChat{CanSend: true, Text: true},
		Private: PrivateChat{CanReceive: true},
	}
	p.Polls = PollPermissions{CanVote: true, CanView: true}
	return p
}

// recorderPermissions is a recording bot: hidden, produces and sends
// nothing, sees polls so a composite recording can show them.
func recorderPermissions() Permissions {
	p := denied()
	p.HiddenParticipant = true
	p.IsRecorder = true
	p.RecorderType = RecorderTypeRecorder
	p.Polls.CanView = true
	return p
}
