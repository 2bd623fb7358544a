package rtkclient

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"rtk-sidecar/protocol"
)

// Listener is a hidden, receive-only connection of a client to another
// room of its meeting family (ListenIn). The room does not see it.
type Listener struct {
	c    *Client
	conn conn
	once sync.Once
}

// ListenIn connects to the room of meeting meetingID, hidden and
// receive-only, while the client stays where it is: a host hears a
// breakout room without leaving its own (POST
// /client/v1/connected-meetings/listen; the participant's preset needs
// can_alter_connected_meetings, and the rooms must be running). What it
// receives counts in Received(meetingID, ...). Close the Listener to leave;
// Close of the client closes it too.
func (c *Client) ListenIn(ctx context.Context, meetingID string) (*Listener, error) {
	var t protocol.ListenTicket
	if err := c.do(ctx, http.MethodPost, "/client/v1/connected-meetings/listen", protocol.ListenRequest{MeetingID: meetingID}, &t); err != nil {
		return nil, err
	}
	c.resetStats(t.Room)
	l := &Listener{c: c}
	h := connHandlers{
		rpc:          func(string) string { return `{"v":1,"accepted":false}` }, // moves are for the client's own connection
		data:         func(string, []byte) {},
		packet:       c.recordPacket,
		disconnected: func(string) {},
		roomMoved:    func(string) {},
	}
	ctx, cancel := context.WithTimeout(ctx, c.connectTimeout)
	defer cancel()
	cn, err := c.connector.connect(ctx, t.URL, t.Token, h)
	if err != nil {
		return nil, fmt.Errorf("rtkclient: listen in to %s: %w", meetingID, err)
	}
	l.conn = cn
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cn.disconnect()
		return nil, ErrClosed
	}
	c.listeners[l] = struct{}{}
	c.mu.Unlock()
	return l, nil
}

// Room is the LiveKit room the listener hears (the meeting id).
func (l *Listener) Room() string { return l.conn.room() }

// Close leaves the room. It may be called more than once.
func (l *Listener) Close() {
	l.once.Do(func() {
		l.c.mu.Lock()
		delete(l.c.listeners, l)
		l.c.mu.Unlock()
		l.conn.disconnect()
	})
}
