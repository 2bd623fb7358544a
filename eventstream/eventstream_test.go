package eventstream

import (
	"fmt"
	"testing"
)

func recv(t *testing.T, s *Sub) Message {
	t.Helper()
	select {
	case m := <-s.C():
		return m
	default:
		t.Fatal("no message")
		return Message{}
	}
}

func TestSendReachesEveryStreamOfTheIdentity(t *testing.T) {
	h := NewHub()
	a1, a2, b := h.Subscribe("a"), h.Subscribe("a"), h.Subscribe("b")
	if n := h.Send("a", Message{Event: "rtk.move", ID: "m1", Data: []byte(`{"x":1}`)}); n != 2 {
		t.Fatalf("Send reached %d streams, want 2", n)
	}
	for _, s := range []*Sub{a1, a2} {
		if m := recv(t, s); m.Event != "rtk.move" || m.ID != "m1" || string(m.Data) != `{"x":1}` {
			t.Errorf("got %+v", m)
		}
	}
	select {
	case m := <-b.C():
		t.Errorf("b got %+v", m)
	default:
	}
	if n := h.Send("nobody", Message{Event: "x"}); n != 0 {
		t.Errorf("Send to an identity without streams reached %d", n)
	}
}

func TestClosedStreamGetsNothing(t *testing.T) {
	h := NewHub()
	s := h.Subscribe("a")
	s.Close()
	s.Close() // idempotent
	<-s.Done()
	if n := h.Send("a", Message{Event: "x"}); n != 0 {
		t.Errorf("Send after Close reached %d streams", n)
	}
	if h.Open("a") != 0 {
		t.Errorf("Open = %d after Close", h.Open("a"))
	}
}

func TestSlowStreamIsClosedNotBlocking(t *testing.T) {
	h := NewHub()
	slow := h.Subscribe("a")
	for i := range buffered {
		if n := h.Send("a", Message{Event: "x", ID: fmt.Sprint(i)}); n != 1 {
			t.Fatalf("message %d reached %d streams", i, n)
		}
	}
	fresh := h.Subscribe("a")
	// The slow stream is full: this Send must close it, not wait, and still
	// reach the other stream.
	if n := h.Send("a", Message{Event: "x", ID: "overflow"}); n != 1 {
		t.Fatalf("overflowing Send reached %d streams, want 1", n)
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("the full stream is still open")
	}
	if m := recv(t, fresh); m.ID != "overflow" {
		t.Errorf("fresh got %+v", m)
	}
	// What the slow stream had buffered is still readable, in order.
	if m := recv(t, slow); m.ID != "0" {
		t.Errorf("slow's first message is %+v", m)
	}
	if h.Open("a") != 1 {
		t.Errorf("Open = %d, want 1", h.Open("a"))
	}
}

func TestBroadcastReachesTheGroupOnly(t *testing.T) {
	h := NewHub()
	a, b, other, none := h.Subscribe("a", "fam1"), h.Subscribe("b", "fam1"), h.Subscribe("c", "fam2"), h.Subscribe("d")
	if n := h.Broadcast("fam1", Message{Event: "rtk.connected_meetings", Data: []byte(`{"v":1}`)}); n != 2 {
		t.Fatalf("Broadcast reached %d streams, want 2", n)
	}
	for _, s := range []*Sub{a, b} {
		if m := recv(t, s); m.Event != "rtk.connected_meetings" || string(m.Data) != `{"v":1}` {
			t.Errorf("got %+v", m)
		}
	}
	for _, s := range []*Sub{other, none} {
		select {
		case m := <-s.C():
			t.Errorf("%s got %+v", s.identity, m)
		default:
		}
	}
	// A stream in a group still gets what is sent to its identity.
	if n := h.Send("a", Message{Event: "rtk.move"}); n != 1 {
		t.Errorf("Send reached %d", n)
	}
	if m := recv(t, a); m.Event != "rtk.move" {
		t.Errorf("got %+v", m)
	}
	a.Close()
	if n := h.Broadcast("fam1", Message{Event: "x"}); n != 1 {
		t.Errorf("Broadcast after a Close reached %d streams, want 1", n)
	}
	b.Close()
	if len(h.groups) != 1 { // only fam2 is left
		t.Errorf("groups left: %v", h.groups)
	}
}

func TestSlowStreamInAGroupIsClosed(t *testing.T) {
	h := NewHub()
	slow := h.Subscribe("a", "fam")
	for range buffered {
		h.Broadcast("fam", Message{Event: "x"})
	}
	fresh := h.Subscribe("b", "fam")
	if n := h.Broadcast("fam", Message{Event: "x", ID: "overflow"}); n != 1 {
		t.Fatalf("overflowing Broadcast reached %d streams, want 1", n)
	}
	select {
	case <-slow.Done():
	default:
		t.Fatal("the full stream is still open")
	}
	if m := recv(t, fresh); m.ID != "overflow" {
		t.Errorf("fresh got %+v", m)
	}
	if h.Open("a") != 0 || h.Broadcast("fam", Message{Event: "y"}) != 1 {
		t.Error("the closed stream is still registered")
	}
}

func TestTotalCountsOpenStreams(t *testing.T) {
	h := NewHub()
	a1, _, _ := h.Subscribe("a", "g"), h.Subscribe("a"), h.Subscribe("b", "g")
	if n := h.Total(); n != 3 {
		t.Fatalf("Total = %d, want 3", n)
	}
	a1.Close()
	if n := h.Total(); n != 2 {
		t.Fatalf("Total after a close = %d, want 2", n)
	}
}

// pipe is a Relay that hands each payload to other hubs, as the cluster's
// bus does between replicas.
type pipe struct{ to []*Hub }

func (p pipe) Publish(b []byte) {
	for _, h := range p.to {
		h.Receive(b)
	}
}

func TestRelayReachesStreamsOnOtherReplicas(t *testing.T) {
	a, b := NewHub(), NewHub()
	a.SetRelay(pipe{to: []*Hub{b}})
	b.SetRelay(pipe{to: []*Hub{a}})
	onB := b.Subscribe("p1", "family")
	onA := a.Subscribe("p2", "family")

	if n := a.Send("p1", Message{Event: "rtk.move", ID: "m1", Data: []byte("{\"x\":1}\n")}); n != 0 {
		t.Fatalf("Send counted %d local streams; p1's is on the other replica", n)
	}
	got := <-onB.C()
	if got.Event != "rtk.move" || got.ID != "m1" || string(got.Data) != "{\"x\":1}\n" {
		t.Fatalf("relayed message = %+v", got)
	}
	b.Broadcast("family", Message{Event: "ev", Data: []byte(`{}`)})
	for _, s := range []*Sub{onA, onB} {
		if m := <-s.C(); m.Event != "ev" {
			t.Fatalf("broadcast reached %s as %+v", s.identity, m)
		}
	}
	select {
	case m := <-onB.C():
		t.Fatalf("a second copy on the sending replica: %+v", m)
	default:
	}
	if n := b.Receive([]byte("not json")); n != 0 {
		t.Fatalf("Receive of a bad payload delivered to %d streams", n)
	}
}
