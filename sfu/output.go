package sfu

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"rtk-sidecar/redact"
)

// tailLines is how many of the child's last output lines an error message quotes.
const tailLines = 15

// output receives the child's stdout and stderr, line by line. It redacts each line (access
// tokens, keys: package redact), then copies it to the log file, keeps the last lines for error
// messages, and forwards LiveKit's warnings and errors (and any line that is not LiveKit JSON,
// such as a panic) to the slog logger. Safe for concurrent use.
type output struct {
	file   io.Writer
	log    *slog.Logger
	redact *redact.Redactor

	mu      sync.Mutex
	partial []byte
	tail    []string
}

func newOutput(file io.Writer, log *slog.Logger, r *redact.Redactor) *output {
	return &output{file: file, log: log, redact: r}
}

// Write implements io.Writer.
func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		o.line(string(bytes.TrimRight(o.partial[:i], "\r")))
		o.partial = o.partial[i+1:]
	}
	if len(o.partial) > 64<<10 { // a runaway line without newline
		o.line(string(o.partial))
		o.partial = o.partial[:0]
	}
	return len(p), nil
}

// line handles one complete line; o.mu is held.
func (o *output) line(s string) {
	s = o.redact.String(s)
	if _, err := io.WriteString(o.file, s+"\n"); err != nil {
		// A full disk must not stall or kill the child: keep forwarding.
		o.log.Warn("sfu: cannot write livekit-server log", "err", err)
	}
	if strings.TrimSpace(s) == "" {
		return
	}
	if len(o.tail) == tailLines {
		copy(o.tail, o.tail[1:])
		o.tail = o.tail[:tailLines-1]
	}
	o.tail = append(o.tail, s)

	var rec map[string]any
	if err := json.Unmarshal([]byte(s), &rec); err != nil || rec["level"] == nil {
		o.log.Warn("livekit-server: " + s)
		return
	}
	level, _ := rec["level"].(string)
	msg, _ := rec["msg"].(string)
	errText, _ := rec["error"].(string)
	var lvl slog.Level
	switch level {
	case "warn":
		lvl = slog.LevelWarn
	case "error", "dpanic", "panic", "fatal":
		lvl = slog.LevelError
	default:
		return // debug and info stay in the log file
	}
	if benign(msg, errText) {
		lvl = slog.LevelInfo
	}
	attrs := make([]slog.Attr, 0, len(rec))
	for k, v := range rec {
		switch k {
		case "level", "msg", "ts", "caller", "logger":
		case "error":
			attrs = append(attrs, slog.Any("err", v))
		default:
			attrs = append(attrs, slog.Any(k, v))
		}
	}
	slices.SortFunc(attrs, func(a, b slog.Attr) int { return strings.Compare(a.Key, b.Key) })
	o.log.LogAttrs(context.Background(), lvl, "livekit-server: "+msg, attrs...)
}

// benign reports whether a LiveKit warning is routine and not worth a warning of ours: every
// participant that leaves produces several "error reading data channel ... User Initiated Abort".
func benign(msg, errText string) bool {
	return msg == "error reading data channel" && strings.Contains(errText, "User Initiated Abort")
}

// Tail returns the last lines the child printed, oldest first.
func (o *output) Tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.tail, "\n")
}
