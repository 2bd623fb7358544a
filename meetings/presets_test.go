package meetings

import (
	"slices"
	"testing"

	"github.com/livekit/psrpc"

	"rtk-sidecar/presets"
	"rtk-sidecar/store"
)

func TestCreatePreset(t *testing.T) {
	e := newEnv(t)
	p, err := e.svc.CreatePreset(e.ctx, appID, presetBody(t, "moderator"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "moderator" || p.Doc.Name != "moderator" || p.AppID != appID || p.ID == "" {
		t.Fatalf("created preset: %+v", p.Preset)
	}
	got, err := e.svc.Preset(e.ctx, appID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Doc.Permissions.Media.Audio.CanProduce != presets.ProduceAllowed {
		t.Fatalf("stored document lost its permissions: %+v", got.Doc.Permissions.Media)
	}

	for _, tc := range []struct {
		name string
		body string
		code psrpc.ErrorCode
		part string
	}{
		{"not json", `{`, psrpc.InvalidArgument, ""},
		{"no name", `{"config": {}}`, psrpc.InvalidArgument, `"name"`},
		{"name taken", string(presetBody(t, "moderator")), psrpc.AlreadyExists, `"moderator"`},
		{"name of a built-in", string(presetBody(t, presets.GroupCallHost)), psrpc.AlreadyExists, presets.GroupCallHost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreatePreset(e.ctx, appID, []byte(tc.body))
			wantErr(t, err, tc.code, tc.part)
		})
	}
	// The same name in another app is another preset.
	other, err := e.svc.CreateApp(e.ctx, account, "other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreatePreset(e.ctx, other.ID, presetBody(t, "moderator")); err != nil {
		t.Fatalf("a name of another app: %v", err)
	}
	_, err = e.svc.Preset(e.ctx, other.ID, p.ID)
	wantErr(t, err, psrpc.NotFound, p.ID)
}

func TestUpdatePreset(t *testing.T) {
	e := newEnv(t)
	p, err := e.svc.CreatePreset(e.ctx, appID, presetBody(t, "moderator"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.UpdatePreset(e.ctx, appID, p.ID, []byte(`{"name": "mod", "permissions": {"media": {"audio": {"can_produce": "NOT_ALLOWED"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "mod" || got.Doc.Permissions.Media.Audio.CanProduce != presets.ProduceNotAllowed {
		t.Fatalf("after the patch: name %q, audio %q", got.Name, got.Doc.Permissions.Media.Audio.CanProduce)
	}
	if got.Doc.Permissions.Media.Video.CanProduce != p.Doc.Permissions.Media.Video.CanProduce {
		t.Fatal("the patch changed the video permission it did not name")
	}
	if !got.CreatedAt.Equal(p.CreatedAt) || !got.UpdatedAt.After(p.UpdatedAt) {
		t.Fatalf("times: created %v -> %v, updated %v -> %v", p.CreatedAt, got.CreatedAt, p.UpdatedAt, got.UpdatedAt)
	}

	for _, tc := range []struct {
		name, patch string
		code        psrpc.ErrorCode
		part        string
	}{
		{"name taken", `{"name": "group_call_host"}`, psrpc.AlreadyExists, "group_call_host"},
		{"bad value", `{"permissions": {"media": {"audio": {"can_produce": "SOMETIMES"}}}}`, psrpc.InvalidArgument, `"permissions.media.audio.can_produce"`},
		{"null name", `{"name": null}`, psrpc.InvalidArgument, `"name"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.UpdatePreset(e.ctx, appID, p.ID, []byte(tc.patch))
			wantErr(t, err, tc.code, tc.part)
			now, err := e.svc.Preset(e.ctx, appID, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if now.Name != "mod" || now.Doc.Permissions.Media.Audio.CanProduce != presets.ProduceNotAllowed {
				t.Fatalf("a refused patch changed the preset: %q, %q", now.Name, now.Doc.Permissions.Media.Audio.CanProduce)
			}
		})
	}
	_, err = e.svc.UpdatePreset(e.ctx, appID, "no-such-preset", []byte(`{"name": "x"}`))
	wantErr(t, err, psrpc.NotFound, "no-such-preset")
}

func TestDeletePreset(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("M")
	used, err := e.svc.CreatePreset(e.ctx, appID, presetBody(t, "used"))
	if err != nil {
		t.Fatal(err)
	}
	unused, err := e.svc.CreatePreset(e.ctx, appID, presetBody(t, "unused"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := e.participant(m, "ada", "used")

	_, err = e.svc.DeletePreset(e.ctx, appID, used.ID)
	wantErr(t, err, psrpc.AlreadyExists, `"used"`, "still assigned")
	if _, err := e.svc.Preset(e.ctx, appID, used.ID); err != nil {
		t.Fatalf("a refused delete removed the preset: %v", err)
	}

	got, err := e.svc.DeletePreset(e.ctx, appID, unused.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != unused.ID || got.Name != "unused" {
		t.Fatalf("DeletePreset returned %+v", got.Preset)
	}
	_, err = e.svc.Preset(e.ctx, appID, unused.ID)
	wantErr(t, err, psrpc.NotFound, unused.ID)
	_, err = e.svc.DeletePreset(e.ctx, appID, unused.ID)
	wantErr(t, err, psrpc.NotFound, unused.ID)

	// Once nobody uses it, the preset goes.
	if _, _, err := e.svc.EditParticipant(e.ctx, appID, m.ID, p.ID, ParticipantPatch{PresetName: ptr(presets.GroupCallParticipant)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DeletePreset(e.ctx, appID, used.ID); err != nil {
		t.Fatalf("delete of a preset nobody uses: %v", err)
	}
}

func TestListPresets(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"a", "b", "c"} {
		if _, err := e.svc.CreatePreset(e.ctx, appID, presetBody(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	builtIn := len(presets.Defaults())
	var walked []string
	for offset := 0; offset < builtIn+3; offset += 3 {
		page, total, err := e.svc.ListPresets(e.ctx, appID, store.Page{Offset: offset, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if total != builtIn+3 {
			t.Fatalf("total %d, want %d", total, builtIn+3)
		}
		for _, p := range page {
			walked = append(walked, p.Name)
		}
	}
	// Oldest first: the built-ins, then the three in their order.
	if len(walked) != builtIn+3 || !slices.Equal(walked[builtIn:], []string{"a", "b", "c"}) {
		t.Fatalf("pages: %q", walked)
	}
}
