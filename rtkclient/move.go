package rtkclient

import (
	"encoding/json"
	"fmt"
	"time"

	"rtk-sidecar/protocol"
)

type moveStatus int

const (
	moveQueued moveStatus = iota + 1
	moveRunning
	moveDone
)

type moveRequest struct {
	in       protocol.MoveInstruction
	via      string
	received time.Time
}

// onInstruction takes a move instruction from the RPC or the data topic and
// queues it, unless its move is queued, running or done already (a failed
// move may be tried again). It reports whether the instruction is valid.
// It never blocks: the RPC answer must go out at once, over the source
// connection that the move will close.
func (c *Client) onInstruction(payload []byte, via string) bool {
	var in protocol.MoveInstruction
	if err := json.Unmarshal(payload, &in); err != nil || in.MoveID == "" || in.LiveKit.URL == "" || in.LiveKit.Token == "" {
		c.log.Warn("ignoring a bad move instruction", "via", via, "err", err)
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.moves[in.MoveID] != 0 {
		return true
	}
	c.moves[in.MoveID] = moveQueued
	c.queue = append(c.queue, moveRequest{in: in, via: via, received: time.Now()})
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// moveLoop performs queued moves one at a time until Close.
func (c *Client) moveLoop() {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.mu.Unlock()
			select {
			case <-c.wake:
				continue
			case <-c.ctx.Done():
				return
			}
		}
		req := c.queue[0]
		c.queue = c.queue[1:]
		c.moves[req.in.MoveID] = moveRunning
		c.mu.Unlock()

		rep := c.move(req)

		c.mu.Lock()
		if rep.Err != nil {
			delete(c.moves, req.in.MoveID) // a repeated instruction tries again
		} else {
			c.moves[req.in.MoveID] = moveDone
		}
		c.mu.Unlock()
		if rep.Err != nil {
			c.log.Warn("move failed", "move", rep.MoveID, "to", rep.To, "err", rep.Err)
		}
		emit(c, c.h.MoveDone, rep)
	}
}

// move follows one instruction. Make-before-break (docs/protocol.md §4):
// join the destination (or switch to the prepared connection there, which
// the server revealed, §5), publish the same tracks there (muted ones muted),
// switch (the tracks stop feeding the source: the participant is heard in
// the destination only), then leave the source once the destination is
// audible (every unmuted audio track there delivers RTP) or after the
// maximum overlap, and not before the instruction's KeepSourceMs.
// With WithBreakBeforeMake it leaves first.
func (c *Client) move(req moveRequest) MoveReport {
	in := req.in
	rep := MoveReport{MoveID: in.MoveID, Via: req.via, To: in.LiveKit.Room, Received: req.received}
	c.mu.Lock()
	src, self := c.cur, c.identity
	c.mu.Unlock()
	if src != nil {
		rep.From = src.conn.room()
		if rep.From == in.LiveKit.Room && !src.isClosed() {
			return rep // there already
		}
	}
	if self == "" {
		self = in.ParticipantID
	}
	if c.firstSeen(protocol.EventChangingMeeting, self, in.MoveID) {
		emit(c, c.h.ChangingMeeting, ChangingMeeting{ParticipantID: self,
			FromMeetingID: in.FromMeetingID, ToMeetingID: in.ToMeetingID, MoveID: in.MoveID})
	}

	if c.naive && src != nil {
		c.closeConn(src)
		rep.Left = time.Now()
	}
	dst := c.takePrepared(in)
	if dst == nil {
		var err error
		if dst, err = c.open(c.ctx, in.LiveKit.URL, in.LiveKit.Token, in.LiveKit.Room, false); err != nil {
			rep.Err = err
			return rep
		}
	} else {
		rep.Prepared = true
	}
	rep.Joined = time.Now()
	if dst.conn.room() != in.LiveKit.Room {
		c.closeConn(dst)
		rep.Err = fmt.Errorf("rtkclient: move token joined room %q, not %q", dst.conn.room(), in.LiveKit.Room)
		return rep
	}
	if err := c.publishAll(dst); err != nil {
		// The move goes on: a track the destination refuses stays unpublished there.
		c.log.Warn("move: publish in the destination", "room", in.LiveKit.Room, "err", err)
	}
	rep.Published = time.Now()

	meeting := in.Meeting
	if meeting.ID == "" {
		meeting.ID = in.ToMeetingID
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		rep.Err = ErrClosed
		return rep
	}
	c.cur = dst
	c.identity = dst.conn.identity()
	c.meeting = meeting
	c.announced = meeting.ID
	self = c.identity
	c.mu.Unlock()
	if c.firstSeen(protocol.EventMeetingChanged, self, in.MoveID) {
		emit(c, c.h.MeetingChanged, MeetingChanged{ParticipantID: self, Meeting: meeting, MoveID: in.MoveID})
	}

	if !c.naive && src != nil {
		// The participant is in the destination now: the source stops
		// hearing it at once, while it still hears the source until the
		// destination is audible; it keeps the connection, unheard, as
		// long as the instruction asks.
		switched := time.Now()
		c.unfeed(src)
		c.waitAudible(dst)
		c.keepSource(switched.Add(time.Duration(in.KeepSourceMs) * time.Millisecond))
		c.closeConn(src)
		rep.Left = time.Now()
	}
	return rep
}

// keepSource waits until until, or until a newer instruction is queued or
// the client closes, whichever comes first (docs/protocol.md §4: a newer
// move ends the wait at once).
func (c *Client) keepSource(until time.Time) {
	if !time.Now().Before(until) {
		return
	}
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	for {
		c.mu.Lock()
		queued := len(c.queue) > 0
		c.mu.Unlock()
		if queued {
			return
		}
		select {
		case <-t.C:
			return
		case <-c.ctx.Done():
			return
		case <-c.wake: // moveLoop looks at the queue itself afterwards
		}
	}
}

// settle is how long the client keeps the source once the destination is
// audible: a few packet intervals, so that it still receives the source
// after the destination's first packets (and an application can cross-fade).
const settle = 100 * time.Millisecond

// waitAudible waits until this client receives RTP from every remote
// identity that publishes unmuted audio in rc, then for settle, for at most
// the maximum overlap in all. Only then may the source go: the client hears
// the destination before it stops hearing the source.
func (c *Client) waitAudible(rc *roomConn) {
	deadline := time.NewTimer(c.maxOverlap)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var settled <-chan time.Time
	for {
		if settled == nil && c.audible(rc) {
			t := time.NewTimer(settle)
			defer t.Stop()
			settled = t.C
		}
		select {
		case <-settled:
			return
		case <-tick.C:
		case <-deadline.C:
			if settled == nil {
				c.log.Debug("move: destination not audible within the maximum overlap", "room", rc.conn.room())
			}
			return
		case <-c.ctx.Done():
			return
		}
	}
}

func (c *Client) audible(rc *roomConn) bool {
	room := rc.conn.room()
	for _, id := range rc.conn.audible() {
		if c.Received(room, id, Audio).Packets == 0 {
			return false
		}
	}
	return true
}
