package rtkclient

import (
	"context"
	"net/http"
	"slices"
	"time"

	"rtk-sidecar/protocol"
)

// Prepared connections (docs/protocol.md §5). While the family is idle and
// the client is assigned to a breakout room it is not in, it holds a hidden
// connection to that room, asked for with POST
// /client/v1/connected-meetings/prepare, with its tracks published there
// with their mute state and fed nothing, and subscribed to its room-mates'
// tracks. The start then only reveals that connection: the client feeds
// its tracks there and leaves the source, with no join, no publication, no
// unmute and no subscription on the start's critical path. A move whose
// instruction is not marked prepared closes a prepared connection to its
// destination first (the join would replace it anyway), and a client never
// holds one for a room it is in.

// reprepareAfter is how long after losing its prepared connection (the
// server closed the room, say) the client asks for a new one.
const reprepareAfter = 2 * time.Second

// Prepared is the room of the client's prepared connection, connected and
// not yet revealed, or "".
func (c *Client) Prepared() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prep == nil {
		return ""
	}
	return c.prepRoom
}

// prepareTarget is the room the client should hold a prepared connection
// to by the newest state: "" unless the family is idle and the client is
// assigned to a breakout room other than the one it is in. keep reports
// that the state says nothing either way (the rooms run or close: a
// prepared connection is kept for the move that reveals it). Called with
// c.mu held.
func (c *Client) prepareTarget() (room string, keep bool) {
	s := c.lastState
	if s == nil || c.identity == "" || c.cur == nil {
		return "", true
	}
	if s.Status != "idle" {
		return "", true
	}
	for _, m := range s.Meetings {
		if slices.Contains(m.AssignedParticipantIDs, c.identity) && m.ID != c.cur.conn.room() {
			return m.ID, false
		}
	}
	return "", false
}

// considerPrepare opens, replaces or closes the prepared connection as the
// newest state asks. One prepare runs at a time; it looks again when done.
func (c *Client) considerPrepare() {
	if c.noPrepare {
		return
	}
	c.mu.Lock()
	if c.closed || c.prepBusy != nil {
		c.mu.Unlock()
		return
	}
	want, keep := c.prepareTarget()
	if !keep && c.prep != nil && c.prepRoom != want {
		// Closed off the caller's goroutine, which may be a LiveKit callback.
		stale := c.prep
		c.prep, c.prepRoom = nil, ""
		c.wg.Go(func() { c.closeConn(stale) })
	}
	if want != "" && c.prep == nil {
		c.prepRoom = want
		c.prepBusy = make(chan struct{})
		c.wg.Go(func() { c.prepare(want) })
	}
	c.mu.Unlock()
}

// prepare asks for a prepared connection to room and connects it.
func (c *Client) prepare(room string) {
	rc := c.dialPrepared(room)
	c.mu.Lock()
	busy := c.prepBusy
	c.prepBusy = nil
	want, keep := c.prepareTarget()
	ok := rc != nil && !c.closed && (keep || want == room)
	if ok {
		c.prep = rc
	} else {
		c.prepRoom = ""
	}
	c.mu.Unlock()
	close(busy)
	if rc != nil && !ok {
		c.closeConn(rc)
	}
	if rc != nil || !keep && want != room {
		// The state changed meanwhile. (A refusal for the room still
		// wanted is not asked again until the next state.)
		c.considerPrepare()
	}
}

func (c *Client) dialPrepared(room string) *roomConn {
	ctx, cancel := context.WithTimeout(c.ctx, c.connectTimeout)
	defer cancel()
	var t protocol.PrepareTicket
	if err := c.do(ctx, http.MethodPost, "/client/v1/connected-meetings/prepare", nil, &t); err != nil {
		c.log.Debug("prepare a connection", "room", room, "err", err)
		return nil
	}
	if t.Room != room {
		c.log.Debug("prepare a connection: the assignment changed", "room", room, "ticket", t.Room)
		return nil
	}
	rc, err := c.open(ctx, t.URL, t.Token, t.Room, true)
	if err != nil {
		c.log.Debug("prepare a connection", "room", room, "err", err)
		return nil
	}
	c.prepublish(rc)
	return rc
}

// prepublish publishes the client's tracks on the prepared connection rc,
// with their mute state and fed nothing, so that the start only feeds them:
// the room hears nothing of them before (docs/protocol.md §5), and the SFU
// forwards their first packets at once (an unmute would have to reach it
// first).
func (c *Client) prepublish(rc *roomConn) {
	for _, t := range c.trackList() {
		if !rc.claim(t) {
			continue
		}
		s, err := rc.conn.publish(t.opts)
		if err != nil {
			rc.unclaim(t)
			c.log.Debug("prepare a connection: publish", "room", rc.conn.room(), "track", t.opts.Name, "err", err)
			continue
		}
		s.SetMuted(t.Muted())
		rc.mu.Lock()
		if rc.pending == nil {
			rc.pending = map[*Track]sink{}
		}
		rc.pending[t] = s
		rc.mu.Unlock()
	}
}

// adoptPending feeds the publications made on rc while it was hidden, muted
// as their tracks are now; those of tracks unpublished meanwhile go.
func (c *Client) adoptPending(rc *roomConn) {
	rc.mu.Lock()
	pending := rc.pending
	rc.pending = nil
	rc.mu.Unlock()
	for t, s := range pending {
		c.feed(rc, t, s, t.adopt)
	}
}

// reprepare looks again, after reprepareAfter, once the prepared
// connection was lost.
func (c *Client) reprepare() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.noPrepare {
		return
	}
	c.wg.Go(func() {
		t := time.NewTimer(reprepareAfter)
		defer t.Stop()
		select {
		case <-t.C:
			c.considerPrepare()
		case <-c.ctx.Done():
		}
	})
}

// takePrepared returns the prepared connection for the move of in, revealed
// and registered, if in says the server revealed it and the client holds it
// (a prepare under way is waited for). A prepared connection to the
// destination that in does not reveal is closed, so that the move's join
// does not race with it; it returns nil then, and the caller joins.
func (c *Client) takePrepared(in protocol.MoveInstruction) *roomConn {
	c.mu.Lock()
	busy := c.prepBusy
	c.mu.Unlock()
	if busy != nil {
		select {
		case <-busy:
		case <-c.ctx.Done():
			return nil
		}
	}
	c.mu.Lock()
	rc := c.prep
	if rc == nil || c.prepRoom != in.LiveKit.Room {
		c.mu.Unlock()
		return nil
	}
	c.prep, c.prepRoom = nil, ""
	if !in.Prepared || rc.isClosed() {
		c.mu.Unlock()
		c.closeConn(rc)
		return nil
	}
	rc.mu.Lock()
	rc.hidden = false
	rc.mu.Unlock()
	c.conns[rc] = struct{}{}
	c.mu.Unlock()
	c.adoptPending(rc)
	return rc
}
