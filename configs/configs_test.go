package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const minimal = `
auth:
  keys:
    - {account_id: acc, org_id: org, app_id: app-1, secret: "0123456789abcdef"}
livekit:
  api_key: k
  api_secret: 0123456789abcdef0123456789abcdef
`

func TestDevConfigLoads(t *testing.T) {
	c, err := Load("dev.yaml")
	if err != nil {
		t.Fatalf("Load(dev.yaml): %v", err)
	}
	if c.LiveKit.Mode != ModeEmbedded || c.LiveKit.Embedded.Port != 7880 || len(c.Auth.Keys) != 1 {
		t.Fatalf("dev.yaml decoded to %+v", c)
	}
}

func TestProductionConfigLoadsWithEnv(t *testing.T) {
	t.Setenv("LIVEKIT_API_KEY", "prod-key")
	t.Setenv("LIVEKIT_API_SECRET", "prod-secret")
	t.Setenv("SIDECAR_STORE_DSN", "postgres://u@db:5432/x")
	c, err := Load("production.yaml")
	if err != nil {
		t.Fatalf("Load(production.yaml): %v", err)
	}
	if c.LiveKit.APIKey != "prod-key" || c.Store.DSN != "postgres://u@db:5432/x" || c.LiveKit.Mode != ModeExternal {
		t.Fatalf("env did not override: %+v", c)
	}
}

func TestDefaultsFillMissingKeys(t *testing.T) {
	c, err := Load(writeFile(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:8080" || c.HTTP.ShutdownTimeout != 10*time.Second || c.Auth.TokenTTL != 2400*time.Hour {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if got := c.LiveKit.Embedded.BindAddresses; len(got) != 1 || got[0] != "127.0.0.1" {
		t.Fatalf("bind addresses = %v", got)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	t.Setenv("SIDECAR_HTTP_ADDR", "127.0.0.1:9999")
	t.Setenv("SIDECAR_HTTP_SHUTDOWN_TIMEOUT", "3s")
	t.Setenv("SIDECAR_LIVEKIT_EMBEDDED_PORT", "17880")
	t.Setenv("LIVEKIT_API_KEY", "from-livekit-env")
	c, err := Load(writeFile(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:9999" || c.HTTP.ShutdownTimeout != 3*time.Second || c.LiveKit.Embedded.Port != 17880 {
		t.Fatalf("env overrides lost: %+v", c.HTTP)
	}
	if c.LiveKit.APIKey != "from-livekit-env" {
		t.Fatalf("LIVEKIT_API_KEY ignored: %q", c.LiveKit.APIKey)
	}
}

func TestLoadRejects(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"unknown top-level key", minimal + "bogus: 1\n", "bogus"},
		{"unknown nested key", minimal + "http:\n  adress: x\n", "adress"},
		{"no api keys", "livekit: {api_key: k, api_secret: 0123456789abcdef0123456789abcdef}\n", "auth.keys needs at least one"},
		{"short LiveKit secret in embedded mode", strings.Replace(minimal, "0123456789abcdef0123456789abcdef", "short", 1), "at least 32"},
		{"bad mode", minimal + "  mode: cloud\n", "livekit.mode"},
		{"external without url", minimal + "  mode: external\n", "livekit.url is required"},
		{"bad log level", minimal + "log: {level: loud}\n", "log.level"},
		{"key without secret", `
auth: {keys: [{account_id: a, app_id: b}]}
livekit: {api_key: k, api_secret: 0123456789abcdef0123456789abcdef}
`, "needs secret or secret_sha256"},
		{"bad sha", `
auth: {keys: [{account_id: a, app_id: b, secret_sha256: xyz}]}
livekit: {api_key: k, api_secret: 0123456789abcdef0123456789abcdef}
`, "64 hex digits"},
		{"not yaml", "{{{", "read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.body))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Config{Log: Log{Level: "x", Format: "y"}, LiveKit: LiveKit{Mode: "z"}}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted an empty config")
	}
	for _, want := range []string{"http.addr", "log.level", "log.format", "store.dsn", "auth.keys", "livekit.mode"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}
