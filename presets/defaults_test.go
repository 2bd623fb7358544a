package presets_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"rtk-sidecar/presets"
)

func TestDefaultsNames(t *testing.T) {
	var names []string
	for _, p := range presets.Defaults() {
		names = append(names, p.Name)
	}
	want := []string{"group_call_host", "group_call_participant", "webinar_presenter", "webinar_viewer", "recorder"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("Defaults() names = %v, want %v", names, want)
	}
}

// TestDefaultsValid checks that every built-in preset passes the validation
// a client's preset goes through, and comes back unchanged.
func TestDefaultsValid(t *testing.T) {
	for _, p := range presets.Defaults() {
		t.Run(p.Name, func(t *testing.T) {
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := presets.Decode(b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", b, err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("Decode(Marshal(p)):\n got %+v\nwant %+v", got, p)
			}
		})
	}
}

func TestDefaultsFresh(t *testing.T) {
	a := presets.Defaults()
	a[0].Name = "changed"
	a[0].Permissions.KickParticipant = false
	if b := presets.Defaults(); b[0].Name != presets.GroupCallHost || !b[0].Permissions.KickParticipant {
		t.Error("Defaults() returned shared values")
	}
}

func TestDefaultsPermissions(t *testing.T) {
	byName := map[string]presets.Permissions{}
	for _, p := range presets.Defaults() {
		byName[p.Name] = p.Permissions
	}
	all := presets.ConnectedMeetingsPermissions{CanAlterConnectedMeetings: true, CanSwitchConnectedMeetings: true, CanSwitchToParentMeeting: true}
	none := presets.ConnectedMeetingsPermissions{}

	host := byName[presets.GroupCallHost]
	if host.ConnectedMeetings != all || !host.KickParticipant || !host.CanAcceptProductionRequests ||
		!host.AcceptWaitingRequests || !host.Polls.CanCreate || !host.Plugins.CanStart || host.HiddenParticipant || host.IsRecording() {
		t.Errorf("group_call_host = %+v, want every power and not hidden", host)
	}
	if p := byName[presets.WebinarPresenter]; !reflect.DeepEqual(p, host) {
		t.Errorf("webinar_presenter = %+v, want the host's permissions", p)
	}

	part := byName[presets.GroupCallParticipant]
	if part.ConnectedMeetings != none || part.KickParticipant || part.Polls.CanCreate || !part.Polls.CanVote ||
		!part.Chat.Public.CanSend || part.Media.Screenshare.CanProduce != presets.ProduceAllowed {
		t.Errorf("group_call_participant = %+v", part)
	}

	viewer := byName[presets.WebinarViewer]
	if len(viewer.PublishSources()) != 0 || viewer.Media.Audio.CanProduce != presets.ProduceCanRequest ||
		viewer.Media.Screenshare.CanProduce != presets.ProduceNotAllowed || viewer.ConnectedMeetings != none {
		t.Errorf("webinar_viewer = %+v, want view only", viewer)
	}

	rec := byName[presets.Recorder]
	if !rec.HiddenParticipant || !rec.IsRecorder || rec.RecorderType != presets.RecorderTypeRecorder ||
		len(rec.PublishSources()) != 0 || rec.CanPublishData() || rec.ConnectedMeetings != none ||
		rec.WaitingRoomType != presets.WaitingRoomSkip {
		t.Errorf("recorder = %+v, want hidden, producing and sending nothing", rec)
	}
}

func TestDefaultConfigAndUI(t *testing.T) {
	for _, p := range presets.Defaults() {
		if !reflect.DeepEqual(p.UI, presets.DefaultUI()) {
			t.Errorf("%s: UI differs from DefaultUI()", p.Name)
		}
		want := presets.DefaultConfig()
		if p.Name == presets.WebinarPresenter || p.Name == presets.WebinarViewer {
			want.ViewType = presets.ViewWebinar
		}
		if p.Config != want {
			t.Errorf("%s: config = %+v, want %+v", p.Name, p.Config, want)
		}
	}
}
