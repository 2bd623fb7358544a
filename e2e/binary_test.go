//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"rtk-sidecar/sfu"
)

// TestBinaryRunsAndStopsCleanly runs what `make run` runs: the sidecar
// binary with configs/dev.yaml (ports and paths moved by SIDECAR_*
// variables, which also proves the environment overrides the file). It
// checks that the sidecar serves with the dev credentials, that its bundled
// SFU is its child, and that SIGTERM stops both: the API drains, the SFU
// child exits, and the sidecar exits 0.
func TestBinaryRunsAndStopsCleanly(t *testing.T) {
	lk := sfu.DefaultBinary()
	if _, err := os.Stat(lk); err != nil {
		skipOrFail(t, "livekit-server binary not found at "+lk)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sidecar")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sidecar")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	apiPort, _, _ := freePorts(t)
	lkPort, tcpPort, udpPort := freePorts(t)
	cmd := exec.Command(bin, "-config", filepath.Join(root, "configs", "dev.yaml"))
	cmd.Dir = dir // dev.yaml's relative paths (data/...) land in the temp dir
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("SIDECAR_HTTP_ADDR=127.0.0.1:%d", apiPort),
		fmt.Sprintf("SIDECAR_HTTP_PUBLIC_URL=http://127.0.0.1:%d", apiPort),
		"SIDECAR_LIVEKIT_EMBEDDED_BINARY="+lk,
		fmt.Sprintf("SIDECAR_LIVEKIT_EMBEDDED_PORT=%d", lkPort),
		fmt.Sprintf("SIDECAR_LIVEKIT_EMBEDDED_TCP_PORT=%d", tcpPort),
		fmt.Sprintf("SIDECAR_LIVEKIT_EMBEDDED_UDP_PORT=%d", udpPort),
	)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("sidecar output:\n%s", logs.String())
		}
	})

	base := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	eventually(t, 60*time.Second, func() string {
		select {
		case err := <-exited:
			t.Fatalf("the sidecar exited during its start: %v", err)
		default:
		}
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return err.Error()
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Sprintf("readyz %d", res.StatusCode)
		}
		return ""
	})

	// The dev credentials of the README work.
	req, _ := http.NewRequest("POST", base+"/accounts/dev-account/realtime/kit/4a3f2c1e-7b6d-4e5f-9a8b-0c1d2e3f4a5b/meetings",
		strings.NewReader(`{"title":"from the README"}`))
	req.Header.Set("Authorization", "Bearer dev-api-key-0123456789abcdef")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create meeting with the dev key: %d", res.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "rtk-sidecar.db")); err != nil {
		t.Fatalf("the SQLite store is not where dev.yaml puts it: %v", err)
	}

	children := childrenOf(t, cmd.Process.Pid)
	if len(children) != 1 {
		t.Fatalf("the sidecar has children %v, want exactly the SFU", children)
	}
	sfuPID := children[0]
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", sfuPID)); !strings.HasPrefix(string(comm), "livekit") {
		t.Fatalf("the sidecar's child is %q, not livekit-server", comm)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("sidecar exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sidecar did not stop within 30s of SIGTERM")
	}
	// The SFU child was stopped and reaped by the sidecar, not orphaned.
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", sfuPID)); err == nil {
		state, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", sfuPID))
		t.Fatalf("the SFU (pid %d) outlived the sidecar: %s", sfuPID, state)
	}
	for _, want := range []string{"API stopped", "sidecar stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say %q", want)
		}
	}
}

// childrenOf lists the child processes of pid.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(field); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}
