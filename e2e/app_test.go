//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rtk-sidecar/configs"
)

// TestMeetingApp runs web/test/e2e/app.mjs: the meeting app served by the sidecar, used as a
// person would, in Debian's Chromium (selectors by role and label). The lobby is interactive
// and makes a meeting; a wrong token gets a clear page; the host and 6 participants pass the
// setup screen and join (one choosing another microphone and speaker there, which it sends and
// plays on in its breakout room), every page showing the main grid with cameras and microphones
// as set; the host chooses another microphone in its Devices panel; the host opens Create breakout rooms, makes 3 rooms, meets a stale version's 409 as a
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
	// Seven pages with media on two cores: every step is slow when the machine is shared.
	runApp(t, "app.mjs", 14*time.Minute)
}

// TestMeetingAppLateJoinerScreenTimer runs web/test/e2e/app-late.mjs: the host and 2
// participants join; the host opens the Create dialog with the keyboard (Escape closes it,
// Enter submits it) and makes 2 rooms, shuffles, ticks "Place late joiners in rooms",
// sets a 2-minute timer and starts; the lobby's page adds a third participant only then (as an
// app adds someone who comes late), who joins and lands in the older
// room (the least full are equal), heard by its room-mate and hearing it, listed in the host's
// panel; the room-mate shares its screen, seen by the late joiner; the timer runs out with the
// closing countdown on every page, and everyone is back in the main meeting with the screen
// share still on and seen by the host. Screenshots go to e2e/artifacts/app-late/.
func TestMeetingAppLateJoinerScreenTimer(t *testing.T) {
	runApp(t, "app-late.mjs", 8*time.Minute)
}

// runApp runs a scenario of the meeting app (web/test/e2e/<script>) against a sidecar with the
// dev lobby; its screenshots go to e2e/artifacts/<script's name>/.
func runApp(t *testing.T, script string, timeout time.Duration) {
	t.Helper()
	requireBrowser(t)
	sc := StartSidecar(t, func(c *configs.Config) { c.HTTP.DevLobby = true })
	t.Cleanup(func() { sc.dropLeftovers(t) })
	artifacts, err := filepath.Abs(filepath.Join("artifacts", strings.TrimSuffix(script, ".mjs")))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	runScript(t, script, map[string]any{"sidecar": sc.BaseURL, "artifacts": artifacts}, timeout)
}
