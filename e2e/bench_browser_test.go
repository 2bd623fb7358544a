//go:build e2e

package e2e

import (
	"testing"
	"time"

	"rtk-sidecar/presets"
)

// TestBenchmarkBrowserMove measures single moves of Chromium pages (web/test/e2e/bench.mjs):
// the SDK's make-before-break against a naive break-before-make page, in the same run, with
// RTK_BENCH_MOVES (default 24) moves each; and the size of the SDK's bundle. Results are the
// BENCH lines (docs/benchmarks-browser.md).
func TestBenchmarkBrowserMove(t *testing.T) {
	requireBench(t)
	requireBrowser(t)
	runNode(t, time.Minute, "scripts/build.mjs", "--size")
	sc, pagePort := startForPages(t)
	parent := sc.CreateMeeting(t, "Bench")
	pages := addPages(t, sc, parent, "listenerP", "listenerR", "mbb", "naive")
	runScript(t, "bench.mjs", map[string]any{
		"sidecar": sc.BaseURL, "pagePort": pagePort, "parent": parent, "pages": pages,
		"appPath": sc.AppPath, "apiKey": e2eKey, "moves": (envInt("RTK_BENCH_MOVES", 24) + 1) / 2,
	}, 20*time.Minute)
}

// TestBenchmarkAppInteractive measures the meeting app's time to interactive with a single page
// on the machine (web/test/e2e/app-tti.mjs): RTK_BENCH_APP_RUNS (default 7) cold loads of a
// participant's meeting link, one after the other. Results are the BENCH lines
// (docs/benchmarks.md, "Meeting app").
func TestBenchmarkAppInteractive(t *testing.T) {
	requireBench(t)
	requireBrowser(t)
	sc := StartSidecar(t)
	t.Cleanup(func() { sc.dropLeftovers(t) })
	parent := sc.CreateMeeting(t, "App interactive")
	_, tok := sc.AddParticipant(t, parent, "Alone", presets.GroupCallParticipant)
	runScript(t, "app-tti.mjs", map[string]any{"sidecar": sc.BaseURL, "token": tok, "runs": envInt("RTK_BENCH_APP_RUNS", 7)}, 5*time.Minute)
}
