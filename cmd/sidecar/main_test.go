package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"rtk-sidecar/sfu"
	"rtk-sidecar/store/storetest"
)

// nonroot is the user of the sidecar's image (distroless' nonroot).
const nonroot = 65532

const (
	lkKey    = "prod-livekit-key"
	lkSecret = "prod-livekit-secret-0123456789-0123456789"
	apiKey   = "prod-api-key-0123456789"
	account  = "my-account"
	appID    = "7d1f0c62-2a8e-4d3b-b5c4-93f1e2d6a7b8"
)

// stateDir is where configs/production.yaml and docker-compose.yml keep the
// sidecar's state.
const stateDir = "/var/lib/rtk-sidecar"

// TestProductionStartsAsNonroot starts the sidecar binary as the image's user (uid 65532) with
// configs/production.yaml, its secrets from the environment only (API keys in SIDECAR_AUTH_KEYS),
// a real LiveKit and PostgreSQL, and its state in a fresh root-owned directory (what Docker
// gives a new named volume) prepared by the very command of docker-compose.yml's volume-init
// service. It becomes ready (its -check healthcheck on /readyz passes), creates its keys there,
// and the environment's key authenticates. Without the preparation it stops at its first
// key file, permission denied.
func TestProductionStartsAsNonroot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test starts the sidecar as uid 65532: run it as root (make test does)")
	}
	dsn := storetest.PostgresDSN(t)
	lkURL := startLiveKit(t)
	bin := buildSidecar(t)

	// A root-owned state directory and, mounted inside it, the recordings volume.
	state := filepath.Join(publicDir(t), "state")
	for _, d := range []string{state, filepath.Join(state, "recordings")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	unprepared := startProduction(t, bin, state, dsn, lkURL)
	if err := unprepared.wait(20 * time.Second); err == nil || !strings.Contains(unprepared.log(), "permission denied") {
		t.Fatalf("the sidecar in an unprepared directory: %v, want it stopped by permission denied:\n%s", err, unprepared.log())
	}

	script := volumeInitScript(t)
	out, err := exec.Command("sh", "-c", strings.ReplaceAll(script, stateDir, state)).CombinedOutput()
	if err != nil {
		t.Fatalf("volume-init's command: %v\n%s", err, out)
	}
	for dir, gid := range map[string]uint32{state: nonroot, filepath.Join(state, "recordings"): 0} {
		if st := statOf(t, dir); st.Uid != nonroot || st.Gid != gid {
			t.Fatalf("after volume-init, %s is owned by %d:%d, want %d:%d", dir, st.Uid, st.Gid, nonroot, gid)
		}
	}

	sc := startProduction(t, bin, state, dsn, lkURL)
	deadline := time.Now().Add(30 * time.Second)
	for {
		check := exec.Command(bin, "-check", sc.url+"/readyz")
		checkOut, err := check.CombinedOutput()
		if err == nil {
			break
		}
		if sc.exited() || time.Now().After(deadline) {
			t.Fatalf("the sidecar is not ready (%v: %s):\n%s", err, checkOut, sc.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, f := range []string{"participant-token.pem", "webhook-signing.pem"} {
		if st := statOf(t, filepath.Join(state, f)); st.Uid != nonroot {
			t.Errorf("%s is owned by uid %d, want %d", f, st.Uid, nonroot)
		}
	}
	for key, want := range map[string]int{apiKey: http.StatusOK, "another-key-0123456789": http.StatusUnauthorized} {
		req, _ := http.NewRequest("GET", sc.url+"/accounts/"+account+"/realtime/kit/"+appID+"/meetings", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET meetings with key %q = %d, want %d", key, res.StatusCode, want)
		}
	}
	if err := sc.stop(); err != nil {
		t.Errorf("the sidecar did not stop cleanly: %v\n%s", err, sc.log())
	}
}

// volumeInitScript returns the shell script of docker-compose.yml's volume-init service.
func volumeInitScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Command []string            `yaml:"command"`
			Volumes []string            `yaml:"volumes"`
			Depends map[string]struct{} `yaml:"depends_on"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatal(err)
	}
	init := compose.Services["volume-init"]
	if len(init.Command) != 3 || init.Command[0] != "sh" || init.Command[1] != "-c" {
		t.Fatalf("volume-init's command is %q, want [sh -c script]", init.Command)
	}
	for _, s := range []string{"sidecar", "egress"} {
		if _, ok := compose.Services[s].Depends["volume-init"]; !ok {
			t.Errorf("service %s does not wait for volume-init", s)
		}
	}
	return init.Command[2]
}

// publicDir returns a temporary directory that every user may enter (its parent, the test's
// temporary root, included).
func publicDir(t *testing.T) string {
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func statOf(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}

// buildSidecar builds this command into a directory nonroot can read, and returns its path.
func buildSidecar(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(publicDir(t), "sidecar")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startLiveKit runs the bundled livekit-server on free ports until the test ends and returns
// its URL.
func startLiveKit(t *testing.T) string {
	t.Helper()
	bin := sfu.DefaultBinary()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no livekit-server at %s (make sfu builds it; LIVEKIT_SERVER_BIN names another): %v", bin, err)
	}
	s := sfu.New(sfu.Options{Binary: bin, DataDir: t.TempDir(), APIKey: lkKey, APISecret: lkSecret,
		Port: freePort(t), TCPPort: freePort(t), UDPPort: freePort(t)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("livekit-server: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("livekit-server not ready after 30s")
	}
	return s.URL()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// production is a sidecar process started with configs/production.yaml.
type production struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu  sync.Mutex
	buf bytes.Buffer
}

func (p *production) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.Write(b)
}

func (p *production) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// startProduction starts bin as nonroot with configs/production.yaml, its state in state, and
// the secrets and addresses of the test in the environment; the process is killed when the test
// ends.
func startProduction(t *testing.T, bin, state, dsn, lkURL string) *production {
	t.Helper()
	conf, err := os.ReadFile("../../configs/production.yaml")
	if err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(filepath.Dir(bin), "production.yaml")
	if err := os.WriteFile(confPath, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte(apiKey))
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := &production{url: "http://" + addr, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "-config", confPath)
	p.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"SIDECAR_HTTP_ADDR=" + addr,
		"SIDECAR_STORE_DSN=" + dsn,
		`SIDECAR_AUTH_KEYS=[{"account_id": "` + account + `", "org_id": "my-org", "app_id": "` + appID +
			`", "app_name": "default", "secret_sha256": "` + hex.EncodeToString(hash[:]) + `"}]`,
		"SIDECAR_RECORDING_SIGNING_KEY=a-production-link-signing-key",
		"LIVEKIT_URL=" + lkURL, "LIVEKIT_API_KEY=" + lkKey, "LIVEKIT_API_SECRET=" + lkSecret,
		// production.yaml's paths under stateDir, under this test's state directory.
		"SIDECAR_AUTH_TOKEN_KEY_FILE=" + state + "/participant-token.pem",
		"SIDECAR_WEBHOOKS_SIGNING_KEY_FILE=" + state + "/webhook-signing.pem",
		"SIDECAR_RECORDING_OUTPUT_DIR=" + state + "/recordings",
	}
	for _, want := range []string{stateDir + "/participant-token.pem", stateDir + "/webhook-signing.pem", stateDir + "/recordings"} {
		if !strings.Contains(string(conf), want) {
			t.Fatalf("configs/production.yaml no longer has %s: change this test with it", want)
		}
	}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nonroot, Gid: nonroot}}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *production) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to timeout for the process to end by itself and returns how it ended.
func (p *production) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("still running after %s", timeout)
	}
}

// stop sends SIGTERM and waits for the process to end.
func (p *production) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	return p.wait(30 * time.Second)
}

// TestMakeRunSaysWhatItBuilds: make run announces each build it starts and roughly how long it
// takes, the bundled SFU's only when it is missing.
func TestMakeRunSaysWhatItBuilds(t *testing.T) {
	for _, tc := range []struct {
		sfu  string
		want []string
	}{
		{"bin/no-such-livekit-server", []string{"== building bin/sidecar and bin/rtkctl (the first time: ", "a few minutes",
			"== building the bundled SFU, livekit-server v1.13.5, into bin/no-such-livekit-server (once: a minute or two"}},
		{"Makefile", []string{"== building bin/sidecar"}}, // an SFU that exists is not built
	} {
		out, err := exec.Command("make", "-C", "../..", "-n", "run", "LIVEKIT_BIN="+tc.sfu).CombinedOutput()
		if err != nil {
			t.Fatalf("make -n run: %v\n%s", err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("make run (SFU %s) does not say %q:\n%s", tc.sfu, w, out)
			}
		}
		if built := strings.Contains(string(out), "building the bundled SFU"); built != (tc.sfu != "Makefile") {
			t.Errorf("make run with the SFU at %s announces its build: %v", tc.sfu, built)
		}
	}
}
