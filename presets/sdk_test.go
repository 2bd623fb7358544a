package presets_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/realtime_kit"
	"github.com/cloudflare/cloudflare-go/v6/shared"

	"rtk-sidecar/presets"
)

// These tests hold our JSON to the official Cloudflare Go SDK (v6.6.0): what
// we return must decode into its response types with every field it requires
// present, valid and known, and the request bodies it sends must be accepted.

// apiPreset is a preset as the REST API returns it: {id, name, config, ui, permissions}.
type apiPreset struct {
	ID string `json:"id"`
	presets.Preset
}

// sdkField is the interface of the SDK's (internal) apijson.Field metadata.
type sdkField interface {
	IsMissing() bool
	IsInvalid() bool
	Raw() string
}

// sdkProblems walks a value decoded by the SDK and lists every field it
// marks invalid, every required field it found missing, every enum value it
// does not know, and every field it did not expect.
func sdkProblems(v reflect.Value, path string) []string {
	var problems []string
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return []string{path + ": union decoded to nil"}
		}
		return sdkProblems(v.Elem(), path)
	case reflect.Struct:
		meta := v.FieldByName("JSON")
		if !meta.IsValid() {
			return nil
		}
		typ := v.Type()
		for i := range typ.NumField() {
			f := typ.Field(i)
			if f.Name == "JSON" {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			at := strings.TrimPrefix(path+"."+name, ".")
			m := meta.FieldByName(f.Name).Interface().(sdkField)
			switch {
			case m.IsInvalid():
				problems = append(problems, at+": the SDK cannot decode "+m.Raw())
			case m.IsMissing() && strings.Contains(opts, "required"):
				problems = append(problems, at+": required by the SDK but missing")
			}
			if m.IsMissing() {
				continue
			}
			if enum, ok := v.Field(i).Interface().(interface{ IsKnown() bool }); ok && !enum.IsKnown() {
				problems = append(problems, at+": the SDK does not know the value "+m.Raw())
			}
			problems = append(problems, sdkProblems(v.Field(i), at)...)
		}
		if extra := meta.FieldByName("ExtraFields"); extra.Len() > 0 {
			problems = append(problems, fmt.Sprintf("%s: fields the SDK does not define: %v", path, extra.MapKeys()))
		}
	}
	return problems
}

// checkSDK decodes b as the SDK's GET preset response data and fails t on
// any problem sdkProblems finds.
func checkSDK(t *testing.T, b []byte) realtime_kit.PresetGetPresetByIDResponseData {
	t.Helper()
	var got realtime_kit.PresetGetPresetByIDResponseData
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("SDK decode: %v", err)
	}
	for _, p := range sdkProblems(reflect.ValueOf(got), "") {
		t.Error(p)
	}
	return got
}

// TestSDKProblems checks the checker: a document with a missing required
// field, an unknown enum value, a mistyped field and an extra field must
// give one problem each.
func TestSDKProblems(t *testing.T) {
	b, err := json.Marshal(apiPreset{ID: "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b", Preset: presets.Defaults()[0]})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	perms := doc["permissions"].(map[string]any)
	delete(perms["connected_meetings"].(map[string]any), "can_switch_to_parent_meeting")
	perms["recorder_type"] = "BOT"
	perms["kick_participant"] = "yes"
	doc["config"].(map[string]any)["stage"] = true
	if b, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	var got realtime_kit.PresetGetPresetByIDResponseData
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	problems := strings.Join(sdkProblems(reflect.ValueOf(got), ""), "\n")
	for _, want := range []string{
		"permissions.connected_meetings.can_switch_to_parent_meeting: required by the SDK but missing",
		"permissions.recorder_type: the SDK does not know the value",
		"permissions.kick_participant: the SDK cannot decode",
		"config: fields the SDK does not define: [stage]",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q; got:\n%s", want, problems)
		}
	}
}

func TestDefaultsDecodeIntoSDKResponse(t *testing.T) {
	for _, p := range presets.Defaults() {
		t.Run(p.Name, func(t *testing.T) {
			b, err := json.Marshal(apiPreset{ID: "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b", Preset: p})
			if err != nil {
				t.Fatal(err)
			}
			got := checkSDK(t, b)

			// Spot checks that values land where the SDK reads them.
			if got.Name != p.Name || string(got.Config.ViewType) != string(p.Config.ViewType) {
				t.Errorf("name, view_type = %q, %q; want %q, %q", got.Name, got.Config.ViewType, p.Name, p.Config.ViewType)
			}
			if string(got.Permissions.Media.Audio.CanProduce) != string(p.Permissions.Media.Audio.CanProduce) {
				t.Errorf("media.audio.can_produce = %q, want %q", got.Permissions.Media.Audio.CanProduce, p.Permissions.Media.Audio.CanProduce)
			}
			if got.Permissions.ConnectedMeetings.CanAlterConnectedMeetings != p.Permissions.ConnectedMeetings.CanAlterConnectedMeetings {
				t.Error("connected_meetings.can_alter_connected_meetings differs")
			}
			if got.UI.DesignTokens.Colors.Brand.Number500 != p.UI.DesignTokens.Colors.Brand.Shade500 {
				t.Errorf("brand 500 = %q, want %q", got.UI.DesignTokens.Colors.Brand.Number500, p.UI.DesignTokens.Colors.Brand.Shade500)
			}
			cfg, ok := got.Permissions.Plugins.Config.(realtime_kit.PresetGetPresetByIDResponseDataPermissionsPluginsConfigObject)
			if !ok || string(cfg.AccessControl) != string(p.Permissions.Plugins.Config.AccessControl) {
				t.Errorf("plugins.config = %#v, want the object form with %q", got.Permissions.Plugins.Config, p.Permissions.Plugins.Config.AccessControl)
			}
		})
	}
}

func TestPluginConfigIDDecodesIntoSDKResponse(t *testing.T) {
	p := presets.Defaults()[0]
	p.Permissions.Plugins.Config = presets.PluginConfig{ID: "0b7c1e2d-3f4a-4b5c-8d6e-7f8091a2b3c4"}
	b, err := json.Marshal(apiPreset{ID: "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b", Preset: p})
	if err != nil {
		t.Fatal(err)
	}
	got := checkSDK(t, b)
	if id, ok := got.Permissions.Plugins.Config.(shared.UnionString); !ok || string(id) != p.Permissions.Plugins.Config.ID {
		t.Errorf("plugins.config = %#v, want the string %q", got.Permissions.Plugins.Config, p.Permissions.Plugins.Config.ID)
	}
}

// sdkNewParams is a PresetNewParams with every field set, as a client would send it.
func sdkNewParams(pluginConfig realtime_kit.PresetNewParamsPermissionsPluginsConfigUnion) realtime_kit.PresetNewParams {
	f := cloudflare.F[bool]
	return realtime_kit.PresetNewParams{
		AccountID: cloudflare.F("account"),
		Name:      cloudflare.F("from_sdk"),
		Config: cloudflare.F(realtime_kit.PresetNewParamsConfig{
			MaxScreenshareCount: cloudflare.F[int64](2),
			MaxVideoStreams: cloudflare.F(realtime_kit.PresetNewParamsConfigMaxVideoStreams{
				Desktop: cloudflare.F[int64](16), Mobile: cloudflare.F[int64](4),
			}),
			Media: cloudflare.F(realtime_kit.PresetNewParamsConfigMedia{
				Screenshare: cloudflare.F(realtime_kit.PresetNewParamsConfigMediaScreenshare{
					FrameRate: cloudflare.F[int64](10),
					Quality:   cloudflare.F(realtime_kit.PresetNewParamsConfigMediaScreenshareQualityVga),
				}),
				Video: cloudflare.F(realtime_kit.PresetNewParamsConfigMediaVideo{
					FrameRate: cloudflare.F[int64](24),
					Quality:   cloudflare.F(realtime_kit.PresetNewParamsConfigMediaVideoQualityQvga),
				}),
				Audio: cloudflare.F(realtime_kit.PresetNewParamsConfigMediaAudio{
					EnableHighBitrate: f(true), EnableStereo: f(true),
				}),
			}),
			ViewType: cloudflare.F(realtime_kit.PresetNewParamsConfigViewTypeAudioRoom),
		}),
		UI: cloudflare.F(realtime_kit.PresetNewParamsUI{
			DesignTokens: cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokens{
				BorderRadius: cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokensBorderRadiusRounded),
				BorderWidth:  cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokensBorderWidthThin),
				Colors: cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokensColors{
					Background: cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokensColorsBackground{
						Number600: cloudflare.F("#666"), Number700: cloudflare.F("#555555"), Number800: cloudflare.F("#444444"),
						Number900: cloudflare.F("#333333"), Number1000: cloudflare.F("#000"),
					}),
					Brand: cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokensColorsBrand{
						Number300: cloudflare.F("#f6821f"), Number400: cloudflare.F("#F6821F"), Number500: cloudflare.F("#e06d10"),
						Number600: cloudflare.F("#c85c0a"), Number700: cloudflare.F("#a44a07"),
					}),
					Danger: cloudflare.F("#ff0000"), Success: cloudflare.F("#00ff00"), Text: cloudflare.F("#fff"),
					TextOnBrand: cloudflare.F("#ffffff"), VideoBg: cloudflare.F("#111111"), Warning: cloudflare.F("#ffcc00"),
				}),
				Logo:        cloudflare.F("https://example.com/logo.png"),
				SpacingBase: cloudflare.F(4.5),
				Theme:       cloudflare.F(realtime_kit.PresetNewParamsUIDesignTokensThemeDark),
			}),
			ConfigDiff: cloudflare.F[any](map[string]any{"header": map[string]any{"visible": false}}),
		}),
		Permissions: cloudflare.F(realtime_kit.PresetNewParamsPermissions{
			AcceptWaitingRequests:           f(true),
			CanAcceptProductionRequests:     f(false),
			CanChangeParticipantPermissions: f(true),
			CanEditDisplayName:              f(false),
			CanLivestream:                   f(true),
			CanRecord:                       f(false),
			CanSpotlight:                    f(true),
			Chat: cloudflare.F(realtime_kit.PresetNewParamsPermissionsChat{
				Private: cloudflare.F(realtime_kit.PresetNewParamsPermissionsChatPrivate{
					CanReceive: f(true), CanSend: f(false), Files: f(true), Text: f(false),
				}),
				Public: cloudflare.F(realtime_kit.PresetNewParamsPermissionsChatPublic{
					CanSend: f(true), Files: f(false), Text: f(true),
				}),
			}),
			ConnectedMeetings: cloudflare.F(realtime_kit.PresetNewParamsPermissionsConnectedMeetings{
				CanAlterConnectedMeetings: f(false), CanSwitchConnectedMeetings: f(true), CanSwitchToParentMeeting: f(true),
			}),
			DisableParticipantAudio:         f(false),
			DisableParticipantScreensharing: f(true),
			DisableParticipantVideo:         f(false),
			HiddenParticipant:               f(false),
			KickParticipant:                 f(true),
			Media: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMedia{
				Audio: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMediaAudio{
					CanProduce: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMediaAudioCanProduceAllowed),
				}),
				Screenshare: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMediaScreenshare{
					CanProduce: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMediaScreenshareCanProduceCanRequest),
				}),
				Video: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMediaVideo{
					CanProduce: cloudflare.F(realtime_kit.PresetNewParamsPermissionsMediaVideoCanProduceNotAllowed),
				}),
			}),
			PinParticipant: f(false),
			Plugins: cloudflare.F(realtime_kit.PresetNewParamsPermissionsPlugins{
				CanClose: f(false), CanEditConfig: f(true), CanStart: f(false),
				Config: cloudflare.F(pluginConfig),
			}),
			Polls: cloudflare.F(realtime_kit.PresetNewParamsPermissionsPolls{
				CanCreate: f(false), CanView: f(true), CanVote: f(true),
			}),
			RecorderType:        cloudflare.F(realtime_kit.PresetNewParamsPermissionsRecorderTypeLivestreamer),
			ShowParticipantList: f(true),
			WaitingRoomType:     cloudflare.F(realtime_kit.PresetNewParamsPermissionsWaitingRoomTypeOnPrivilegedUserEntry),
			IsRecorder:          f(true),
		}),
	}
}

// sdkParamPaths lists the JSON paths of a PresetNewParams type, split by
// whether the SDK marks them required.
func sdkParamPaths(typ reflect.Type, path string, required, optional *[]string) {
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		if tag == "" || tag == "-" {
			continue // AccountID goes in the URL
		}
		name, opts, _ := strings.Cut(tag, ",")
		at := strings.TrimPrefix(path+"."+name, ".")
		if strings.Contains(opts, "required") {
			*required = append(*required, at)
		} else {
			*optional = append(*optional, at)
		}
		inner := f.Type
		if v, ok := inner.FieldByName("Value"); ok { // param.Field[T]
			inner = v.Type
		}
		if inner == reflect.TypeFor[realtime_kit.PresetNewParamsPermissionsPluginsConfigUnion]() {
			inner = reflect.TypeFor[realtime_kit.PresetNewParamsPermissionsPluginsConfigObject]()
		}
		if inner.Kind() == reflect.Struct {
			sdkParamPaths(inner, at, required, optional)
		}
	}
}

// TestRequiredMatchesSDK checks that the fields Decode requires are exactly
// those PresetNewParams marks required, and that each field it leaves
// optional may indeed be left out.
func TestRequiredMatchesSDK(t *testing.T) {
	var required, optional []string
	sdkParamPaths(reflect.TypeFor[realtime_kit.PresetNewParams](), "", &required, &optional)
	slices.Sort(required)
	ours := slices.Sorted(slices.Values(requiredPaths))
	if !slices.Equal(required, ours) {
		t.Errorf("required paths differ from the SDK's:\n SDK %v\n ours %v", required, ours)
	}
	if want := []string{"config.media.audio", "config.media.audio.enable_high_bitrate", "config.media.audio.enable_stereo",
		"permissions", "permissions.is_recorder", "ui.config_diff"}; !slices.Equal(slices.Sorted(slices.Values(optional)), want) {
		t.Errorf("SDK optional paths = %v, want %v", optional, want)
	}
	for _, path := range optional {
		t.Run(path, func(t *testing.T) {
			m := doc(t)
			if path == "ui.config_diff" {
				set(path, map[string]any{})(t, m) // absent from the defaults
			}
			del(path)(t, m)
			if _, err := presets.Decode(encode(t, m)); err != nil {
				t.Errorf("Decode without %s: %v", path, err)
			}
		})
	}
}

func TestDecodeAcceptsSDKNewParams(t *testing.T) {
	const pluginID = "0b7c1e2d-3f4a-4b5c-8d6e-7f8091a2b3c4"
	for _, tc := range []struct {
		name   string
		config realtime_kit.PresetNewParamsPermissionsPluginsConfigUnion
		want   presets.PluginConfig
	}{
		{"plugin config object", realtime_kit.PresetNewParamsPermissionsPluginsConfigObject{
			AccessControl:   cloudflare.F(realtime_kit.PresetNewParamsPermissionsPluginsConfigObjectAccessControlViewOnly),
			HandlesViewOnly: cloudflare.F(true),
		}, presets.PluginConfig{AccessControl: presets.AccessViewOnly, HandlesViewOnly: true}},
		{"plugin config id", shared.UnionString(pluginID), presets.PluginConfig{ID: pluginID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := sdkNewParams(tc.config).MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			got, err := presets.Decode(body)
			if err != nil {
				t.Fatalf("Decode(%s): %v", body, err)
			}
			want := presets.Preset{
				Name: "from_sdk",
				Config: presets.Config{
					ViewType:            presets.ViewAudioRoom,
					MaxVideoStreams:     presets.MaxVideoStreams{Mobile: 4, Desktop: 16},
					MaxScreenshareCount: 2,
					Media: presets.MediaConfig{
						Video:       presets.StreamConfig{Quality: presets.QualityQVGA, FrameRate: 24},
						Screenshare: presets.StreamConfig{Quality: presets.QualityVGA, FrameRate: 10},
						Audio:       presets.AudioConfig{EnableStereo: true, EnableHighBitrate: true},
					},
				},
				UI: presets.UI{
					DesignTokens: presets.DesignTokens{
						BorderRadius: presets.BorderRadiusRounded,
						BorderWidth:  presets.BorderWidthThin,
						SpacingBase:  4.5,
						Theme:        presets.ThemeDark,
						Logo:         "https://example.com/logo.png",
						Colors: presets.Colors{
							Brand:      presets.BrandColors{Shade300: "#f6821f", Shade400: "#F6821F", Shade500: "#e06d10", Shade600: "#c85c0a", Shade700: "#a44a07"},
							Background: presets.BackgroundColors{Shade600: "#666", Shade700: "#555555", Shade800: "#444444", Shade900: "#333333", Shade1000: "#000"},
							Danger:     "#ff0000", Text: "#fff", TextOnBrand: "#ffffff", Success: "#00ff00", VideoBg: "#111111", Warning: "#ffcc00",
						},
					},
					ConfigDiff: map[string]any{"header": map[string]any{"visible": false}},
				},
				Permissions: presets.Permissions{
					AcceptWaitingRequests:           true,
					CanChangeParticipantPermissions: true,
					CanLivestream:                   true,
					CanSpotlight:                    true,
					DisableParticipantScreensharing: true,
					KickParticipant:                 true,
					ShowParticipantList:             true,
					IsRecorder:                      true,
					RecorderType:                    presets.RecorderTypeLivestreamer,
					WaitingRoomType:                 presets.WaitingRoomOnPrivilegedUserEntry,
					Media: presets.MediaPermissions{
						Audio:       presets.ProducePermission{CanProduce: presets.ProduceAllowed},
						Video:       presets.ProducePermission{CanProduce: presets.ProduceNotAllowed},
						Screenshare: presets.ProducePermission{CanProduce: presets.ProduceCanRequest},
					},
					Chat: presets.ChatPermissions{
						Public:  presets.PublicChat{CanSend: true, Text: true},
						Private: presets.PrivateChat{CanReceive: true, Files: true},
					},
					Polls:             presets.PollPermissions{CanVote: true, CanView: true},
					Plugins:           presets.PluginPermissions{CanEditConfig: true, Config: tc.want},
					ConnectedMeetings: presets.ConnectedMeetingsPermissions{CanSwitchConnectedMeetings: true, CanSwitchToParentMeeting: true},
				},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Decode(SDK params):\n got %+v\nwant %+v", got, want)
			}

			// And what we would return for it decodes into the SDK's response.
			b, err := json.Marshal(apiPreset{ID: "6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b", Preset: got})
			if err != nil {
				t.Fatal(err)
			}
			checkSDK(t, b)
		})
	}
}

func TestDecodeAcceptsSDKNewParamsWithoutPermissions(t *testing.T) {
	params := sdkNewParams(shared.UnionString("0b7c1e2d-3f4a-4b5c-8d6e-7f8091a2b3c4"))
	params.Permissions = realtime_kit.PresetNewParams{}.Permissions // an unset field is left out
	body, err := params.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), `"permissions"`) {
		t.Fatalf("test setup: body still has permissions: %s", body)
	}
	got, err := presets.Decode(body)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if want := presets.Defaults()[1].Permissions; !reflect.DeepEqual(got.Permissions, want) {
		t.Errorf("permissions = %+v, want group_call_participant's %+v", got.Permissions, want)
	}
}

func TestPatchAcceptsSDKUpdateParams(t *testing.T) {
	params := realtime_kit.PresetUpdateParams{
		AccountID: cloudflare.F("account"),
		Permissions: cloudflare.F(realtime_kit.PresetUpdateParamsPermissions{
			Media: cloudflare.F(realtime_kit.PresetUpdateParamsPermissionsMedia{
				Audio: cloudflare.F(realtime_kit.PresetUpdateParamsPermissionsMediaAudio{
					CanProduce: cloudflare.F(realtime_kit.PresetUpdateParamsPermissionsMediaAudioCanProduceNotAllowed),
				}),
			}),
			ConnectedMeetings: cloudflare.F(realtime_kit.PresetUpdateParamsPermissionsConnectedMeetings{
				CanSwitchConnectedMeetings: cloudflare.F(true),
			}),
		}),
		Config: cloudflare.F(realtime_kit.PresetUpdateParamsConfig{
			Media: cloudflare.F(realtime_kit.PresetUpdateParamsConfigMedia{
				Video: cloudflare.F(realtime_kit.PresetUpdateParamsConfigMediaVideo{
					FrameRate: cloudflare.F[int64](15),
				}),
			}),
		}),
	}
	body, err := params.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	base := presets.Defaults()[1]
	got, err := base.Patch(body)
	if err != nil {
		t.Fatalf("Patch(%s): %v", body, err)
	}
	want := base
	want.Permissions.Media.Audio.CanProduce = presets.ProduceNotAllowed
	want.Permissions.ConnectedMeetings.CanSwitchConnectedMeetings = true
	want.Config.Media.Video.FrameRate = 15
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Patch(%s):\n got %+v\nwant %+v", body, got, want)
	}
}
