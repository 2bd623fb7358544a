package presets_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/livekit/psrpc"

	"rtk-sidecar/presets"
)

// doc returns the JSON document of a valid preset (group_call_host) as a
// generic tree, for tests to break one field at a time.
func doc(t *testing.T) map[string]any {
	t.Helper()
	b, err := json.Marshal(presets.Defaults()[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// parent returns the object holding the last element of a dotted path.
func parent(t *testing.T, m map[string]any, path string) (map[string]any, string) {
	t.Helper()
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			t.Fatalf("test setup: no object at %q in %q", k, path)
		}
		m = next
	}
	return m, keys[len(keys)-1]
}

func set(path string, v any) func(*testing.T, map[string]any) {
	return func(t *testing.T, m map[string]any) {
		o, k := parent(t, m, path)
		o[k] = v
	}
}

func del(path string) func(*testing.T, map[string]any) {
	return func(t *testing.T, m map[string]any) {
		o, k := parent(t, m, path)
		if _, ok := o[k]; !ok {
			t.Fatalf("test setup: nothing at %q", path)
		}
		delete(o, k)
	}
}

func encode(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkInvalid fails t unless err is an InvalidArgument error whose message is want.
func checkInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	if !errors.Is(err, psrpc.InvalidArgument) {
		t.Errorf("error %q is not InvalidArgument", err)
	}
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

// requiredPaths are the fields PresetNewParams marks required (permissions'
// fields only when permissions is present).
var requiredPaths = []string{
	"name", "config", "ui",
	"config.view_type", "config.max_video_streams", "config.max_video_streams.mobile",
	"config.max_video_streams.desktop", "config.max_screenshare_count", "config.media",
	"config.media.video", "config.media.video.quality", "config.media.video.frame_rate",
	"config.media.screenshare", "config.media.screenshare.quality", "config.media.screenshare.frame_rate",
	"ui.design_tokens", "ui.design_tokens.border_radius", "ui.design_tokens.border_width",
	"ui.design_tokens.spacing_base", "ui.design_tokens.theme", "ui.design_tokens.logo",
	"ui.design_tokens.colors", "ui.design_tokens.colors.brand", "ui.design_tokens.colors.background",
	"ui.design_tokens.colors.brand.300", "ui.design_tokens.colors.brand.400", "ui.design_tokens.colors.brand.500",
	"ui.design_tokens.colors.brand.600", "ui.design_tokens.colors.brand.700",
	"ui.design_tokens.colors.background.600", "ui.design_tokens.colors.background.700",
	"ui.design_tokens.colors.background.800", "ui.design_tokens.colors.background.900",
	"ui.design_tokens.colors.background.1000",
	"ui.design_tokens.colors.danger", "ui.design_tokens.colors.text", "ui.design_tokens.colors.text_on_brand",
	"ui.design_tokens.colors.success", "ui.design_tokens.colors.video_bg", "ui.design_tokens.colors.warning",
	"permissions.accept_waiting_requests", "permissions.can_accept_production_requests",
	"permissions.can_change_participant_permissions", "permissions.can_edit_display_name",
	"permissions.can_livestream", "permissions.can_record", "permissions.can_spotlight",
	"permissions.disable_participant_audio", "permissions.disable_participant_screensharing",
	"permissions.disable_participant_video", "permissions.hidden_participant", "permissions.kick_participant",
	"permissions.pin_participant", "permissions.show_participant_list",
	"permissions.recorder_type", "permissions.waiting_room_type",
	"permissions.media", "permissions.media.audio", "permissions.media.audio.can_produce",
	"permissions.media.video", "permissions.media.video.can_produce",
	"permissions.media.screenshare", "permissions.media.screenshare.can_produce",
	"permissions.chat", "permissions.chat.public", "permissions.chat.public.can_send",
	"permissions.chat.public.text", "permissions.chat.public.files",
	"permissions.chat.private", "permissions.chat.private.can_send", "permissions.chat.private.can_receive",
	"permissions.chat.private.text", "permissions.chat.private.files",
	"permissions.polls", "permissions.polls.can_create", "permissions.polls.can_vote", "permissions.polls.can_view",
	"permissions.plugins", "permissions.plugins.can_start", "permissions.plugins.can_close",
	"permissions.plugins.can_edit_config", "permissions.plugins.config",
	"permissions.plugins.config.access_control", "permissions.plugins.config.handles_view_only",
	"permissions.connected_meetings", "permissions.connected_meetings.can_alter_connected_meetings",
	"permissions.connected_meetings.can_switch_connected_meetings",
	"permissions.connected_meetings.can_switch_to_parent_meeting",
}

func TestDecodeRequired(t *testing.T) {
	for _, path := range requiredPaths {
		t.Run(path, func(t *testing.T) {
			m := doc(t)
			del(path)(t, m)
			_, err := presets.Decode(encode(t, m))
			checkInvalid(t, err, `"`+path+`" is required`)
		})
	}
}

func TestDecodeInvalid(t *testing.T) {
	long := strings.Repeat("x", 100+1)
	for _, tc := range []struct {
		name   string
		change func(*testing.T, map[string]any)
		want   string
	}{
		// wrong JSON types
		{"name not a string", set("name", 5), `"name" must be a string`},
		{"name null", set("name", nil), `"name" must be a string`},
		{"config not an object", set("config", "GROUP_CALL"), `"config" must be of type object`},
		{"permissions null", set("permissions", nil), `"permissions" must be of type object`},
		{"view_type not a string", set("config.view_type", 1), `"config.view_type" must be a string`},
		{"mobile a string", set("config.max_video_streams.mobile", "6"), `"config.max_video_streams.mobile" must be a number`},
		{"frame_rate a bool", set("config.media.video.frame_rate", true), `"config.media.video.frame_rate" must be a number`},
		{"frame_rate fractional", set("config.media.video.frame_rate", 29.97), `"config.media.video.frame_rate" must be an integer`},
		{"audio not an object", set("config.media.audio", []any{}), `"config.media.audio" must be of type object`},
		{"enable_stereo a string", set("config.media.audio.enable_stereo", "yes"), `"config.media.audio.enable_stereo" must be a boolean`},
		{"spacing_base a string", set("ui.design_tokens.spacing_base", "4"), `"ui.design_tokens.spacing_base" must be a number`},
		{"logo a number", set("ui.design_tokens.logo", 0), `"ui.design_tokens.logo" must be a string`},
		{"color a number", set("ui.design_tokens.colors.danger", 0xff0000), `"ui.design_tokens.colors.danger" must be a string`},
		{"config_diff an array", set("ui.config_diff", []any{}), `"ui.config_diff" must be of type object`},
		{"kick a string", set("permissions.kick_participant", "true"), `"permissions.kick_participant" must be a boolean`},
		{"is_recorder a number", set("permissions.is_recorder", 1), `"permissions.is_recorder" must be a boolean`},
		{"can_produce a bool", set("permissions.media.audio.can_produce", true), `"permissions.media.audio.can_produce" must be a string`},
		{"chat public not an object", set("permissions.chat.public", true), `"permissions.chat.public" must be of type object`},
		{"plugins config a number", set("permissions.plugins.config", 7), `"permissions.plugins.config" must be a GUID string or an object`},
		{"handles_view_only a string", set("permissions.plugins.config.handles_view_only", "no"), `"permissions.plugins.config.handles_view_only" must be a boolean`},
		{"switch a number", set("permissions.connected_meetings.can_switch_to_parent_meeting", 0), `"permissions.connected_meetings.can_switch_to_parent_meeting" must be a boolean`},

		// enums
		{"view_type", set("config.view_type", "LIVESTREAM"), `"config.view_type" must be one of [GROUP_CALL, WEBINAR, AUDIO_ROOM]`},
		{"view_type lower case", set("config.view_type", "group_call"), `"config.view_type" must be one of [GROUP_CALL, WEBINAR, AUDIO_ROOM]`},
		{"video quality", set("config.media.video.quality", "4k"), `"config.media.video.quality" must be one of [hd, vga, qvga]`},
		{"screenshare quality", set("config.media.screenshare.quality", "HD"), `"config.media.screenshare.quality" must be one of [hd, vga, qvga]`},
		{"border_radius", set("ui.design_tokens.border_radius", "sharp"), `"ui.design_tokens.border_radius" must be one of [rounded]`},
		{"border_width", set("ui.design_tokens.border_width", "fat"), `"ui.design_tokens.border_width" must be one of [thin]`},
		{"theme", set("ui.design_tokens.theme", "light"), `"ui.design_tokens.theme" must be one of [dark]`},
		{"audio can_produce", set("permissions.media.audio.can_produce", "YES"), `"permissions.media.audio.can_produce" must be one of [ALLOWED, NOT_ALLOWED, CAN_REQUEST]`},
		{"video can_produce", set("permissions.media.video.can_produce", ""), `"permissions.media.video.can_produce" must be one of [ALLOWED, NOT_ALLOWED, CAN_REQUEST]`},
		{"screenshare can_produce", set("permissions.media.screenshare.can_produce", "REQUEST"), `"permissions.media.screenshare.can_produce" must be one of [ALLOWED, NOT_ALLOWED, CAN_REQUEST]`},
		{"recorder_type", set("permissions.recorder_type", "BOT"), `"permissions.recorder_type" must be one of [RECORDER, LIVESTREAMER, NONE]`},
		{"waiting_room_type", set("permissions.waiting_room_type", "WAIT"), `"permissions.waiting_room_type" must be one of [SKIP, ON_PRIVILEGED_USER_ENTRY, SKIP_ON_ACCEPT]`},
		{"access_control", set("permissions.plugins.config.access_control", "EDIT"), `"permissions.plugins.config.access_control" must be one of [FULL_ACCESS, VIEW_ONLY]`},

		// ranges
		{"frame_rate 0", set("config.media.video.frame_rate", 0), `"config.media.video.frame_rate" must be between 1 and 60`},
		{"frame_rate 61", set("config.media.screenshare.frame_rate", 61), `"config.media.screenshare.frame_rate" must be between 1 and 60`},
		{"frame_rate huge", set("config.media.video.frame_rate", json.Number("1e400")), `"config.media.video.frame_rate" must be between 1 and 60`},
		{"mobile negative", set("config.max_video_streams.mobile", -1), `"config.max_video_streams.mobile" must be between 0 and 100`},
		{"desktop too many", set("config.max_video_streams.desktop", 101), `"config.max_video_streams.desktop" must be between 0 and 100`},
		{"screenshares negative", set("config.max_screenshare_count", -1), `"config.max_screenshare_count" must be between 0 and 100`},
		{"spacing_base 0", set("ui.design_tokens.spacing_base", 0), `"ui.design_tokens.spacing_base" must be greater than 0 and at most 32`},
		{"spacing_base negative", set("ui.design_tokens.spacing_base", -4), `"ui.design_tokens.spacing_base" must be greater than 0 and at most 32`},
		{"spacing_base 33", set("ui.design_tokens.spacing_base", 33), `"ui.design_tokens.spacing_base" must be greater than 0 and at most 32`},
		{"logo too long", set("ui.design_tokens.logo", "https://x/"+strings.Repeat("a", 2048)), `"ui.design_tokens.logo" length must be less than or equal to 2048 characters long`},

		// name
		{"name empty", set("name", ""), `"name" is not allowed to be empty`},
		{"name blank", set("name", " \t\n"), `"name" is not allowed to be empty`},
		{"name too long", set("name", long), `"name" length must be less than or equal to 100 characters long`},

		// colors
		{"color name", set("ui.design_tokens.colors.brand.300", "blue"), `"ui.design_tokens.colors.brand.300" must be a hex color like #RRGGBB or #RGB`},
		{"color no hash", set("ui.design_tokens.colors.background.1000", "080808"), `"ui.design_tokens.colors.background.1000" must be a hex color like #RRGGBB or #RGB`},
		{"color 5 digits", set("ui.design_tokens.colors.text", "#EEEEE"), `"ui.design_tokens.colors.text" must be a hex color like #RRGGBB or #RGB`},
		{"color with alpha", set("ui.design_tokens.colors.video_bg", "#19191980"), `"ui.design_tokens.colors.video_bg" must be a hex color like #RRGGBB or #RGB`},
		{"color not hex", set("ui.design_tokens.colors.warning", "#GGGGGG"), `"ui.design_tokens.colors.warning" must be a hex color like #RRGGBB or #RGB`},
		{"color empty", set("ui.design_tokens.colors.text_on_brand", ""), `"ui.design_tokens.colors.text_on_brand" must be a hex color like #RRGGBB or #RGB`},

		// plugin config union
		{"plugin config not a uuid", set("permissions.plugins.config", "whiteboard"), `"permissions.plugins.config" must be a valid GUID`},
		{"plugin config uuid in braces", set("permissions.plugins.config", "{0b7c1e2d-3f4a-4b5c-8d6e-7f8091a2b3c4}"), `"permissions.plugins.config" must be a valid GUID`},

		// the first problem, in schema order, is the one reported
		{"first problem wins", func(t *testing.T, m map[string]any) {
			set("permissions.recorder_type", "BOT")(t, m)
			set("config.view_type", "X")(t, m)
			del("name")(t, m)
		}, `"name" is required`},
		{"view_type before media", func(t *testing.T, m map[string]any) {
			del("config.media")(t, m)
			del("config.view_type")(t, m)
		}, `"config.view_type" is required`},
		{"border_radius before colors", func(t *testing.T, m map[string]any) {
			set("ui.design_tokens.colors.brand.300", "red")(t, m)
			set("ui.design_tokens.border_radius", "sharp")(t, m)
		}, `"ui.design_tokens.border_radius" must be one of [rounded]`},
		{"booleans before media", func(t *testing.T, m map[string]any) {
			del("permissions.media")(t, m)
			del("permissions.show_participant_list")(t, m)
		}, `"permissions.show_participant_list" is required`},
		{"chat before connected meetings", func(t *testing.T, m map[string]any) {
			del("permissions.connected_meetings.can_alter_connected_meetings")(t, m)
			set("permissions.chat.private.files", "no")(t, m)
		}, `"permissions.chat.private.files" must be a boolean`},
		{"depth first", func(t *testing.T, m map[string]any) {
			set("config.max_screenshare_count", -1)(t, m)
			set("config.max_video_streams.desktop", -1)(t, m)
		}, `"config.max_video_streams.desktop" must be between 0 and 100`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := doc(t)
			tc.change(t, m)
			_, err := presets.Decode(encode(t, m))
			checkInvalid(t, err, tc.want)
		})
	}
}

func TestDecodeNotAnObject(t *testing.T) {
	for _, body := range []string{"", " ", "null", "[]", `"preset"`, "42", "{", `{"name":"x"} {}`, `{"name":}`} {
		t.Run(body, func(t *testing.T) {
			_, err := presets.Decode([]byte(body))
			if !errors.Is(err, psrpc.InvalidArgument) {
				t.Fatalf("Decode(%q) = %v, want InvalidArgument", body, err)
			}
			if !strings.HasPrefix(err.Error(), "body ") {
				t.Errorf("Decode(%q) = %q, want a message about the body", body, err)
			}
		})
	}
}

func TestDecodeValid(t *testing.T) {
	const pluginID = "0B7C1E2D-3F4A-4B5C-8D6E-7F8091A2B3C4"
	for _, tc := range []struct {
		name   string
		change func(*testing.T, map[string]any)
		check  func(*testing.T, presets.Preset)
	}{
		{"name trimmed", set("name", "  host  "), func(t *testing.T, p presets.Preset) {
			if p.Name != "host" {
				t.Errorf("name = %q, want %q", p.Name, "host")
			}
		}},
		{"name of 100 characters", set("name", strings.Repeat("é", 100)), nil},
		{"short colors", set("ui.design_tokens.colors.text", "#fEe"), nil},
		{"audio absent", del("config.media.audio"), func(t *testing.T, p presets.Preset) {
			if p.Config.Media.Audio != (presets.AudioConfig{}) {
				t.Errorf("audio = %+v, want both false", p.Config.Media.Audio)
			}
		}},
		{"audio empty", set("config.media.audio", map[string]any{}), nil},
		{"is_recorder absent", del("permissions.is_recorder"), func(t *testing.T, p presets.Preset) {
			if p.Permissions.IsRecorder {
				t.Error("is_recorder = true, want false")
			}
		}},
		{"integral float", set("config.media.video.frame_rate", 30.0), func(t *testing.T, p presets.Preset) {
			if p.Config.Media.Video.FrameRate != 30 {
				t.Errorf("frame_rate = %d", p.Config.Media.Video.FrameRate)
			}
		}},
		{"bounds inclusive", func(t *testing.T, m map[string]any) {
			set("config.media.video.frame_rate", 60)(t, m)
			set("config.media.screenshare.frame_rate", 1)(t, m)
			set("config.max_video_streams.mobile", 0)(t, m)
			set("config.max_video_streams.desktop", 100)(t, m)
			set("config.max_screenshare_count", 0)(t, m)
			set("ui.design_tokens.spacing_base", 32)(t, m)
		}, nil},
		{"fractional spacing", set("ui.design_tokens.spacing_base", 0.5), nil},
		{"unknown fields ignored", func(t *testing.T, m map[string]any) {
			m["id"] = "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"
			set("permissions.stage", map[string]any{"can_present": true})(t, m)
		}, nil},
		{"config_diff kept", set("ui.config_diff", map[string]any{"root": map[string]any{"rtk-meeting": 1}}), func(t *testing.T, p presets.Preset) {
			want := map[string]any{"root": map[string]any{"rtk-meeting": json.Number("1")}}
			if !reflect.DeepEqual(p.UI.ConfigDiff, want) {
				t.Errorf("config_diff = %#v, want %#v", p.UI.ConfigDiff, want)
			}
		}},
		{"config_diff null", set("ui.config_diff", nil), func(t *testing.T, p presets.Preset) {
			if p.UI.ConfigDiff != nil {
				t.Errorf("config_diff = %#v, want nil", p.UI.ConfigDiff)
			}
		}},
		{"plugin config id", set("permissions.plugins.config", pluginID), func(t *testing.T, p presets.Preset) {
			if want := (presets.PluginConfig{ID: pluginID}); p.Permissions.Plugins.Config != want {
				t.Errorf("plugins.config = %+v, want %+v", p.Permissions.Plugins.Config, want)
			}
		}},
		{"no permissions", del("permissions"), func(t *testing.T, p presets.Preset) {
			if want := presets.Defaults()[1].Permissions; !reflect.DeepEqual(p.Permissions, want) {
				t.Errorf("permissions = %+v, want group_call_participant's", p.Permissions)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := doc(t)
			tc.change(t, m)
			p, err := presets.Decode(encode(t, m))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}

func TestPluginConfigJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    presets.PluginConfig
		json string
	}{
		{"id", presets.PluginConfig{ID: "0b7c1e2d-3f4a-4b5c-8d6e-7f8091a2b3c4"}, `"0b7c1e2d-3f4a-4b5c-8d6e-7f8091a2b3c4"`},
		{"full access", presets.PluginConfig{AccessControl: presets.AccessFullAccess}, `{"access_control":"FULL_ACCESS","handles_view_only":false}`},
		{"view only", presets.PluginConfig{AccessControl: presets.AccessViewOnly, HandlesViewOnly: true}, `{"access_control":"VIEW_ONLY","handles_view_only":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.c)
			if err != nil || string(b) != tc.json {
				t.Fatalf("Marshal = %s, %v; want %s", b, err, tc.json)
			}
			var got presets.PluginConfig
			if err := json.Unmarshal(b, &got); err != nil || got != tc.c {
				t.Fatalf("Unmarshal(%s) = %+v, %v; want %+v", b, got, err, tc.c)
			}
			// Through the validating decoder too.
			m := doc(t)
			set("permissions.plugins.config", json.RawMessage(tc.json))(t, m)
			p, err := presets.Decode(encode(t, m))
			if err != nil || p.Permissions.Plugins.Config != tc.c {
				t.Fatalf("Decode = %+v, %v; want %+v", p.Permissions.Plugins.Config, err, tc.c)
			}
		})
	}
}

func TestBodyRoundTrip(t *testing.T) {
	for _, p := range presets.Defaults() {
		t.Run(p.Name, func(t *testing.T) {
			p.UI.ConfigDiff = map[string]any{"a": json.Number("1.5")}
			body, err := p.Body()
			if err != nil {
				t.Fatal(err)
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal(body, &top); err != nil {
				t.Fatal(err)
			}
			if _, ok := top["name"]; ok || len(top) != 3 {
				t.Errorf("Body keys = %v, want config, ui, permissions", reflect.ValueOf(top).MapKeys())
			}
			got, err := presets.FromBody(p.Name, body)
			if err != nil {
				t.Fatalf("FromBody: %v", err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("FromBody(Body()):\n got %+v\nwant %+v", got, p)
			}
		})
	}
}

func TestFromBodyCorrupt(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"not JSON", "{"},
		{"not an object", "[]"},
		{"invalid document", `{"config":{},"ui":{}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := presets.FromBody("host", json.RawMessage(tc.body))
			if !errors.Is(err, psrpc.Internal) || errors.Is(err, psrpc.InvalidArgument) {
				t.Errorf("FromBody = %v, want Internal (not InvalidArgument)", err)
			}
		})
	}
}

func TestPatch(t *testing.T) {
	const pluginID = "0b7c1e2d-3f4a-4b5c-8d6e-7f8091a2b3c4"
	base := presets.Defaults()[0]
	base.UI.ConfigDiff = map[string]any{"a": map[string]any{"b": json.Number("1"), "c": json.Number("2")}}
	for _, tc := range []struct {
		name   string
		patch  string
		change func(*presets.Preset)
	}{
		{"one permission", `{"permissions":{"media":{"audio":{"can_produce":"NOT_ALLOWED"}}}}`, func(p *presets.Preset) {
			p.Permissions.Media.Audio.CanProduce = presets.ProduceNotAllowed
		}},
		{"empty", `{}`, func(*presets.Preset) {}},
		{"name", `{"name":" renamed "}`, func(p *presets.Preset) { p.Name = "renamed" }},
		{"unknown fields ignored", `{"id":"x","created_at":"now"}`, func(*presets.Preset) {}},
		{"config fields", `{"config":{"view_type":"WEBINAR","max_video_streams":{"mobile":2}}}`, func(p *presets.Preset) {
			p.Config.ViewType = presets.ViewWebinar
			p.Config.MaxVideoStreams.Mobile = 2
		}},
		{"one color", `{"ui":{"design_tokens":{"colors":{"brand":{"500":"#123"}}}}}`, func(p *presets.Preset) {
			p.UI.DesignTokens.Colors.Brand.Shade500 = "#123"
		}},
		{"connected meetings", `{"permissions":{"connected_meetings":{"can_alter_connected_meetings":false}}}`, func(p *presets.Preset) {
			p.Permissions.ConnectedMeetings.CanAlterConnectedMeetings = false
		}},
		{"config_diff replaced whole", `{"ui":{"config_diff":{"a":{"b":3}}}}`, func(p *presets.Preset) {
			p.UI.ConfigDiff = map[string]any{"a": map[string]any{"b": json.Number("3")}}
		}},
		{"config_diff cleared", `{"ui":{"config_diff":null}}`, func(p *presets.Preset) { p.UI.ConfigDiff = nil }},
		{"plugin config to id", `{"permissions":{"plugins":{"config":"` + pluginID + `"}}}`, func(p *presets.Preset) {
			p.Permissions.Plugins.Config = presets.PluginConfig{ID: pluginID}
		}},
		{"plugin config object replaced whole", `{"permissions":{"plugins":{"config":{"access_control":"VIEW_ONLY","handles_view_only":true}}}}`, func(p *presets.Preset) {
			p.Permissions.Plugins.Config = presets.PluginConfig{AccessControl: presets.AccessViewOnly, HandlesViewOnly: true}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := json.Marshal(base)
			if err != nil {
				t.Fatal(err)
			}
			got, err := base.Patch([]byte(tc.patch))
			if err != nil {
				t.Fatalf("Patch(%s): %v", tc.patch, err)
			}
			want := base
			want.UI.ConfigDiff = map[string]any{"a": map[string]any{"b": json.Number("1"), "c": json.Number("2")}}
			tc.change(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Patch(%s):\n got %+v\nwant %+v", tc.patch, got, want)
			}
			// The receiver is untouched, and the result shares nothing with it.
			if got.UI.ConfigDiff != nil {
				got.UI.ConfigDiff["mutated"] = true
			}
			if after, _ := json.Marshal(base); string(after) != string(before) {
				t.Errorf("Patch modified its receiver:\n%s\n%s", before, after)
			}
		})
	}
}

func TestPatchInvalid(t *testing.T) {
	base := presets.Defaults()[1]
	for _, tc := range []struct{ name, patch, want string }{
		{"bad enum", `{"permissions":{"media":{"video":{"can_produce":"MAYBE"}}}}`, `"permissions.media.video.can_produce" must be one of [ALLOWED, NOT_ALLOWED, CAN_REQUEST]`},
		{"wrong type", `{"permissions":{"media":{"audio":{"can_produce":1}}}}`, `"permissions.media.audio.can_produce" must be a string`},
		{"object replaced by a scalar", `{"config":"x"}`, `"config" must be of type object`},
		{"null for a required field", `{"name":null}`, `"name" must be a string`},
		{"null for a required object", `{"permissions":{"chat":null}}`, `"permissions.chat" must be of type object`},
		{"out of range", `{"config":{"media":{"screenshare":{"frame_rate":0}}}}`, `"config.media.screenshare.frame_rate" must be between 1 and 60`},
		{"bad color", `{"ui":{"design_tokens":{"colors":{"danger":"red"}}}}`, `"ui.design_tokens.colors.danger" must be a hex color like #RRGGBB or #RGB`},
		{"partial plugin config object", `{"permissions":{"plugins":{"config":{"access_control":"VIEW_ONLY"}}}}`, `"permissions.plugins.config.handles_view_only" is required`},
		{"blank name", `{"name":"  "}`, `"name" is not allowed to be empty`},
		{"not an object", `[{"op":"replace"}]`, `body must be a JSON object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := base.Patch([]byte(tc.patch))
			checkInvalid(t, err, tc.want)
		})
	}
}
