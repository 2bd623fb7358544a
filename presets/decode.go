package presets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/livekit/psrpc"

	"rtk-sidecar/apierr"
)

// Bounds of the numbers and strings of a preset document. RealtimeKit
// publishes none beyond the types, so these are ours: wide enough for any real
// meeting, narrow enough to keep nonsense (and integer overflow) out.
const (
	maxNameLength   = 100  // name, in characters, after trimming spaces
	maxFrameRate    = 60   // config.media.{video,screenshare}.frame_rate: 1..60
	maxVideoStreams = 100  // config.max_video_streams.{mobile,desktop}: 0..100
	maxScreenshares = 100  // config.max_screenshare_count: 0..100
	maxSpacingBase  = 32   // ui.design_tokens.spacing_base: greater than 0, at most 32
	maxLogoLength   = 2048 // ui.design_tokens.logo, in bytes; may be empty
)

var (
	hexColor = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
	uuidForm = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

	viewTypes        = []ViewType{ViewGroupCall, ViewWebinar, ViewAudioRoom}
	qualities        = []Quality{QualityHD, QualityVGA, QualityQVGA}
	borderRadii      = []BorderRadius{BorderRadiusRounded}
	borderWidths     = []BorderWidth{BorderWidthThin}
	themes           = []Theme{ThemeDark}
	canProduces      = []CanProduce{ProduceAllowed, ProduceNotAllowed, ProduceCanRequest}
	recorderTypes    = []RecorderType{RecorderTypeRecorder, RecorderTypeLivestreamer, RecorderTypeNone}
	waitingRoomTypes = []WaitingRoomType{WaitingRoomSkip, WaitingRoomOnPrivilegedUserEntry, WaitingRoomSkipOnAccept}
	accessControls   = []AccessControl{AccessFullAccess, AccessViewOnly}
)

// Decode decodes and validates the body of a create (POST) or replace (PUT)
// preset request: a JSON object with name, config, ui and, optionally,
// permissions. Absent permissions are filled with those of
// group_call_participant. Fields the schema does not define (an id, say) are
// ignored.
//
// A problem is reported as a psrpc.InvalidArgument error naming the JSON path
// in RealtimeKit's style, e.g. `"config.media.video.quality" must be one of
// [hd, vga, qvga]`. Only the first problem is reported, in the order the
// schema lists the fields (name, config, ui, permissions, depth first), so
// the same body always gets the same message.
func Decode(body []byte) (Preset, error) {
	doc, err := parseObject(body)
	if err != nil {
		return Preset{}, err
	}
	return decodeDocument(doc)
}

// Patch applies the body of a PATCH request to p and validates the result.
// The body is a partial document: any of name, config, ui and permissions,
// each itself partial. Objects are merged key by key, at every depth, so
// {"permissions":{"media":{"audio":{"can_produce":"NOT_ALLOWED"}}}} changes
// that one field. Any other value, null included, replaces what was there
// (and is then validated like in Decode, so a null for a required field is
// an error). Two values are replaced whole, never merged: ui.config_diff,
// which is opaque here, and permissions.plugins.config, which is a union.
// p is not modified.
func (p Preset) Patch(body []byte) (Preset, error) {
	patch, err := parseObject(body)
	if err != nil {
		return Preset{}, err
	}
	doc, err := p.document()
	if err != nil {
		return Preset{}, err
	}
	merge(doc, patch, "")
	return decodeDocument(doc)
}

// Body returns the document to keep in store.Preset.Body: everything but the
// name, which the store keeps in its own column.
func (p Preset) Body() (json.RawMessage, error) {
	b, err := json.Marshal(storedBody{Config: p.Config, UI: p.UI, Permissions: p.Permissions})
	if err != nil {
		return nil, fmt.Errorf("presets: encode body: %w", err)
	}
	return b, nil
}

// FromBody rebuilds a preset from its stored name and Body. The document is
// validated as in Decode; a stored document that fails is corrupt, and is
// reported as psrpc.Internal rather than as the client's fault.
func FromBody(name string, body json.RawMessage) (Preset, error) {
	doc, err := parseObject(body)
	var p Preset
	if err == nil {
		doc["name"] = name
		p, err = decodeDocument(doc)
	}
	if err != nil {
		return Preset{}, psrpc.NewErrorf(psrpc.Internal, "presets: stored preset %q is invalid: %v", name, err)
	}
	return p, nil
}

// storedBody is what Body encodes.
type storedBody struct {
	Config      Config      `json:"config"`
	UI          UI          `json:"ui"`
	Permissions Permissions `json:"permissions"`
}

// document returns p as the generic JSON tree that parseObject produces.
func (p Preset) document() (map[string]any, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("presets: encode preset: %w", err)
	}
	return parseObject(b)
}

// merge merges patch into doc; path is doc's JSON path.
func merge(doc, patch map[string]any, path string) {
	for k, v := range patch {
		at := join(path, k)
		sub, isObj := v.(map[string]any)
		cur, curIsObj := doc[k].(map[string]any)
		if isObj && curIsObj && at != "ui.config_diff" && at != "permissions.plugins.config" {
			merge(cur, sub, at)
			continue
		}
		doc[k] = v
	}
}

// parseObject parses a JSON object, keeping numbers as json.Number.
func parseObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "body must be a JSON object")
		}
		return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "body is not valid JSON: data after the top-level value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, psrpc.NewErrorf(psrpc.InvalidArgument, "body must be a JSON object")
	}
	return m, nil
}

func decodeDocument(doc map[string]any) (Preset, error) {
	d := &decoder{}
	root := object{d: d, m: doc}
	p := Preset{
		Name:   root.name("name"),
		Config: decodeConfig(root.object("config")),
		UI:     decodeUI(root.object("ui")),
	}
	if perms, ok := root.optionalObject("permissions"); ok {
		p.Permissions = decodePermissions(perms)
	} else {
		p.Permissions = participantPermissions()
	}
	if d.err != nil {
		return Preset{}, d.err
	}
	return p, nil
}

// The decode functions below read the fields of each object in the order
// the schema lists them, and each composite literal evaluates its calls left
// to right, so the first problem reported is the first in schema order.

func decodeConfig(o object) Config {
	return Config{
		ViewType:            enum(o, "view_type", viewTypes),
		MaxVideoStreams:     decodeMaxVideoStreams(o.object("max_video_streams")),
		MaxScreenshareCount: o.integer("max_screenshare_count", 0, maxScreenshares),
		Media:               decodeMediaConfig(o.object("media")),
	}
}

func decodeMaxVideoStreams(o object) MaxVideoStreams {
	return MaxVideoStreams{
		Mobile:  o.integer("mobile", 0, maxVideoStreams),
		Desktop: o.integer("desktop", 0, maxVideoStreams),
	}
}

func decodeMediaConfig(o object) MediaConfig {
	m := MediaConfig{
		Video:       decodeStream(o.object("video")),
		Screenshare: decodeStream(o.object("screenshare")),
	}
	if audio, ok := o.optionalObject("audio"); ok {
		m.Audio = AudioConfig{
			EnableStereo:      audio.optionalBool("enable_stereo"),
			EnableHighBitrate: audio.optionalBool("enable_high_bitrate"),
		}
	}
	return m
}

func decodeStream(o object) StreamConfig {
	return StreamConfig{
		Quality:   enum(o, "quality", qualities),
		FrameRate: o.integer("frame_rate", 1, maxFrameRate),
	}
}

func decodeUI(o object) UI {
	ui := UI{DesignTokens: decodeDesignTokens(o.object("design_tokens"))}
	// config_diff is optional and opaque; null clears it.
	if v, ok := o.m["config_diff"]; ok && v != nil {
		if diff, isObj := v.(map[string]any); isObj {
			ui.ConfigDiff = diff
		} else {
			o.d.fail(o.pathOf("config_diff"), "must be of type object")
		}
	}
	return ui
}

func decodeDesignTokens(o object) DesignTokens {
	return DesignTokens{
		BorderRadius: enum(o, "border_radius", borderRadii),
		BorderWidth:  enum(o, "border_width", borderWidths),
		SpacingBase:  o.spacing("spacing_base"),
		Theme:        enum(o, "theme", themes),
		Logo:         o.logo("logo"),
		Colors:       decodeColors(o.object("colors")),
	}
}

func decodeColors(o object) Colors {
	brand := func(b object) BrandColors {
		return BrandColors{
			Shade300: b.color("300"),
			Shade400: b.color("400"),
			Shade500: b.color("500"),
			Shade600: b.color("600"),
			Shade700: b.color("700"),
		}
	}
	background := func(b object) BackgroundColors {
		return BackgroundColors{
			Shade600:  b.color("600"),
			Shade700:  b.color("700"),
			Shade800:  b.color("800"),
			Shade900:  b.color("900"),
			Shade1000: b.color("1000"),
		}
	}
	return Colors{
		Brand:       brand(o.object("brand")),
		Background:  background(o.object("background")),
		Danger:      o.color("danger"),
		Text:        o.color("text"),
		TextOnBrand: o.color("text_on_brand"),
		Success:     o.color("success"),
		VideoBg:     o.color("video_bg"),
		Warning:     o.color("warning"),
	}
}

func decodePermissions(o object) Permissions {
	return Permissions{
		AcceptWaitingRequests:           o.bool("accept_waiting_requests"),
		CanAcceptProductionRequests:     o.bool("can_accept_production_requests"),
		CanChangeParticipantPermissions: o.bool("can_change_participant_permissions"),
		CanEditDisplayName:              o.bool("can_edit_display_name"),
		CanLivestream:                   o.bool("can_livestream"),
		CanRecord:                       o.bool("can_record"),
		CanSpotlight:                    o.bool("can_spotlight"),
		DisableParticipantAudio:         o.bool("disable_participant_audio"),
		DisableParticipantScreensharing: o.bool("disable_participant_screensharing"),
		DisableParticipantVideo:         o.bool("disable_participant_video"),
		HiddenParticipant:               o.bool("hidden_participant"),
		KickParticipant:                 o.bool("kick_participant"),
		PinParticipant:                  o.bool("pin_participant"),
		ShowParticipantList:             o.bool("show_participant_list"),
		IsRecorder:                      o.optionalBool("is_recorder"),
		RecorderType:                    enum(o, "recorder_type", recorderTypes),
		WaitingRoomType:                 enum(o, "waiting_room_type", waitingRoomTypes),
		Media:                           decodeMediaPermissions(o.object("media")),
		Chat:                            decodeChat(o.object("chat")),
		Polls:                           decodePolls(o.object("polls")),
		Plugins:                         decodePlugins(o.object("plugins")),
		ConnectedMeetings:               decodeConnectedMeetings(o.object("connected_meetings")),
	}
}

func decodeMediaPermissions(o object) MediaPermissions {
	produce := func(m object) ProducePermission {
		return ProducePermission{CanProduce: enum(m, "can_produce", canProduces)}
	}
	return MediaPermissions{
		Audio:       produce(o.object("audio")),
		Video:       produce(o.object("video")),
		Screenshare: produce(o.object("screenshare")),
	}
}

func decodeChat(o object) ChatPermissions {
	public := func(c object) PublicChat {
		return PublicChat{CanSend: c.bool("can_send"), Text: c.bool("text"), Files: c.bool("files")}
	}
	private := func(c object) PrivateChat {
		return PrivateChat{
			CanSend:    c.bool("can_send"),
			CanReceive: c.bool("can_receive"),
			Text:       c.bool("text"),
			Files:      c.bool("files"),
		}
	}
	return ChatPermissions{Public: public(o.object("public")), Private: private(o.object("private"))}
}

func decodePolls(o object) PollPermissions {
	return PollPermissions{
		CanCreate: o.bool("can_create"),
		CanVote:   o.bool("can_vote"),
		CanView:   o.bool("can_view"),
	}
}

func decodePlugins(o object) PluginPermissions {
	return PluginPermissions{
		CanStart:      o.bool("can_start"),
		CanClose:      o.bool("can_close"),
		CanEditConfig: o.bool("can_edit_config"),
		Config:        o.pluginConfig("config"),
	}
}

func decodeConnectedMeetings(o object) ConnectedMeetingsPermissions {
	return ConnectedMeetingsPermissions{
		CanAlterConnectedMeetings:  o.bool("can_alter_connected_meetings"),
		CanSwitchConnectedMeetings: o.bool("can_switch_connected_meetings"),
		CanSwitchToParentMeeting:   o.bool("can_switch_to_parent_meeting"),
	}
}

// decoder keeps the first problem found while walking a document. Lookups
// after a problem still run (so the walk needs no early exits) but cannot
// replace it. The checks below rely on that: a missing or mistyped value has
// been reported by the time a range or pattern check sees its zero value, so
// that check's own report is dropped.
type decoder struct{ err error }

func (d *decoder) fail(path, format string, args ...any) {
	if d.err == nil {
		d.err = apierr.Invalid(path, format, args...)
	}
}

// object is one JSON object of the document being decoded, with its path
// ("" for the root). Its m is nil when the object was missing or not an
// object; that has been reported already.
type object struct {
	d    *decoder
	path string
	m    map[string]any
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (o object) pathOf(key string) string { return join(o.path, key) }

// required returns the value at key, reporting it if missing.
func (o object) required(key string) (any, bool) {
	v, ok := o.m[key]
	if !ok {
		o.d.fail(o.pathOf(key), "is required")
	}
	return v, ok
}

// object returns the required object at key.
func (o object) object(key string) object {
	v, ok := o.required(key)
	return o.asObject(key, v, ok)
}

// optionalObject returns the object at key and whether it is present.
func (o object) optionalObject(key string) (object, bool) {
	v, ok := o.m[key]
	return o.asObject(key, v, ok), ok
}

func (o object) asObject(key string, v any, present bool) object {
	sub := object{d: o.d, path: o.pathOf(key)}
	if !present {
		return sub
	}
	m, ok := v.(map[string]any)
	if !ok {
		o.d.fail(sub.path, "must be of type object")
		return sub
	}
	sub.m = m
	return sub
}

// bool returns the required boolean at key.
func (o object) bool(key string) bool {
	v, ok := o.required(key)
	return ok && o.asBool(key, v)
}

// optionalBool returns the boolean at key, false when absent.
func (o object) optionalBool(key string) bool {
	v, ok := o.m[key]
	return ok && o.asBool(key, v)
}

func (o object) asBool(key string, v any) bool {
	b, ok := v.(bool)
	if !ok {
		o.d.fail(o.pathOf(key), "must be a boolean")
	}
	return b
}

// string returns the required string at key.
func (o object) string(key string) string {
	v, ok := o.required(key)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		o.d.fail(o.pathOf(key), "must be a string")
	}
	return s
}

// number returns the required number at key.
func (o object) number(key string) float64 {
	v, ok := o.required(key)
	if !ok {
		return 0
	}
	n, ok := v.(json.Number)
	if !ok {
		o.d.fail(o.pathOf(key), "must be a number")
		return 0
	}
	// Only out-of-range literals fail to parse, and they yield ±Inf, which
	// every bound below rejects.
	f, _ := n.Float64()
	return f
}

// integer returns the required integer at key, which must be in [lo, hi].
func (o object) integer(key string, lo, hi int) int {
	f := o.number(key)
	switch {
	case f != math.Trunc(f) && !math.IsInf(f, 0):
		o.d.fail(o.pathOf(key), "must be an integer")
	case f < float64(lo) || f > float64(hi):
		o.d.fail(o.pathOf(key), "must be between %d and %d", lo, hi)
	}
	return int(max(min(f, float64(hi)), float64(lo)))
}

// spacing returns the required spacing base at key: greater than 0, at most maxSpacingBase.
func (o object) spacing(key string) float64 {
	f := o.number(key)
	if !(f > 0 && f <= maxSpacingBase) {
		o.d.fail(o.pathOf(key), "must be greater than 0 and at most %d", maxSpacingBase)
	}
	return f
}

// name returns the required preset name at key, trimmed of surrounding spaces.
func (o object) name(key string) string {
	s := strings.TrimSpace(o.string(key))
	switch {
	case s == "":
		o.d.fail(o.pathOf(key), "is not allowed to be empty")
	case utf8.RuneCountInString(s) > maxNameLength:
		o.d.fail(o.pathOf(key), "length must be less than or equal to %d characters long", maxNameLength)
	}
	return s
}

// logo returns the required logo URL at key; it may be empty.
func (o object) logo(key string) string {
	s := o.string(key)
	if len(s) > maxLogoLength {
		o.d.fail(o.pathOf(key), "length must be less than or equal to %d characters long", maxLogoLength)
	}
	return s
}

// color returns the required hex color at key.
func (o object) color(key string) string {
	s := o.string(key)
	if !hexColor.MatchString(s) {
		o.d.fail(o.pathOf(key), "must be a hex color like #RRGGBB or #RGB")
	}
	return s
}

// pluginConfig returns the required plugins config union at key.
func (o object) pluginConfig(key string) PluginConfig {
	v, ok := o.required(key)
	if !ok {
		return PluginConfig{}
	}
	switch v := v.(type) {
	case string:
		if !uuidForm.MatchString(v) {
			o.d.fail(o.pathOf(key), "must be a valid GUID")
		}
		return PluginConfig{ID: v}
	case map[string]any:
		c := o.asObject(key, v, true)
		return PluginConfig{
			AccessControl:   enum(c, "access_control", accessControls),
			HandlesViewOnly: c.bool("handles_view_only"),
		}
	default:
		o.d.fail(o.pathOf(key), "must be a GUID string or an object")
		return PluginConfig{}
	}
}

// enum returns the required string at key, which must be one of allowed.
func enum[T ~string](o object, key string, allowed []T) T {
	s := T(o.string(key))
	if slices.Contains(allowed, s) {
		return s
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	o.d.fail(o.pathOf(key), "must be one of [%s]", strings.Join(names, ", "))
	return s
}
