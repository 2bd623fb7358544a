package service

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"rtk-sidecar/cluster"
	"rtk-sidecar/configs"
	"rtk-sidecar/eventstream"
)

// leader runs work that one replica at a time must do (cluster.Leases;
// cluster.Local for a single replica).
type leader interface {
	Lead(ctx context.Context, name string, f func(context.Context) error) error
}

// replica is what the sidecar needs to run beside other replicas: a leader
// for timed work and, when replicated, the bus that carries the event
// streams' messages to the replica holding the stream.
type replica struct {
	node   string
	leader leader
	bus    *cluster.Bus                // nil: a single replica
	owners *cluster.Owners             // which replica runs each move; nil: a single replica
	rdb    redis.UniversalClient       // the cluster's Redis; nil: a single replica
	check  func(context.Context) error // Redis's health; nil without Redis
	close  func()
}

// newReplica connects to the cluster's Redis when the configuration has
// one (and fails when it does not answer), and otherwise returns a single
// replica that leads everything and relays nothing.
func newReplica(ctx context.Context, cfg *configs.Config, streams *eventstream.Hub, log *slog.Logger) (*replica, error) {
	node := cfg.Cluster.Node
	if node == "" {
		host, _ := os.Hostname()
		node = host + "-" + cluster.NodeID()[:6]
	}
	if !cfg.Cluster.Replicated() {
		return &replica{node: node, leader: cluster.Local{}, close: func() {}}, nil
	}
	opts, err := redis.ParseURL(cfg.Cluster.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("service: cluster.redis_url: %w", err)
	}
	rdb := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("service: cluster Redis at %s: %w", opts.Addr, err)
	}
	clog := log.With("component", "cluster", "node", node)
	bus := cluster.NewBus(rdb, node, clog)
	bus.Handle("streams", func(b []byte) { streams.Receive(b) })
	streams.SetRelay(bus.Topic("streams"))
	// Alive before any move is recorded as this replica's: a survivor must
	// not take over the moves of a replica that is starting.
	owners := cluster.NewOwners(rdb, node, cfg.Cluster.LeaseTTL, clog)
	if err := owners.Alive(pctx); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("service: cluster Redis at %s: %w", opts.Addr, err)
	}
	clog.Info("replica joined the cluster", "redis", opts.Addr, "lease_ttl", cfg.Cluster.LeaseTTL)
	return &replica{
		owners: owners,
		rdb:    rdb,
		node:   node,
		leader: cluster.NewLeases(rdb, node, clog, cluster.WithLeaseTTL(cfg.Cluster.LeaseTTL)),
		bus:    bus,
		check:  func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		close:  func() { _ = rdb.Close() },
	}, nil
}

// leading returns a worker that runs work while this replica holds lease
// name.
func leading(l leader, name string, work func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error { return l.Lead(ctx, name, work) }
}
