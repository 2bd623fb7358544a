// Command benchapi measures the REST API's throughput and latency: it starts
// sidecar processes of its own (bin/sidecar, LiveKit in external mode at an
// address where nothing listens: the routes measured never call it), loads
// them from 50 concurrent clients for a bounded time per phase, and prints
// one line per phase. The clients are lean HTTP/1.1 keep-alive connections
// (loadConn), since they share the machine's cores with the processes
// measured.
//
//	benchapi -sidecar bin/sidecar -duration 10s
//
// The runs, in order: one process on SQLite, one on PostgreSQL, and two
// processes on the same PostgreSQL database with requests alternated between
// them. Each run measures, in turn, POST .../meetings/{id}/participants
// (add-participant) and GET .../meetings/{id}. PostgreSQL runs use a schema
// of their own in the database -postgres names, dropped at the end.
//
// Each line also gives the CPU time the sidecar processes and PostgreSQL's
// processes spent per answer (from /proc): with two processes on two shared
// cores the throughput cannot double, but an unchanged cost per answer says
// that it would with a core per process.
//
// With -cpuprofile DIR, each process serves pprof (debug.pprof_addr) and a
// CPU profile of its add-participant phase is written to DIR.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	accountID = "bench-account"
	appID     = "0b3e5a5c-7d1f-4c4e-9b0a-5e6f7a8b9c0d"
	apiSecret = "bench-api-key-0123456789abcdef"
	preset    = "group_call_participant"
	meetings  = 10 // add-participant spreads its requests over this many meetings
)

type options struct {
	sidecar     string
	postgres    string
	runs        []string
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	cpuprofile  string
}

func main() {
	var o options
	var runs string
	flag.StringVar(&o.sidecar, "sidecar", "bin/sidecar", "the sidecar binary to start")
	flag.StringVar(&o.postgres, "postgres", envOr("RTK_TEST_POSTGRES_DSN", "postgres://root@127.0.0.1:5432/test?sslmode=disable"),
		"the PostgreSQL database (a schema of its own is created in it and dropped)")
	flag.StringVar(&runs, "runs", "sqlite,postgres,postgres-2", "the runs, in order: sqlite, postgres, postgres-2 (two processes)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each phase is measured")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "load before each phase that is not measured")
	flag.IntVar(&o.concurrency, "concurrency", 50, "concurrent clients")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "a directory for CPU profiles of the sidecars' add-participant phase")
	flag.Parse()
	o.runs = strings.Split(runs, ",")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := bench(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "benchapi:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func bench(ctx context.Context, o options) error {
	fmt.Printf("BENCH api: concurrency %d, %s per phase after %s of warm-up, %s\n", o.concurrency, o.duration, o.warmup, o.sidecar)
	fmt.Printf("%-12s %-16s %10s %9s %9s %9s %7s %11s %11s\n", "run", "request", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "sidecar CPU", "db CPU")
	for _, run := range o.runs {
		if err := benchRun(ctx, o, run); err != nil {
			return fmt.Errorf("run %s: %w", run, err)
		}
	}
	return nil
}

func benchRun(ctx context.Context, o options, run string) error {
	dir, err := os.MkdirTemp("", "benchapi-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var dsn string
	replicas := 1
	switch run {
	case "sqlite":
		dsn = "sqlite:" + filepath.Join(dir, "rtk.db")
	case "postgres", "postgres-2":
		if run == "postgres-2" {
			replicas = 2
		}
		schema := "benchapi_" + randHex(6)
		drop, err := createSchema(ctx, o.postgres, schema)
		if err != nil {
			return err
		}
		defer drop()
		dsn, err = withSearchPath(o.postgres, schema)
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown run %q (sqlite, postgres, postgres-2)", run)
	}

	var procs []*sidecarProc
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	for i := range replicas {
		p, err := startSidecar(ctx, o, dir, fmt.Sprintf("%s-%d", run, i), dsn)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	bases := make([]string, len(procs))
	for i, p := range procs {
		bases[i] = p.base
	}
	c := &client{http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency * 2}, Timeout: 30 * time.Second}, bases: bases}

	ids := make([]string, meetings)
	for i := range ids {
		if ids[i], err = c.createMeeting(ctx, fmt.Sprintf("bench %d", i)); err != nil {
			return err
		}
	}

	// Each worker has a keep-alive connection to each process (loadConn),
	// and formats its requests into buffers of its own.
	workers := make([]*worker, o.concurrency)
	for i := range workers {
		workers[i] = &worker{}
		for _, b := range bases {
			workers[i].conns = append(workers[i].conns, newLoadConn(b))
		}
	}
	addPaths := make([]string, len(ids))
	getPaths := make([]string, len(ids))
	for i, id := range ids {
		getPaths[i] = c.path("/meetings/" + id)
		addPaths[i] = getPaths[i] + "/participants"
	}
	var seq atomic.Int64
	add := func(ctx context.Context, w int) error {
		n := seq.Add(1)
		wk := workers[w]
		b := append(wk.body[:0], `{"custom_participant_id":"bench-`...)
		b = strconv.AppendInt(b, n, 10)
		b = append(b, `","preset_name":"`+preset+`","name":"Bench `...)
		b = strconv.AppendInt(b, n, 10)
		wk.body = append(b, `"}`...)
		return wk.do(int(n), http.MethodPost, addPaths[int(n)%len(ids)], wk.body, http.StatusCreated)
	}
	get := func(ctx context.Context, w int) error {
		n := seq.Add(1)
		return workers[w].do(int(n), http.MethodGet, getPaths[int(n)%len(ids)], nil, http.StatusOK)
	}

	var profiles []func() error
	if o.cpuprofile != "" {
		for _, p := range procs {
			profiles = append(profiles, p.profile(ctx, filepath.Join(o.cpuprofile, p.name+".pprof"), o.duration))
		}
	}
	// The CPU time the sidecar processes and PostgreSQL spend per answer:
	// what each request costs them, whatever else shares the cores.
	cpu := func() (sc, db time.Duration) {
		for _, p := range procs {
			if c, _, err := procCPU(p.cmd.Process.Pid); err == nil {
				sc += c
			}
		}
		if run != "sqlite" {
			db = commCPU("postgres")
		}
		return sc, db
	}
	r, err := load(ctx, o, add, profiles, cpu)
	if err != nil {
		return err
	}
	r.print(run, "add-participant")
	r, err = load(ctx, o, get, nil, cpu)
	if err != nil {
		return err
	}
	r.print(run, "GET meeting")
	for _, wk := range workers {
		for _, l := range wk.conns {
			l.close()
		}
	}
	return nil
}

// load runs fn from o.concurrency workers: o.warmup unmeasured, then
// o.duration measured. profiles, each started when the measured part begins,
// are waited for at its end. cpu, read as the measured part begins and
// ends, gives the CPU time used so far by the processes measured.
func load(ctx context.Context, o options, fn func(context.Context, int) error, profiles []func() error,
	cpu func() (sidecar, db time.Duration)) (result, error) {
	var measuring atomic.Bool
	var wg sync.WaitGroup
	lat := make([][]time.Duration, o.concurrency)
	errs := make([]int, o.concurrency)
	var firstErr atomic.Value
	stop := make(chan struct{})
	for w := range o.concurrency {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				err := fn(ctx, w)
				took := time.Since(start)
				if !measuring.Load() {
					continue
				}
				if err != nil {
					errs[w]++
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				lat[w] = append(lat[w], took)
			}
		})
	}
	time.Sleep(o.warmup) // a fixed warm-up: the load itself is what is waited for
	perr := make(chan error, len(profiles))
	for _, p := range profiles {
		go func() { perr <- p() }()
	}
	sc0, db0 := cpu()
	measuring.Store(true)
	began := time.Now()
	time.Sleep(o.duration)
	measuring.Store(false)
	elapsed := time.Since(began)
	sc1, db1 := cpu()
	close(stop)
	wg.Wait()
	for range profiles {
		if err := <-perr; err != nil {
			return result{}, err
		}
	}

	var r result
	for w := range lat {
		r.lat = append(r.lat, lat[w]...)
		r.errors += errs[w]
	}
	r.elapsed = elapsed
	r.sidecarCPU, r.dbCPU = sc1-sc0, db1-db0
	if e, ok := firstErr.Load().(error); ok {
		r.firstErr = e
	}
	return r, nil
}

type result struct {
	lat        []time.Duration
	errors     int
	elapsed    time.Duration
	firstErr   error
	sidecarCPU time.Duration // CPU time of the sidecar processes over elapsed
	dbCPU      time.Duration // of PostgreSQL's processes; 0 on SQLite
}

// quantile returns the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func (r result) print(run, what string) {
	slices.Sort(r.lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	var top time.Duration
	if len(r.lat) > 0 {
		top = r.lat[len(r.lat)-1]
	}
	perReq := func(d time.Duration) string {
		if len(r.lat) == 0 || d <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.3f ms/req", ms(d)/float64(len(r.lat)))
	}
	fmt.Printf("%-12s %-16s %10.0f %9.1f %9.1f %9.1f %7d %11s %11s\n", run, what,
		float64(len(r.lat))/r.elapsed.Seconds(), ms(quantile(r.lat, 0.5)), ms(quantile(r.lat, 0.99)), ms(top), r.errors,
		perReq(r.sidecarCPU), perReq(r.dbCPU))
	if r.firstErr != nil {
		fmt.Printf("    first error: %v\n", r.firstErr)
	}
}

// ---- the sidecar processes ----

type sidecarProc struct {
	name  string
	base  string // http://addr
	pprof string // host:port, or ""
	cmd   *exec.Cmd
	done  chan error
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func startSidecar(ctx context.Context, o options, dir, name, dsn string) (*sidecarProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// LiveKit: nothing listens there. The routes measured do not call it;
	// the background workers that do log their failures and go on.
	lk, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &sidecarProc{name: name, base: "http://" + addr, done: make(chan error, 1)}
	debug := ""
	if o.cpuprofile != "" {
		if p.pprof, err = freeAddr(); err != nil {
			return nil, err
		}
		debug = fmt.Sprintf("debug:\n  pprof_addr: %s\n", p.pprof)
	}
	data := filepath.Join(dir, "shared") // both replicas share the keys, as a deployment would
	cfg := fmt.Sprintf(`http:
  addr: %s
log:
  level: info
store:
  dsn: %q
auth:
  token_key_file: %s
  keys:
    - account_id: %s
      org_id: bench-org
      app_id: %s
      app_name: bench
      secret: %s
livekit:
  mode: external
  url: http://%s
  api_key: benchkey
  api_secret: bench-secret-0123456789abcdef0123456789
recording:
  output_dir: %s
webhooks:
  signing_key_file: %s
%s`, addr, dsn, filepath.Join(data, "participant-token.pem"), accountID, appID, apiSecret, lk,
		filepath.Join(data, "recordings"), filepath.Join(data, "webhook-signing.pem"), debug)
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	p.cmd = exec.CommandContext(ctx, o.sidecar, "-config", path)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { p.done <- p.cmd.Wait(); logf.Close() }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(p.base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case err := <-p.done:
			log, _ := os.ReadFile(filepath.Join(dir, name+".log"))
			return nil, fmt.Errorf("sidecar %s exited: %v\n%s", name, err, log)
		case <-time.After(50 * time.Millisecond): // polling its health: there is nothing to wait on
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("sidecar %s not healthy after 60s", name)
		}
	}
}

// profile returns a function that takes a CPU profile of the process for d
// and writes it to path.
func (p *sidecarProc) profile(ctx context.Context, path string, d time.Duration) func() error {
	return func() error {
		u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.pprof, max(1, int(d.Seconds())))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("profile %s: %w", p.name, err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("profile %s: %s", p.name, res.Status)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		return os.WriteFile(path, b, 0o644)
	}
}

func (p *sidecarProc) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd.Process = nil
}

// ---- PostgreSQL ----

func createSchema(ctx context.Context, dsn, schema string) (drop func(), err error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(dctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			fmt.Fprintln(os.Stderr, "benchapi: drop schema:", err)
		}
		conn.Close(dctx)
	}, nil
}

// withSearchPath returns dsn with the schema as its search_path.
func withSearchPath(dsn, schema string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("postgres DSN: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- the REST client ----

type client struct {
	http  *http.Client
	bases []string // the replicas: request n goes to bases[n % len]
}

func (c *client) url(n int, path string) string {
	return c.bases[n%len(c.bases)] + c.path(path)
}

// path is the path of an app's endpoint.
func (c *client) path(p string) string {
	return "/accounts/" + accountID + "/realtime/kit/" + appID + p
}

// worker is one load client: its connections, one per process, and its
// request body's buffer.
type worker struct {
	conns []*loadConn
	body  []byte
}

// do sends request n to process n % len(conns) and checks its status.
func (wk *worker) do(n int, method, path string, body []byte, want int) error {
	status, b, err := wk.conns[n%len(wk.conns)].do(method, path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status != want {
		return fmt.Errorf("%s %s: %d: %s", method, path, status, bytes.TrimSpace(b))
	}
	return nil
}

func (c *client) createMeeting(ctx context.Context, title string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(0, "/meetings"), strings.NewReader(fmt.Sprintf(`{"title":%q}`, title)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+apiSecret)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out struct {
		Success bool `json:"success"`
		Data    struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("create meeting: %s: %w", res.Status, err)
	}
	if !out.Success || out.Data.ID == "" {
		return "", errors.New("create meeting: " + res.Status)
	}
	return out.Data.ID, nil
}
