//go:build e2e

package e2e

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"rtk-sidecar/configs"
	"rtk-sidecar/rtkclient"
	"rtk-sidecar/webhooks"
)

// hookSink is a customer's webhook receiver: it takes the public key from
// the sidecar's /.well-known/webhooks.json, verifies every rtk-signature,
// and keeps each delivery once (by rtk-uuid), before it answers 2xx: a
// delivery the outbox records as delivered is in bodies.
type hookSink struct {
	t   *testing.T
	srv *httptest.Server
	pub *rsa.PublicKey

	mu     sync.Mutex
	order  []string
	bodies map[string]map[string]any
	bad    int // requests whose signature did not verify
	broken int // requests whose body could not be read (answered 503)
}

func newHookSink(t *testing.T, sc *Sidecar) *hookSink {
	t.Helper()
	var wk struct {
		PublicKey string `json:"publicKey"`
	}
	if st := sc.Call(t, "GET", "/.well-known/webhooks.json", "-", nil, &wk); st != 200 {
		t.Fatalf("well-known: status %d", st)
	}
	pub, err := webhooks.ParsePublicKey(wk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	h := &hookSink{t: t, pub: pub, bodies: map[string]map[string]any{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			// The sender went away mid-request (a replica killed while sending): nothing
			// arrived, and a sender that is still there must try again.
			h.mu.Lock()
			h.broken++
			h.mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if err := webhooks.Verify(h.pub, body, r.Header.Get("rtk-signature")); err != nil {
			h.mu.Lock()
			h.bad++
			h.mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id := r.Header.Get("rtk-uuid")
		var b map[string]any
		_ = json.Unmarshal(body, &b)
		h.mu.Lock()
		if _, dup := h.bodies[id]; !dup {
			h.order = append(h.order, id)
			h.bodies[id] = b
		}
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// find returns the first delivered event named event about participant
// (any participant when ""), or nil.
func (h *hookSink) find(event, participant string) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range h.order {
		b := h.bodies[id]
		if b["event"] != event {
			continue
		}
		p, _ := b["participant"].(map[string]any)
		if participant == "" || (p != nil && p["participantId"] == participant) {
			return b
		}
	}
	return nil
}

func (h *hookSink) names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, id := range h.order {
		out = append(out, fmt.Sprint(h.bodies[id]["event"]))
	}
	return out
}

// dataClient is a participant that speaks the polls protocol over LiveKit
// data: it keeps every rtk.poll message it receives.
type dataClient struct {
	room *lksdk.Room
	mu   sync.Mutex
	msgs []map[string]any
	gone chan struct{}
	once sync.Once
}

func connectData(t *testing.T, sc *Sidecar, token string) *dataClient {
	t.Helper()
	j := sc.Join(t, token)
	c := &dataClient{gone: make(chan struct{})}
	cb := lksdk.NewRoomCallback()
	cb.OnDataPacket = func(p lksdk.DataPacket, _ lksdk.DataReceiveParams) {
		u, ok := p.(*lksdk.UserDataPacket)
		if !ok || u.Topic != "rtk.poll" {
			return
		}
		var m map[string]any
		if json.Unmarshal(u.Payload, &m) == nil {
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}
	cb.OnDisconnected = func() { c.once.Do(func() { close(c.gone) }) }
	c.room = lksdk.NewRoom(cb)
	if err := c.room.JoinWithToken(j.URL, j.Token, lksdk.WithAutoSubscribe(false)); err != nil {
		t.Fatalf("join %s: %v", j.Room, err)
	}
	t.Cleanup(c.room.Disconnect)
	return c
}

// message returns the first received message of type typ about poll.
func (c *dataClient) message(typ, poll string) map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		if m["type"] != typ {
			continue
		}
		if p, ok := m["poll"].(map[string]any); ok && p["id"] == poll {
			return m
		}
		if m["pollId"] == poll {
			return m
		}
	}
	return nil
}

// vote sends a vote to the sidecar's polls agent.
func (c *dataClient) vote(poll string, option int) error {
	b, _ := json.Marshal(map[string]any{"v": 1, "type": "poll.vote", "pollId": poll, "option": option})
	return c.room.LocalParticipant.PublishDataPacket(&lksdk.UserDataPacket{Payload: b, Topic: "rtk.poll"},
		lksdk.WithDataPublishReliable(true), lksdk.WithDataPublishDestination([]string{"rtk-agent"}))
}

// askShipIt creates the poll "Ship it?" (Yes, No) in meeting's active session through sc, waits
// until c hears of it, and returns its id.
func askShipIt(t *testing.T, sc *Sidecar, meeting string, c *dataClient) string {
	t.Helper()
	var created struct {
		Poll struct {
			ID string `json:"id"`
		} `json:"poll"`
	}
	if st := sc.Call(t, "POST", sc.AppPath+"/meetings/"+meeting+"/active-session/poll", "",
		map[string]any{"question": "Ship it?", "options": []string{"Yes", "No"}}, &created); st != 201 {
		t.Fatalf("create poll: status %d", st)
	}
	eventually(t, 10*time.Second, func() string {
		if c.message("poll.created", created.Poll.ID) == nil {
			return "the guest did not hear of the poll"
		}
		return ""
	})
	return created.Poll.ID
}

// voteYes votes for the first option of poll as c (participant voter), again every second
// until the agent answers (a vote sent before the agent listened is lost), and checks the
// poll.updated it sends: one vote, the voter's.
func voteYes(t *testing.T, c *dataClient, poll, voter string) {
	t.Helper()
	lastVote := time.Time{}
	eventually(t, 15*time.Second, func() string {
		if m := c.message("poll.updated", poll); m != nil {
			return ""
		}
		if e := c.message("poll.error", poll); e != nil && e["code"] != "already_voted" {
			t.Fatalf("vote refused: %v", e)
		}
		if time.Since(lastVote) > time.Second {
			if err := c.vote(poll, 0); err != nil {
				return "vote: " + err.Error()
			}
			lastVote = time.Now()
		}
		return "no poll.updated yet"
	})
	updated := c.message("poll.updated", poll)["poll"].(map[string]any)
	yes := updated["options"].([]any)[0].(map[string]any)
	if yes["count"].(float64) != 1 || !slices.Contains(anyStrings(updated["voted"]), voter) {
		t.Errorf("results = %v", updated)
	}
}

type sessionJSON struct {
	ID               string  `json:"id"`
	AssociatedID     string  `json:"associated_id"`
	Status           string  `json:"status"`
	LiveParticipants int     `json:"live_participants"`
	EndedReason      *string `json:"ended_reason"`
}

// waitLive waits until meeting's active session is LIVE with n participants in it, and
// returns it.
func waitLive(t *testing.T, sc *Sidecar, meeting string, n int) sessionJSON {
	t.Helper()
	var active sessionJSON
	eventually(t, 10*time.Second, func() string {
		if st := sc.Call(t, "GET", sc.AppPath+"/meetings/"+meeting+"/active-session", "", nil, &active); st != 200 {
			return fmt.Sprintf("meeting %s: active session: status %d, want LIVE with %d", short(meeting), st, n)
		}
		if active.Status != "LIVE" || active.LiveParticipants != n {
			return fmt.Sprintf("meeting %s: active session %+v, want LIVE with %d", short(meeting), active, n)
		}
		return ""
	})
	return active
}

// TestSessionsEndToEnd: the real SFU posts real webhooks to the real
// sidecar; sessions, RealtimeKit's signed webhooks, polls voted over LiveKit
// data by a real participant, and kick, all end to end.
func TestSessionsEndToEnd(t *testing.T) {
	sc := StartSidecar(t, func(c *configs.Config) {
		c.Webhooks.MinBackoff, c.Webhooks.MaxBackoff = 100*time.Millisecond, time.Second
		c.Webhooks.PollInterval = 100 * time.Millisecond
		c.Webhooks.Timeout, c.Webhooks.Lease = 2*time.Second, 5*time.Second
	})
	sink := newHookSink(t, sc)
	sc.Must(t, "POST", sc.AppPath+"/webhooks", map[string]any{"name": "e2e", "url": sink.srv.URL,
		"events": []string{"meeting.started", "meeting.ended", "meeting.participantJoined", "meeting.participantLeft"}}, nil)

	meeting := sc.CreateMeeting(t, "E2E sessions")
	hostID, hostTok := sc.AddParticipant(t, meeting, "host", "group_call_host")
	guestID, guestTok := sc.AddParticipant(t, meeting, "guest", "group_call_participant")

	// The host joins: the session is LIVE with the host in it, and the
	// customer hears of it, signed.
	host := sc.Connect(t, hostTok)
	active := waitLive(t, sc, meeting, 1)
	var parts struct {
		Participants []struct {
			UserID              string `json:"user_id"`
			CustomParticipantID string `json:"custom_participant_id"`
		} `json:"participants"`
	}
	sc.Must(t, "GET", sc.AppPath+"/sessions/"+active.ID+"/participants", nil, &parts)
	if len(parts.Participants) != 1 || parts.Participants[0].UserID != hostID || parts.Participants[0].CustomParticipantID != "host" {
		t.Fatalf("session participants = %+v", parts.Participants)
	}
	eventually(t, 10*time.Second, func() string {
		if sink.find("meeting.participantJoined", hostID) == nil || sink.find("meeting.started", "") == nil {
			return fmt.Sprintf("webhooks so far: %v", sink.names())
		}
		return ""
	})
	joined := sink.find("meeting.participantJoined", hostID)
	if m := joined["meeting"].(map[string]any); m["id"] != meeting || m["sessionId"] != active.ID {
		t.Errorf("participantJoined meeting block = %v", m)
	}

	// A poll, voted by a real participant over LiveKit data.
	guest := connectData(t, sc, guestTok)
	eventually(t, 10*time.Second, func() string {
		sc.Must(t, "GET", sc.AppPath+"/meetings/"+meeting+"/active-session", nil, &active)
		if active.LiveParticipants != 2 {
			return fmt.Sprintf("live participants %d", active.LiveParticipants)
		}
		return ""
	})
	pollID := askShipIt(t, sc, meeting, guest)
	voteYes(t, guest, pollID, guestID)
	var listed struct {
		Polls []struct {
			Options []struct {
				Count int `json:"count"`
				Votes []struct {
					ID string `json:"id"`
				} `json:"votes"`
			} `json:"options"`
		} `json:"polls"`
	}
	sc.Must(t, "GET", sc.AppPath+"/sessions/"+active.ID+"/polls", nil, &listed)
	if len(listed.Polls) != 1 || listed.Polls[0].Options[0].Count != 1 || listed.Polls[0].Options[0].Votes[0].ID != guestID {
		t.Errorf("stored poll = %+v", listed.Polls)
	}
	// The polls agent is in the room, hidden: no session participant.
	if agent, err := sc.Rooms.GetParticipant(t.Context(), &livekit.RoomParticipantIdentity{Room: meeting, Identity: "rtk-agent"}); err != nil ||
		!agent.Permission.Hidden {
		t.Errorf("polls agent in LiveKit: %v, %v", agent, err)
	}

	// Kick the guest.
	var kicked struct {
		Participants []struct{ ID string } `json:"participants"`
	}
	sc.Must(t, "POST", sc.AppPath+"/meetings/"+meeting+"/active-session/kick", map[string]any{"custom_participant_ids": []string{"guest"}}, &kicked)
	if len(kicked.Participants) != 1 || kicked.Participants[0].ID != guestID {
		t.Errorf("kicked = %+v", kicked)
	}
	select {
	case <-guest.gone:
	case <-time.After(10 * time.Second):
		t.Error("the kicked guest is still connected")
	}
	eventually(t, 10*time.Second, func() string {
		left := sink.find("meeting.participantLeft", guestID)
		if left == nil {
			return fmt.Sprintf("no participantLeft for the guest; webhooks: %v", sink.names())
		}
		if r := left["participant"].(map[string]any)["leaveReason"]; r != "KICKED" {
			return fmt.Sprintf("guest's leave reason %v", r)
		}
		return ""
	})

	// The host leaves.
	host.Close()
	eventually(t, 15*time.Second, func() string {
		left := sink.find("meeting.participantLeft", hostID)
		if left == nil {
			return fmt.Sprintf("no participantLeft for the host; webhooks: %v", sink.names())
		}
		if r := left["participant"].(map[string]any)["leaveReason"]; r != "LEFT" {
			return fmt.Sprintf("host's leave reason %v", r)
		}
		return ""
	})

	// End the meeting through the API.
	var all struct {
		Count int `json:"kicked_participants_count"`
	}
	sc.Must(t, "POST", sc.AppPath+"/meetings/"+meeting+"/active-session/kick-all", nil, &all)
	eventually(t, 10*time.Second, func() string {
		ended := sink.find("meeting.ended", "")
		if ended == nil {
			return fmt.Sprintf("no meeting.ended; webhooks: %v", sink.names())
		}
		if ended["reason"] != "HOST_ENDED_MEETING" {
			return fmt.Sprintf("meeting.ended reason %v", ended["reason"])
		}
		return ""
	})
	var s struct {
		Session sessionJSON `json:"session"`
	}
	sc.Must(t, "GET", sc.AppPath+"/sessions/"+active.ID, nil, &s)
	if s.Session.Status != "ENDED" || s.Session.EndedReason == nil || *s.Session.EndedReason != "HOST_ENDED_MEETING" {
		t.Errorf("session after kick-all = %+v", s.Session)
	}
	sink.mu.Lock()
	bad := sink.bad
	sink.mu.Unlock()
	if bad != 0 {
		t.Errorf("%d webhooks failed signature verification", bad)
	}
	if names := strings.Join(sink.names(), " "); strings.Count(names, "meeting.started") != 1 || strings.Count(names, "meeting.ended") != 1 {
		t.Errorf("webhooks = %s", names)
	}
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// TestMovesInWebhooks: a customer's webhook receiver sees moves between a
// meeting and its breakout room as moves, for a make-before-break client
// (rtkclient's default: the join in the destination comes first) and for a
// break-before-make one (the leave comes first): participantJoined with
// movedFromMeetingId in the destination, participantLeft MOVED with
// movedToMeetingId in the source, there and back.
func TestMovesInWebhooks(t *testing.T) {
	sc := StartSidecar(t)
	sink := newHookSink(t, sc)
	sc.Must(t, "POST", sc.AppPath+"/webhooks", map[string]any{"name": "e2e", "url": sink.srv.URL,
		"events": []string{"meeting.participantJoined", "meeting.participantLeft"}}, nil)
	parent := sc.CreateMeeting(t, "Moves in webhooks")
	fam := &bkFamily{sc: sc, parent: parent, base: sc.AppPath + "/meetings/" + parent + "/connected-meetings"}
	st := fam.admin(t, 201, "POST", "", map[string]any{"version": 0, "count": 1})
	room := st.Meetings[0].ID

	mbb := newBenchClient(t, sc, parent, "mbb", true)
	naive := newBenchClient(t, sc, parent, "naive", true, rtkclient.WithBreakBeforeMake())
	for _, c := range []*benchClient{mbb, naive} {
		c.join(t, parent)
	}

	// moved finds, among the webhooks delivered after skip, the participant's
	// participantJoined in to and participantLeft in from, both marked as a
	// move between them.
	moved := func(c *benchClient, from, to string, skip int) string {
		var joined, left bool
		var delivered []map[string]any
		sink.mu.Lock()
		for _, id := range sink.order[skip:] {
			delivered = append(delivered, sink.bodies[id])
		}
		sink.mu.Unlock()
		for _, b := range delivered {
			p, _ := b["participant"].(map[string]any)
			m, _ := b["meeting"].(map[string]any)
			if p == nil || m == nil || p["participantId"] != c.id {
				continue
			}
			switch {
			case b["event"] == "meeting.participantJoined" && m["id"] == to:
				if p["movedFromMeetingId"] != from {
					return fmt.Sprintf("%s joined %s without movedFromMeetingId %s: %v", c.name, short(to), short(from), p)
				}
				joined = true
			case b["event"] == "meeting.participantLeft" && m["id"] == from:
				if p["leaveReason"] != "MOVED" || p["movedToMeetingId"] != to {
					return fmt.Sprintf("%s left %s as %v to %v, want MOVED to %s", c.name, short(from), p["leaveReason"], p["movedToMeetingId"], short(to))
				}
				left = true
			}
		}
		if !joined || !left {
			return fmt.Sprintf("%s: joined %v, left %v; webhooks: %v", c.name, joined, left, sink.names())
		}
		return ""
	}
	for _, leg := range []struct{ from, to string }{{parent, room}, {room, parent}} {
		sink.mu.Lock()
		skip := len(sink.order)
		sink.mu.Unlock()
		for _, c := range []*benchClient{mbb, naive} {
			fam.move(t, c.id, leg.from, leg.to)
			c.waitIn(t, leg.to)
		}
		for _, c := range []*benchClient{mbb, naive} {
			eventually(t, 10*time.Second, func() string { return moved(c, leg.from, leg.to, skip) })
		}
	}
}

// TestUnpublishOverLiveKit: rtkclient's Unpublish removes the track from
// the real SFU; the other track stays.
func TestUnpublishOverLiveKit(t *testing.T) {
	sc := StartSidecar(t)
	meeting := sc.CreateMeeting(t, "Unpublish")
	c := newBenchClient(t, sc, meeting, "ada", true) // publishes a fed microphone
	cam, err := c.c.Publish(rtkclient.Camera(videoWidth, videoHeight))
	if err != nil {
		t.Fatal(err)
	}
	feed(t, cam, vp8KeyFrame, videoFrameInterval, nil) // LiveKit lists a track once its media flows
	c.join(t, meeting)
	tracks := func() []string {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := sc.Rooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: meeting, Identity: c.id})
		if err != nil {
			return []string{err.Error()}
		}
		var names []string
		for _, tr := range p.Tracks {
			names = append(names, tr.Name)
		}
		slices.Sort(names)
		return names
	}
	eventually(t, 10*time.Second, func() string {
		if got := tracks(); fmt.Sprint(got) != "[camera microphone]" {
			return fmt.Sprintf("LiveKit lists %v", got)
		}
		return ""
	})
	if err := c.c.Unpublish(cam); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		if got := tracks(); fmt.Sprint(got) != "[microphone]" {
			return fmt.Sprintf("after Unpublish, LiveKit lists %v", got)
		}
		return ""
	})
}
