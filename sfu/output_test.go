package sfu

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestOutputForwardsWarningsAndKeepsTail(t *testing.T) {
	var file, logs bytes.Buffer
	o := newOutput(&file, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))

	lines := []string{
		`{"level":"info","ts":1,"msg":"starting LiveKit server","portHttp":7880}`,
		`{"level":"warn","ts":2,"caller":"x.go:1","logger":"livekit.pub","msg":"no permission to publish track","room":"r1","participant":"alice"}`,
		`{"level":"warn","ts":3,"msg":"error reading data channel","error":"abort chunk (User Initiated Abort: )"}`,
		`{"level":"error","ts":4,"msg":"could not start server","error":"bind: address already in use"}`,
		`panic: boom`,
	}
	// Write in odd chunks: lines must be reassembled.
	all := strings.Join(lines, "\n") + "\n"
	for len(all) > 0 {
		n := min(7, len(all))
		if _, err := o.Write([]byte(all[:n])); err != nil {
			t.Fatal(err)
		}
		all = all[n:]
	}

	if file.String() != strings.Join(lines, "\n")+"\n" {
		t.Errorf("log file got %q", file.String())
	}
	got := logs.String()
	for _, want := range []string{
		`level=WARN msg="livekit-server: no permission to publish track" participant=alice room=r1`,
		`level=ERROR msg="livekit-server: could not start server" err="bind: address already in use"`,
		`level=WARN msg="livekit-server: panic: boom"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("slog output lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"starting LiveKit server", "User Initiated Abort", "caller=", "ts="} {
		if strings.Contains(got, unwanted) {
			t.Errorf("slog output has %q:\n%s", unwanted, got)
		}
	}

	for i := range 2 * tailLines {
		fmt.Fprintf(o, "line %d\n", i)
	}
	tail := strings.Split(o.Tail(), "\n")
	if len(tail) != tailLines || tail[0] != fmt.Sprintf("line %d", tailLines) || tail[tailLines-1] != fmt.Sprintf("line %d", 2*tailLines-1) {
		t.Errorf("Tail() = %q, want the last %d lines", tail, tailLines)
	}
}
