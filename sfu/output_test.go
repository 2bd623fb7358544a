package sfu

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"rtk-sidecar/redact"
)

func TestOutputForwardsWarningsAndKeepsTail(t *testing.T) {
	var file, logs bytes.Buffer
	o := newOutput(&file, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)

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

// TestOutputRedacts: a token or key in the child's output reaches neither the log file, nor the
// relayed log, nor the tail quoted in errors. The cancelled rtk.move RPC's warning, with the
// whole request, is the line that once carried a destination token.
func TestOutputRedacts(t *testing.T) {
	const secret = "lk-secret-0123456789abcdefghijklmnopqrstuv"
	token := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ2aWRlbyI6eyJyb29tIjoiYm8tMSJ9fQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
	var file, logs bytes.Buffer
	o := newOutput(&file, slog.New(slog.NewTextHandler(&logs, nil)), redact.New("APIabc12345", secret))
	fmt.Fprintf(o, `{"level":"warn","ts":1,"msg":"failed to perform rpc","request":{"room":"main","destinationIdentity":"p","method":"rtk.move","payload":"{\"v\":1,\"livekit\":{\"token\":\"%s\"}}"}}`+"\n", token)
	fmt.Fprintf(o, "panic: bad key APIabc12345 secret %s\n", secret)
	for what, out := range map[string]string{"log file": file.String(), "relayed log": logs.String(), "tail": o.Tail()} {
		for _, s := range []string{token, secret, "APIabc12345"} {
			if strings.Contains(out, s) {
				t.Errorf("the %s holds %q:\n%s", what, s, out)
			}
		}
		if !strings.Contains(out, "rtk.move") || !strings.Contains(out, redact.Marker) {
			t.Errorf("the %s lost the line:\n%s", what, out)
		}
	}
}
