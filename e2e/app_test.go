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
// person would, in Debian's Chromium (selectors by role and label). The lobby is interactive
// and makes a meeting; a wrong token gets a clear page; the host and 6 participants pass the
// setup screen and join, every page showing the main grid with cameras and microphones as set;
// the host opens Create breakout rooms, makes 3 rooms, meets a stale version's 409 as a
// sentence in the Assign participants dialog, shuffles (2 a room), renames a room with the
// pencil, drags a person to another room, assigns one back by ticking it and choosing the room,
// sets a timer of 5 minutes and starts with "Yes, start"; every participant's page then shows
// its room's name and hears exactly its room-mates (getStats), and every page the timer. The
// host, alone in the main meeting, listens in to a room and hears it, then stops and hears nothing. Participants have no switch control and a forced switch is
// refused with the permission's name; a participant asks for help, the host's page shows it and
// the host joins that room from it and is heard there; a broadcast reaches every room's pages;
// closing with a countdown shows it on every page, then everyone is back in the main grid with
// camera and microphone as they were; there the host's chat message reaches every page, and a
// participant's vote in the host's poll shows on the host's page. Screenshots of each stage go
// to e2e/artifacts/app/.
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
