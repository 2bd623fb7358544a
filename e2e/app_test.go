//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"rtk-sidecar/configs"
)

// TestMeetingApp runs web/test/e2e/app.mjs: the meeting app served by the sidecar, used as a
// person would, in Debian's Chromium (selectors by role and label). The host's page makes a
// meeting in the dev lobby; the host and 6 participants join; the host creates 3 breakout
// rooms, shuffles, renames one and starts with the confirmation; every participant's page
// shows its room and hears only its room-mates (getStats); a participant asks for help and
// the host joins its room and is heard there; a broadcast reaches every room; a close with a
// countdown shows it everywhere and brings everyone back with their camera and microphone as
// they were; a participant without switch permission has no switch control and a forced
// request is refused. Screenshots of each stage go to e2e/artifacts/app/.
func TestMeetingApp(t *testing.T) {
	requireBrowser(t)
	sc := StartSidecar(t, func(c *configs.Config) { c.HTTP.DevLobby = true })
	t.Cleanup(func() { sc.dropLeftovers(t) })
	artifacts, err := filepath.Abs(filepath.Join("artifacts", "app"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	// Seven pages with media on two cores: every step is slow when the machine is shared.
	runScript(t, "app.mjs", map[string]any{"sidecar": sc.BaseURL, "artifacts": artifacts}, 14*time.Minute)
}
