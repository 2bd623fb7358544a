package meetings

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/livekit/psrpc"

	"rtk-sidecar/presets"
	"rtk-sidecar/store"
	"rtk-sidecar/tokens"
)

func TestAddParticipant(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("M")
	p, tok, err := e.svc.AddParticipant(e.ctx, appID, m.ID, ParticipantInput{
		CustomParticipantID: ptr("  ada  "), PresetName: ptr(" " + presets.GroupCallHost + " "),
		Name: ptr(" Ada "), Picture: ptr("https://img.example/ada.png"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.CustomParticipantID != "ada" || p.Name != "Ada" || p.Picture != "https://img.example/ada.png" ||
		p.PresetName != presets.GroupCallHost || p.PresetID != e.presetID(presets.GroupCallHost) ||
		p.MeetingID != m.ID || p.AppID != appID {
		t.Fatalf("participant: %+v", p)
	}
	c, err := e.tokens.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.OrgID != account || c.AppID != appID || c.MeetingID != m.ID || c.ParticipantID != p.ID || c.PresetID != p.PresetID {
		t.Fatalf("token claims: %+v", c)
	}

	// Without name and picture, both are empty.
	bare, _ := e.participant(m, "bob", presets.GroupCallParticipant)
	if bare.Name != "" || bare.Picture != "" {
		t.Fatalf("participant without name or picture: %+v", bare)
	}

	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name    string
		meeting string
		in      ParticipantInput
		code    psrpc.ErrorCode
		part    string
	}{
		{"no custom id", m.ID, ParticipantInput{PresetName: ptr(presets.GroupCallHost)}, psrpc.InvalidArgument, `"custom_participant_id"`},
		{"blank custom id", m.ID, ParticipantInput{CustomParticipantID: ptr(" "), PresetName: ptr(presets.GroupCallHost)}, psrpc.InvalidArgument, `"custom_participant_id"`},
		{"custom id too long", m.ID, ParticipantInput{CustomParticipantID: &long, PresetName: ptr(presets.GroupCallHost)}, psrpc.InvalidArgument, `"custom_participant_id"`},
		{"no preset", m.ID, ParticipantInput{CustomParticipantID: ptr("c")}, psrpc.InvalidArgument, `"preset_name"`},
		{"unknown preset", m.ID, ParticipantInput{CustomParticipantID: ptr("c"), PresetName: ptr("nobody")}, psrpc.InvalidArgument, `"preset_name"`},
		{"name too long", m.ID, ParticipantInput{CustomParticipantID: ptr("c"), PresetName: ptr(presets.GroupCallHost), Name: &long}, psrpc.InvalidArgument, `"name"`},
		{"picture not a URL", m.ID, ParticipantInput{CustomParticipantID: ptr("c"), PresetName: ptr(presets.GroupCallHost), Picture: ptr("ada.png")}, psrpc.InvalidArgument, `"picture"`},
		{"picture over ftp", m.ID, ParticipantInput{CustomParticipantID: ptr("c"), PresetName: ptr(presets.GroupCallHost), Picture: ptr("ftp://img.example/a.png")}, psrpc.InvalidArgument, `"picture"`},
		{"custom id taken", m.ID, ParticipantInput{CustomParticipantID: ptr("ada"), PresetName: ptr(presets.GroupCallHost)}, psrpc.AlreadyExists, `"ada"`},
		{"unknown meeting", "no-such-meeting", ParticipantInput{CustomParticipantID: ptr("c"), PresetName: ptr(presets.GroupCallHost)}, psrpc.NotFound, "no-such-meeting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.svc.AddParticipant(e.ctx, appID, tc.meeting, tc.in)
			wantErr(t, err, tc.code, tc.part)
		})
	}
	if _, total, err := e.svc.ListParticipants(e.ctx, appID, m.ID, store.Page{}); err != nil || total != 2 {
		t.Fatalf("%d participants stored (%v), want 2", total, err)
	}

	// A custom id is unique per meeting, not per app.
	other := e.meeting("Other")
	if _, _, err := e.svc.AddParticipant(e.ctx, appID, other.ID, ParticipantInput{CustomParticipantID: ptr("ada"), PresetName: ptr(presets.GroupCallHost)}); err != nil {
		t.Fatalf("the same custom id in another meeting: %v", err)
	}
}

func TestEditParticipant(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("M")
	p, _ := e.participant(m, "ada", presets.GroupCallParticipant)

	got, tok, err := e.svc.EditParticipant(e.ctx, appID, m.ID, p.ID, ParticipantPatch{Name: ptr(" Ada L. "), PresetName: ptr(presets.WebinarViewer)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Ada L." || got.PresetName != presets.WebinarViewer || got.CustomParticipantID != "ada" || got.Picture != "" {
		t.Fatalf("edited: %+v", got)
	}
	// The fresh token carries the new preset.
	c, err := e.tokens.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.PresetID != e.presetID(presets.WebinarViewer) || c.ParticipantID != p.ID {
		t.Fatalf("token claims after the edit: %+v", c)
	}
	if !got.UpdatedAt.After(p.UpdatedAt) || !got.CreatedAt.Equal(p.CreatedAt) {
		t.Fatalf("times: created %v -> %v, updated %v -> %v", p.CreatedAt, got.CreatedAt, p.UpdatedAt, got.UpdatedAt)
	}
	// An empty patch changes nothing.
	same, _, err := e.svc.EditParticipant(e.ctx, appID, m.ID, p.ID, ParticipantPatch{})
	if err != nil {
		t.Fatal(err)
	}
	if same.Name != "Ada L." || same.PresetName != presets.WebinarViewer {
		t.Fatalf("after an empty patch: %+v", same)
	}

	other := e.meeting("Other")
	for _, tc := range []struct {
		name, meeting, id string
		patch             ParticipantPatch
		code              psrpc.ErrorCode
		part              string
	}{
		{"blank preset", m.ID, p.ID, ParticipantPatch{PresetName: ptr(" ")}, psrpc.InvalidArgument, `"preset_name"`},
		{"unknown preset", m.ID, p.ID, ParticipantPatch{PresetName: ptr("nobody")}, psrpc.InvalidArgument, `"preset_name"`},
		{"name too long", m.ID, p.ID, ParticipantPatch{Name: ptr(strings.Repeat("n", 256))}, psrpc.InvalidArgument, `"name"`},
		{"picture", m.ID, p.ID, ParticipantPatch{Picture: ptr("javascript:alert(1)")}, psrpc.InvalidArgument, `"picture"`},
		{"unknown participant", m.ID, "no-such-participant", ParticipantPatch{Name: ptr("x")}, psrpc.NotFound, "no-such-participant"},
		{"participant of another meeting", other.ID, p.ID, ParticipantPatch{Name: ptr("x")}, psrpc.NotFound, p.ID},
		{"unknown meeting", "no-such-meeting", p.ID, ParticipantPatch{Name: ptr("x")}, psrpc.NotFound, "no-such-meeting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.svc.EditParticipant(e.ctx, appID, tc.meeting, tc.id, tc.patch)
			wantErr(t, err, tc.code, tc.part)
			now, err := e.svc.Participant(e.ctx, appID, m.ID, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if now.Name != "Ada L." || now.PresetName != presets.WebinarViewer {
				t.Fatalf("a refused edit changed the participant: %+v", now)
			}
		})
	}
}

func TestDeleteParticipant(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("M")
	p, tok := e.participant(m, "ada", presets.GroupCallHost)
	if _, err := e.svc.Authenticate(e.ctx, tok); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.DeleteParticipant(e.ctx, appID, m.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != p.ID || got.PresetName != presets.GroupCallHost {
		t.Fatalf("DeleteParticipant returned %+v", got)
	}
	_, err = e.svc.Participant(e.ctx, appID, m.ID, p.ID)
	wantErr(t, err, psrpc.NotFound, p.ID)
	_, err = e.svc.DeleteParticipant(e.ctx, appID, m.ID, p.ID)
	wantErr(t, err, psrpc.NotFound, p.ID)
	_, err = e.svc.RefreshToken(e.ctx, appID, m.ID, p.ID)
	wantErr(t, err, psrpc.NotFound, p.ID)

	// Its token, still validly signed, no longer admits anyone.
	_, err = e.svc.Authenticate(e.ctx, tok)
	wantErr(t, err, psrpc.Unauthenticated, "no longer exists")
	if !errors.Is(err, tokens.ErrInvalid) {
		t.Fatalf("error %v is not tokens.ErrInvalid", err)
	}
	_, err = e.svc.Join(e.ctx, tok)
	wantErr(t, err, psrpc.Unauthenticated)
	if len(e.br.admissions()) != 0 {
		t.Fatal("a deleted participant was admitted")
	}
}

func TestRefreshToken(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("M")
	p, first := e.participant(m, "ada", presets.GroupCallHost)
	tok, err := e.svc.RefreshToken(e.ctx, appID, m.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tok == first {
		t.Fatal("RefreshToken returned the same token")
	}
	c, err := e.tokens.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.ParticipantID != p.ID || c.MeetingID != m.ID || c.PresetID != p.PresetID || c.OrgID != account {
		t.Fatalf("refreshed token claims: %+v", c)
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("M")
	p, tok := e.participant(m, "ada", presets.GroupCallHost)
	got, err := e.svc.Authenticate(e.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != p.ID || got.MeetingID != m.ID {
		t.Fatalf("Authenticate returned %+v", got)
	}
	_, err = e.svc.Authenticate(e.ctx, "not-a-token")
	wantErr(t, err, psrpc.Unauthenticated)
	// A well-signed token whose app is not the participant's.
	forged, err := e.tokens.Issue(tokens.Claims{OrgID: account, AppID: "another-app", MeetingID: m.ID, ParticipantID: p.ID, PresetID: p.PresetID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(e.ctx, forged)
	wantErr(t, err, psrpc.Unauthenticated)
}

// ListParticipants pages a meeting's participants oldest first, each with
// the name of its preset.
func TestListParticipants(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("M")
	other := e.meeting("Other")
	e.participant(other, "elsewhere", presets.GroupCallHost)
	want := []struct{ custom, preset string }{
		{"a", presets.GroupCallHost}, {"b", presets.GroupCallParticipant}, {"c", presets.GroupCallHost},
		{"d", presets.WebinarViewer}, {"e", presets.Recorder},
	}
	for _, w := range want {
		e.participant(m, w.custom, w.preset)
	}
	var got []string
	for offset := 0; offset < 6; offset += 2 {
		page, total, err := e.svc.ListParticipants(e.ctx, appID, m.ID, store.Page{Offset: offset, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if total != len(want) {
			t.Fatalf("total %d, want %d", total, len(want))
		}
		for _, p := range page {
			if p.PresetID != e.presetID(p.PresetName) {
				t.Fatalf("%s: preset name %q does not name its preset %s", p.CustomParticipantID, p.PresetName, p.PresetID)
			}
			got = append(got, p.CustomParticipantID+":"+p.PresetName)
		}
	}
	var wantS []string
	for _, w := range want {
		wantS = append(wantS, w.custom+":"+w.preset)
	}
	if !slices.Equal(got, wantS) {
		t.Fatalf("pages: %q, want %q", got, wantS)
	}
	_, _, err := e.svc.ListParticipants(e.ctx, appID, "no-such-meeting", store.Page{})
	wantErr(t, err, psrpc.NotFound, "no-such-meeting")
}

// beforeCreate is a store that runs a function before each
// CreateParticipant and CreateParticipantWithPreset: a change made by
// another request meanwhile.
type beforeCreate struct {
	store.Store
	fn func()
}

func (s beforeCreate) CreateParticipant(ctx context.Context, p store.Participant) error {
	s.fn()
	return s.Store.CreateParticipant(ctx, p)
}

func (s beforeCreate) CreateParticipantWithPreset(ctx context.Context, p store.Participant, preset string) (string, error) {
	s.fn()
	return s.Store.CreateParticipantWithPreset(ctx, p, preset)
}

// AddParticipant answers what it stored, without reading it back; a preset
// deleted before the insert is refused as an unknown one.
func TestAddParticipantAnswersWhatIsStored(t *testing.T) {
	e := newEnv(t)
	m := e.meeting("M")
	p, _, err := e.svc.AddParticipant(e.ctx, appID, m.ID, ParticipantInput{
		CustomParticipantID: ptr("ada"), PresetName: ptr(presets.GroupCallHost), Name: ptr("Ada"), Picture: ptr("https://img.example/a.png")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Participant(e.ctx, appID, m.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("AddParticipant answered %+v, the store holds %+v", p, got)
	}

	pr, err := e.svc.CreatePreset(e.ctx, appID, presetBody(t, "short-lived"))
	if err != nil {
		t.Fatal(err)
	}
	svc := New(beforeCreate{Store: e.st, fn: func() {
		if err := e.st.DeletePreset(e.ctx, appID, pr.ID); err != nil {
			t.Error(err)
		}
	}}, e.tokens, e.br, slog.New(slog.DiscardHandler))
	_, _, err = svc.AddParticipant(e.ctx, appID, m.ID, ParticipantInput{CustomParticipantID: ptr("bob"), PresetName: ptr("short-lived")})
	wantErr(t, err, psrpc.InvalidArgument, `"preset_name"`, "short-lived")
}
