package rtkclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"rtk-sidecar/protocol"
)

// WithoutEventStream keeps the client off the sidecar's event stream
// (docs/protocol.md §4): move instructions and the family's events then
// reach it through LiveKit only. Tests and benchmarks of the LiveKit paths use it.
func WithoutEventStream() Option { return func(c *Client) { c.noStream = true } }

// Stream reconnect delays: the first retry, and the cap of the doubling.
const (
	streamRetryMin = 250 * time.Millisecond
	streamRetryMax = 5 * time.Second
)

// startStreamLocked starts the event stream once, after a successful join.
func (c *Client) startStreamLocked() {
	if c.noStream || c.streaming || c.closed {
		return
	}
	c.streaming = true
	c.wg.Add(1)
	go c.streamLoop()
}

// streamLoop keeps the event stream open until Close: it reconnects after
// a drop, backing off while the sidecar cannot be reached. A sidecar
// without streams (404) or a refused token ends it; LiveKit still carries
// every instruction.
func (c *Client) streamLoop() {
	defer c.wg.Done()
	wait := streamRetryMin
	for {
		opened := time.Now()
		err := c.readStream(c.ctx)
		if c.ctx.Err() != nil {
			return
		}
		var ae *APIError
		if errors.As(err, &ae) && ae.Status < 500 {
			c.log.Info("no event stream; instructions come through LiveKit only", "err", err)
			return
		}
		if time.Since(opened) > streamRetryMax {
			wait = streamRetryMin // it was up for a while: reconnect at once
		}
		c.log.Debug("event stream dropped; reconnecting", "err", err, "in", wait)
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, streamRetryMax)
	}
}

// maxEvent bounds one event of the stream.
const maxEvent = 1 << 20

// readStream reads the event stream until it ends. Move instructions go
// to onInstruction and the family's events to onEvent, which drop the
// copies LiveKit also delivers.
func (c *Client) readStream(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/client/v1/events"), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		return apiError(resp.StatusCode, raw)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 4096), maxEvent)
	var event string
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "":
			switch event {
			case protocol.MoveMethod:
				c.onInstruction([]byte(data.String()), "stream")
			case protocol.EventsTopic:
				c.onEvent([]byte(data.String()))
			}
			event = ""
			data.Reset()
		case field == "": // a comment
		case field == "event":
			event = value
		case field == "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(value)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("rtkclient: event stream: %w", err)
	}
	return errors.New("rtkclient: event stream ended")
}
