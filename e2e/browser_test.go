//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"rtk-sidecar/configs"
	"rtk-sidecar/presets"
	"rtk-sidecar/rtkclient"
)

// The browser tests run the SDK of web/ in Debian's Chromium, driven by Node scripts of
// web/test/e2e (playwright-core), against the sidecar and SFU of the test, inside the private
// network namespace. The scripts serve the test page from another origin than the sidecar's,
// which loads the SDK from the sidecar (/sdk/rtk-client.js) and calls it across origins.

// webDir is the SDK's folder, from the e2e package's.
const webDir = "../web"

// requireBrowser checks that Node, the SDK's npm packages and Chromium are there.
func requireBrowser(t *testing.T) {
	t.Helper()
	requireMedia(t)
	if _, err := exec.LookPath("node"); err != nil {
		skipOrFail(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join(webDir, "node_modules", "playwright-core")); err != nil {
		skipOrFail(t, "web/node_modules is missing: run npm ci in web/ (make web-deps)")
	}
	if _, err := os.Stat(chromiumPath()); err != nil {
		skipOrFail(t, "Chromium is not installed at "+chromiumPath()+" (apt-get install chromium)")
	}
}

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// runScript runs a script of web/test/e2e with cfg (written to a JSON file, its one argument).
func runScript(t *testing.T, script string, cfg any, timeout time.Duration) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	runNode(t, timeout, filepath.Join("test", "e2e", script), path)
}

// runNode runs node with args in web/, its output in the test log, and fails the test if it
// exits non-zero or outlives timeout.
func runNode(t *testing.T, timeout time.Duration, args ...string) {
	t.Helper()
	script := args[0]
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = webDir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromiumPath())
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { logLines(t, filepath.Base(script), out) })
	err = cmd.Wait()
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("node %s did not finish within %s", script, timeout)
	}
	if err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
}

// logLines copies r to the test log, a line at a time, as it comes.
func logLines(t *testing.T, prefix string, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		t.Logf("%s: %s", prefix, sc.Text())
	}
}

// pageCfg is a page of the scenario: its participant.
type pageCfg struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	Token string `json:"token"`
}

// startForPages starts a sidecar that the scenario's pages, served from
// http://127.0.0.1:pagePort, may call (CORS), and drops its leftovers when the test ends.
func startForPages(t *testing.T) (sc *Sidecar, pagePort int) {
	t.Helper()
	pagePort, _, _ = freePorts(t)
	sc = StartSidecar(t, func(c *configs.Config) { c.HTTP.CORSOrigins = []string{fmt.Sprintf("http://127.0.0.1:%d", pagePort)} })
	t.Cleanup(func() { sc.dropLeftovers(t) })
	return sc, pagePort
}

// addPages adds a participant of the group call's participant preset to the meeting for each
// name, and returns their pages.
func addPages(t *testing.T, sc *Sidecar, meeting string, names ...string) []pageCfg {
	t.Helper()
	var pages []pageCfg
	for _, name := range names {
		id, tok := sc.AddParticipant(t, meeting, name, presets.GroupCallParticipant)
		pages = append(pages, pageCfg{Name: name, ID: id, Token: tok})
	}
	return pages
}

// TestBrowserBreakouts runs web/test/e2e/breakouts.mjs: 6 Chromium pages (one host) and a Go
// rtkclient participant, all with a microphone (the pages with a camera too), go through
// breakout rooms made, shuffled, started and closed (with a 5 s countdown) by the host's
// page (one page chooses another microphone and speaker in its room and keeps them across the
// move back); the script checks every page by what it receives (RTCPeerConnection.getStats),
// and this test checks that the Go participant heard the pages of its room.
func TestBrowserBreakouts(t *testing.T) {
	requireBrowser(t)
	sc, pagePort := startForPages(t)
	parent := sc.CreateMeeting(t, "All hands")
	addReturnerPreset(t, sc)

	gopher := newMember(t, sc, parent, "gopher", presets.GroupCallParticipant, false, false)
	gopher.join(t)
	var pages []pageCfg
	for _, p := range []struct{ name, preset string }{
		{"host", presets.GroupCallHost}, {"returner", "breakout_returner"}, {"muted", presets.GroupCallParticipant},
		{"plain1", presets.GroupCallParticipant}, {"plain2", presets.GroupCallParticipant}, {"plain3", presets.GroupCallParticipant},
	} {
		id, tok := sc.AddParticipant(t, parent, p.name, p.preset)
		pages = append(pages, pageCfg{Name: p.name, ID: id, Token: tok})
	}
	result := filepath.Join(t.TempDir(), "result.json")
	runScript(t, "breakouts.mjs", map[string]any{
		"sidecar": sc.BaseURL, "pagePort": pagePort, "parent": parent, "pages": pages, "gopher": gopher.id, "result": result,
	}, 6*time.Minute)

	var res struct {
		GopherRoom  string   `json:"gopherRoom"`
		GopherMates []string `json:"gopherMates"`
		Muted       string   `json:"muted"`
	}
	b, err := os.ReadFile(result)
	if err != nil || json.Unmarshal(b, &res) != nil || res.GopherRoom == "" || len(res.GopherMates) == 0 {
		t.Fatalf("the script's result: %s (%v)", b, err)
	}
	// The Go participant was in its room with pages, and heard every unmuted one there: the
	// pages heard it (the script checked), so they hear each other.
	gopher.mu.Lock()
	arrivals := gopher.arrivals[gopher.id]
	gopher.mu.Unlock()
	if len(arrivals) == 0 || arrivals[0] != res.GopherRoom {
		t.Errorf("the Go participant's meetings: %v, want %s first", arrivals, res.GopherRoom)
	}
	for _, id := range res.GopherMates {
		got := gopher.c.Received(res.GopherRoom, id, rtkclient.Audio).Packets
		switch {
		case id == res.Muted && got > 0:
			t.Errorf("the Go participant heard the muted page %s: %d packets", id, got)
		case id != res.Muted && got == 0:
			t.Errorf("the Go participant heard nothing from page %s in %s", id, res.GopherRoom)
		}
	}
}

// TestBrowserReconnects runs web/test/e2e/reconnect.mjs: two Chromium pages in a meeting hear
// each other; every TCP connection to the sidecar and to the SFU's signal port is aborted,
// twice, and each time the audio flows on, both pages' event streams come back by themselves and
// their LiveKit connections resume (a mute reaches the other page); then the SFU is killed and
// the sidecar starts it again, and both pages get a LiveKit connection again by themselves and
// hear each other; a move afterwards takes both to a breakout room, where they hear each other.
func TestBrowserReconnects(t *testing.T) {
	requireBrowser(t)
	sc, pagePort := startForPages(t)
	parent := sc.CreateMeeting(t, "Blips")
	pages := addPages(t, sc, parent, "ada", "bob")
	runScript(t, "reconnect.mjs", map[string]any{
		"sidecar": sc.BaseURL, "appPath": sc.AppPath, "apiKey": e2eKey, "pagePort": pagePort, "parent": parent, "pages": pages,
		"sidecarPort": portOf(t, sc.BaseURL), "signalPort": portOf(t, sc.LiveKit),
	}, 4*time.Minute)
}

// portOf returns the port of URL u.
func portOf(t *testing.T, u string) int {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p.Port())
	if err != nil {
		t.Fatalf("the port of %s: %v", u, err)
	}
	return n
}
