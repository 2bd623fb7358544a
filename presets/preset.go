// Package presets owns the RealtimeKit preset document: its Go types with
// RealtimeKit's exact JSON names, decoding and validation of create, replace
// and PATCH bodies, the built-in presets seeded into every app, and the
// mapping from a preset's permissions to the LiveKit grant of a participant
// token.
//
// It must not store anything (store.Preset keeps a preset's document as the
// opaque JSON that Body returns) and knows nothing about HTTP: its errors carry
// their class as a psrpc code (InvalidArgument for a bad document) and the
// HTTP edge turns them into statuses. Participant metadata is built by the
// bridge, not here.
package presets

import (
	"encoding/json"
	"fmt"
)

// Preset is a RealtimeKit preset: a named set of meeting configuration, UI
// design tokens and participant permissions. Its JSON is the preset document
// of RealtimeKit's REST API (without the id, which the store assigns).
type Preset struct {
	Name        string      `json:"name"`
	Config      Config      `json:"config"`
	UI          UI          `json:"ui"`
	Permissions Permissions `json:"permissions"`
}

// ViewType is config.view_type, the kind of meeting a preset is made for.
type ViewType string

// The view types RealtimeKit knows.
const (
	ViewGroupCall ViewType = "GROUP_CALL"
	ViewWebinar   ViewType = "WEBINAR"
	ViewAudioRoom ViewType = "AUDIO_ROOM"
)

// Quality is the resolution of a video or screen share stream.
type Quality string

// The stream qualities RealtimeKit knows.
const (
	QualityHD   Quality = "hd"
	QualityVGA  Quality = "vga"
	QualityQVGA Quality = "qvga"
)

// Config is a preset's config: what kind of meeting it is and the media
// limits of its participants.
type Config struct {
	ViewType ViewType `json:"view_type"`
	// MaxVideoStreams is how many video tiles a device shows at once.
	MaxVideoStreams MaxVideoStreams `json:"max_video_streams"`
	// MaxScreenshareCount is how many screen shares may be active at once.
	MaxScreenshareCount int         `json:"max_screenshare_count"`
	Media               MediaConfig `json:"media"`
}

// MaxVideoStreams is config.max_video_streams: the number of video streams
// visible on a mobile and on a desktop device.
type MaxVideoStreams struct {
	Mobile  int `json:"mobile"`
	Desktop int `json:"desktop"`
}

// MediaConfig is config.media: the encoding settings of a participant's
// camera, screen share and microphone.
type MediaConfig struct {
	Video       StreamConfig `json:"video"`
	Screenshare StreamConfig `json:"screenshare"`
	// Audio is optional on input; when absent both flags are false.
	Audio AudioConfig `json:"audio"`
}

// StreamConfig is the quality and frame rate of a video or screen share stream.
type StreamConfig struct {
	Quality   Quality `json:"quality"`
	FrameRate int     `json:"frame_rate"`
}

// AudioConfig is config.media.audio.
type AudioConfig struct {
	EnableStereo      bool `json:"enable_stereo"`
	EnableHighBitrate bool `json:"enable_high_bitrate"`
}

// BorderRadius is ui.design_tokens.border_radius.
type BorderRadius string

// BorderRadiusRounded is the only border radius the RealtimeKit API accepts.
const BorderRadiusRounded BorderRadius = "rounded"

// BorderWidth is ui.design_tokens.border_width.
type BorderWidth string

// BorderWidthThin is the only border width the RealtimeKit API accepts.
const BorderWidthThin BorderWidth = "thin"

// Theme is ui.design_tokens.theme.
type Theme string

// ThemeDark is the only theme the RealtimeKit API accepts.
const ThemeDark Theme = "dark"

// UI is a preset's ui: the design tokens of RealtimeKit's UI kit and an
// optional UI kit configuration diff.
type UI struct {
	DesignTokens DesignTokens `json:"design_tokens"`
	// ConfigDiff is ui.config_diff, an object this package does not interpret.
	// Nil means absent. Numbers in it are json.Number.
	ConfigDiff map[string]any `json:"config_diff,omitempty"`
}

// DesignTokens is ui.design_tokens.
type DesignTokens struct {
	BorderRadius BorderRadius `json:"border_radius"`
	BorderWidth  BorderWidth  `json:"border_width"`
	// SpacingBase is the base spacing unit, in pixels.
	SpacingBase float64 `json:"spacing_base"`
	Theme       Theme   `json:"theme"`
	// Logo is the URL of the logo shown in the meeting; it may be empty.
	Logo   string `json:"logo"`
	Colors Colors `json:"colors"`
}

// Colors is ui.design_tokens.colors. Every color is a hex string, #RRGGBB or #RGB.
type Colors struct {
	Brand       BrandColors      `json:"brand"`
	Background  BackgroundColors `json:"background"`
	Danger      string           `json:"danger"`
	Text        string           `json:"text"`
	TextOnBrand string           `json:"text_on_brand"`
	Success     string           `json:"success"`
	VideoBg     string           `json:"video_bg"`
	Warning     string           `json:"warning"`
}

// BrandColors is the brand palette, from light (300) to dark (700).
type BrandColors struct {
	Shade300 string `json:"300"`
	Shade400 string `json:"400"`
	Shade500 string `json:"500"`
	Shade600 string `json:"600"`
	Shade700 string `json:"700"`
}

// BackgroundColors is the background palette, from light (600) to dark (1000).
type BackgroundColors struct {
	Shade600  string `json:"600"`
	Shade700  string `json:"700"`
	Shade800  string `json:"800"`
	Shade900  string `json:"900"`
	Shade1000 string `json:"1000"`
}

// CanProduce says whether a participant may publish one kind of media.
type CanProduce string

// The production permissions RealtimeKit knows. CanRequest means the
// participant must ask, and someone with can_accept_production_requests must
// allow it, before publishing.
const (
	ProduceAllowed    CanProduce = "ALLOWED"
	ProduceNotAllowed CanProduce = "NOT_ALLOWED"
	ProduceCanRequest CanProduce = "CAN_REQUEST"
)

// RecorderType is permissions.recorder_type: the kind of recording peer, if any.
type RecorderType string

// The recorder types RealtimeKit knows.
const (
	RecorderTypeRecorder     RecorderType = "RECORDER"
	RecorderTypeLivestreamer RecorderType = "LIVESTREAMER"
	RecorderTypeNone         RecorderType = "NONE"
)

// WaitingRoomType is permissions.waiting_room_type: whether a participant
// waits in the waiting room before joining.
type WaitingRoomType string

// The waiting room types RealtimeKit knows.
const (
	WaitingRoomSkip                  WaitingRoomType = "SKIP"
	WaitingRoomOnPrivilegedUserEntry WaitingRoomType = "ON_PRIVILEGED_USER_ENTRY"
	WaitingRoomSkipOnAccept          WaitingRoomType = "SKIP_ON_ACCEPT"
)

// AccessControl is the access a participant has to plugins.
type AccessControl string

// The plugin access levels RealtimeKit knows.
const (
	AccessFullAccess AccessControl = "FULL_ACCESS"
	AccessViewOnly   AccessControl = "VIEW_ONLY"
)

// Permissions is a preset's permissions: what a participant may do in a meeting.
type Permissions struct {
	AcceptWaitingRequests           bool `json:"accept_waiting_requests"`
	CanAcceptProductionRequests     bool `json:"can_accept_production_requests"`
	CanChangeParticipantPermissions bool `json:"can_change_participant_permissions"`
	CanEditDisplayName              bool `json:"can_edit_display_name"`
	CanLivestream                   bool `json:"can_livestream"`
	CanRecord                       bool `json:"can_record"`
	CanSpotlight                    bool `json:"can_spotlight"`
	DisableParticipantAudio         bool `json:"disable_participant_audio"`
	DisableParticipantScreensharing bool `json:"disable_participant_screensharing"`
	DisableParticipantVideo         bool `json:"disable_participant_video"`
	// HiddenParticipant makes the participant invisible to the others.
	HiddenParticipant   bool `json:"hidden_participant"`
	KickParticipant     bool `json:"kick_participant"`
	PinParticipant      bool `json:"pin_participant"`
	ShowParticipantList bool `json:"show_participant_list"`
	// IsRecorder is optional on input (false when absent).
	IsRecorder      bool            `json:"is_recorder"`
	RecorderType    RecorderType    `json:"recorder_type"`
	WaitingRoomType WaitingRoomType `json:"waiting_room_type"`

	Media             MediaPermissions             `json:"media"`
	Chat              ChatPermissions              `json:"chat"`
	Polls             PollPermissions              `json:"polls"`
	Plugins           PluginPermissions            `json:"plugins"`
	ConnectedMeetings ConnectedMeetingsPermissions `json:"connected_meetings"`
}

// MediaPermissions is permissions.media: what a participant may publish.
type MediaPermissions struct {
	Audio       ProducePermission `json:"audio"`
	Video       ProducePermission `json:"video"`
	Screenshare ProducePermission `json:"screenshare"`
}

// ProducePermission is the permission to publish one kind of media.
type ProducePermission struct {
	CanProduce CanProduce `json:"can_produce"`
}

// ChatPermissions is permissions.chat.
type ChatPermissions struct {
	Public  PublicChat  `json:"public"`
	Private PrivateChat `json:"private"`
}

// PublicChat is what a participant may send to everyone. CanSend is the
// master switch; Text and Files say which kinds of message.
type PublicChat struct {
	CanSend bool `json:"can_send"`
	Text    bool `json:"text"`
	Files   bool `json:"files"`
}

// PrivateChat is what a participant may send to, and receive from, one other
// participant.
type PrivateChat struct {
	CanSend    bool `json:"can_send"`
	CanReceive bool `json:"can_receive"`
	Text       bool `json:"text"`
	Files      bool `json:"files"`
}

// PollPermissions is permissions.polls.
type PollPermissions struct {
	CanCreate bool `json:"can_create"`
	CanVote   bool `json:"can_vote"`
	CanView   bool `json:"can_view"`
}

// PluginPermissions is permissions.plugins.
type PluginPermissions struct {
	CanStart      bool         `json:"can_start"`
	CanClose      bool         `json:"can_close"`
	CanEditConfig bool         `json:"can_edit_config"`
	Config        PluginConfig `json:"config"`
}

// PluginConfig is permissions.plugins.config, which RealtimeKit defines as a
// union: either the id of a plugin configuration (a UUID string) or an inline
// {access_control, handles_view_only} object. A non-empty ID selects the
// string form, and then AccessControl and HandlesViewOnly are ignored;
// otherwise it is the object form. Each form encodes back to itself.
type PluginConfig struct {
	ID              string
	AccessControl   AccessControl
	HandlesViewOnly bool
}

// pluginConfigObject is the object form of PluginConfig on the wire.
type pluginConfigObject struct {
	AccessControl   AccessControl `json:"access_control"`
	HandlesViewOnly bool          `json:"handles_view_only"`
}

// MarshalJSON encodes the string form when ID is set, else the object form.
func (c PluginConfig) MarshalJSON() ([]byte, error) {
	if c.ID != "" {
		return json.Marshal(c.ID)
	}
	return json.Marshal(pluginConfigObject{AccessControl: c.AccessControl, HandlesViewOnly: c.HandlesViewOnly})
}

// UnmarshalJSON accepts either form. It checks only the JSON shape; Decode
// is what validates a document.
func (c *PluginConfig) UnmarshalJSON(b []byte) error {
	var id string
	if err := json.Unmarshal(b, &id); err == nil {
		*c = PluginConfig{ID: id}
		return nil
	}
	var o pluginConfigObject
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("presets: plugins.config must be a string or an object: %w", err)
	}
	*c = PluginConfig{AccessControl: o.AccessControl, HandlesViewOnly: o.HandlesViewOnly}
	return nil
}

// ConnectedMeetingsPermissions is permissions.connected_meetings: what a
// participant may do with breakout rooms.
type ConnectedMeetingsPermissions struct {
	// CanAlterConnectedMeetings allows creating, renaming and closing breakout
	// rooms and moving other participants between them ("full access").
	CanAlterConnectedMeetings bool `json:"can_alter_connected_meetings"`
	// CanSwitchConnectedMeetings allows moving oneself between breakout rooms.
	CanSwitchConnectedMeetings bool `json:"can_switch_connected_meetings"`
	// CanSwitchToParentMeeting allows returning oneself to the parent meeting.
	CanSwitchToParentMeeting bool `json:"can_switch_to_parent_meeting"`
}
