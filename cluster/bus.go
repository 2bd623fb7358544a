package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// busQueue is how many messages Publish holds for the publisher before it
// drops one. Messages are event-stream events and move instructions: small,
// and each is also sent over LiveKit.
const busQueue = 4096

// Bus carries messages between replicas over Redis pub/sub, one channel per
// topic. A message reaches the handlers of its topic on every other replica
// that is subscribed when Redis passes it on, in the order this replica
// published it; not the publishing replica (it delivers locally itself), and
// not a replica that is down or reconnecting then (pub/sub keeps nothing).
// Whatever must not be lost goes through the store, not the bus.
type Bus struct {
	rdb    redis.UniversalClient
	node   string
	prefix string
	log    *slog.Logger

	q chan envelope

	mu       sync.RWMutex
	handlers map[string]func([]byte)
	dropped  int
}

type envelope struct {
	Node    string          `json:"n"`
	Topic   string          `json:"-"`
	Payload json.RawMessage `json:"p"`
}

// NewBus returns a Bus over rdb for node (the same name its Leases use). It
// starts nothing; call Handle for every topic, then Run.
func NewBus(rdb redis.UniversalClient, node string, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bus{rdb: rdb, node: node, prefix: "rtk:bus:", log: log, q: make(chan envelope, busQueue),
		handlers: map[string]func([]byte){}}
}

// Handle has f receive the messages other replicas publish on topic. It
// must be called before Run; f is called on the bus's one receiving
// goroutine, in order, and must not block.
func (b *Bus) Handle(topic string, f func(payload []byte)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers[topic] = f
}

// Publish queues payload, which must be JSON, for the other replicas. It
// never blocks: when the queue is full (Redis unreachable) the message is
// dropped and logged.
func (b *Bus) Publish(topic string, payload []byte) {
	select {
	case b.q <- envelope{Node: b.node, Topic: topic, Payload: payload}:
	default:
		b.mu.Lock()
		b.dropped++
		n := b.dropped
		b.mu.Unlock()
		b.log.Warn("cluster: bus queue full; message dropped", "topic", topic, "dropped", n)
	}
}

// Topic returns a publisher bound to topic.
func (b *Bus) Topic(topic string) Publisher { return Publisher{b: b, topic: topic} }

// Publisher publishes on one topic of a Bus.
type Publisher struct {
	b     *Bus
	topic string
}

// Publish queues payload for the other replicas (Bus.Publish).
func (p Publisher) Publish(payload []byte) { p.b.Publish(p.topic, payload) }

// Run subscribes to the handled topics and publishes the queued messages
// until ctx ends. It returns an error only if the first subscription
// fails; later outages of Redis are logged and retried by the client.
func (b *Bus) Run(ctx context.Context) error {
	b.mu.RLock()
	channels := make([]string, 0, len(b.handlers))
	for t := range b.handlers {
		channels = append(channels, b.prefix+t)
	}
	b.mu.RUnlock()

	var wg sync.WaitGroup
	defer wg.Wait()
	if len(channels) > 0 {
		sub := b.rdb.Subscribe(ctx, channels...)
		if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
			_ = sub.Close()
			return fmt.Errorf("cluster: subscribe %v: %w", channels, err)
		}
		wg.Go(func() { b.receive(ctx, sub) })
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-b.q:
			b.send(ctx, e)
		}
	}
}

func (b *Bus) send(ctx context.Context, e envelope) {
	msg, err := json.Marshal(e)
	if err != nil {
		b.log.Error("cluster: bus message is not JSON", "topic", e.Topic, "err", err)
		return
	}
	for attempt := 0; ; attempt++ {
		err := b.rdb.Publish(ctx, b.prefix+e.Topic, msg).Err()
		if err == nil || ctx.Err() != nil {
			return
		}
		if attempt == 2 {
			b.log.Warn("cluster: publish failed; message dropped", "topic", e.Topic, "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (b *Bus) receive(ctx context.Context, sub *redis.PubSub) {
	defer sub.Close()
	ch := sub.Channel(redis.WithChannelSize(busQueue))
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			var e envelope
			if err := json.Unmarshal([]byte(m.Payload), &e); err != nil {
				b.log.Warn("cluster: bad bus message", "channel", m.Channel, "err", err)
				continue
			}
			if e.Node == b.node {
				continue
			}
			b.mu.RLock()
			f := b.handlers[m.Channel[len(b.prefix):]]
			b.mu.RUnlock()
			if f != nil {
				f(e.Payload)
			}
		}
	}
}
