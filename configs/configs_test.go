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

func TestEmbeddedLogComponents(t *testing.T) {
	c, err := Load(writeFile(t, minimal+"  embedded:\n    log_components: {transport: debug}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.LiveKit.Embedded.LogComponents; len(got) != 1 || got["transport"] != "debug" {
		t.Fatalf("log_components = %v", got)
	}
	if c, err = Load(writeFile(t, minimal)); err != nil || len(c.LiveKit.Embedded.LogComponents) != 0 {
		t.Fatalf("default log_components = %v (%v)", c.LiveKit.Embedded.LogComponents, err)
	}
}

func TestEmbeddedDebugPort(t *testing.T) {
	c, err := Load(writeFile(t, minimal))
	if err != nil || c.LiveKit.Embedded.DebugPort != 0 {
		t.Fatalf("default debug_port = %d (%v), want 0 (off)", c.LiveKit.Embedded.DebugPort, err)
	}
	c, err = Load(writeFile(t, minimal+"  embedded:\n    debug_port: 7883\n"))
	if err != nil || c.LiveKit.Embedded.DebugPort != 7883 {
		t.Fatalf("debug_port = %d (%v), want 7883", c.LiveKit.Embedded.DebugPort, err)
	}
	for _, bad := range []struct{ port, want string }{{"-1", "debug_port -1 is not a port"}, {"7881", "debug_port 7881 is taken"}} {
		_, err := Load(writeFile(t, minimal+"  embedded:\n    debug_port: "+bad.port+"\n"))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("debug_port %s: error %v, want %q", bad.port, err, bad.want)
		}
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

func TestRecordingConfig(t *testing.T) {
	c, err := Load(writeFile(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Recording
	if r.Backend != RecordingLocal || r.OutputDir != "data/recordings" || r.URLExpiry != 24*time.Hour ||
		r.SigningKey != "" || r.PublicURL != "" || r.EgressAudioOnly {
		t.Fatalf("recording defaults: %+v", r)
	}

	t.Run("file and env", func(t *testing.T) {
		t.Setenv("SIDECAR_RECORDING_SIGNING_KEY", "0123456789abcdef-key")
		t.Setenv("SIDECAR_RECORDING_URL_EXPIRY", "2h")
		c, err := Load(writeFile(t, minimal+"recording: {output_dir: /tmp/rec, public_url: https://rtk.example}\n"))
		if err != nil {
			t.Fatal(err)
		}
		r := c.Recording
		if r.SigningKey != "0123456789abcdef-key" || r.URLExpiry != 2*time.Hour || r.OutputDir != "/tmp/rec" || r.PublicURL != "https://rtk.example" {
			t.Fatalf("recording from file and env: %+v", r)
		}
	})

	prod := "  mode: external\n  url: ws://lk:7880\nrecording: {backend: egress, egress_audio_only: true}\n"
	if c, err = Load(writeFile(t, minimal+prod)); err != nil {
		t.Fatalf("egress with external LiveKit: %v", err)
	} else if c.Recording.Backend != RecordingEgress || !c.Recording.EgressAudioOnly {
		t.Fatalf("egress config: %+v", c.Recording)
	}

	for _, tc := range []struct{ name, body, want string }{
		{"bad backend", "recording: {backend: s3}\n", "recording.backend"},
		{"egress needs external LiveKit", "recording: {backend: egress}\n", "needs livekit.mode external"},
		{"empty output dir", "recording: {output_dir: \"\"}\n", "recording.output_dir"},
		{"short expiry", "recording: {url_expiry: 10s}\n", "recording.url_expiry"},
		{"short key", "recording: {signing_key: short}\n", "recording.signing_key"},
		{"bad public url", "recording: {public_url: ftp://x}\n", "recording.public_url"},
		{"unknown key", "recording: {bucket: x}\n", "bucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, minimal+tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestDefaultIsTheDefaults(t *testing.T) {
	c := Default()
	if c.HTTP.Addr != "127.0.0.1:8080" || c.LiveKit.Mode != ModeEmbedded || c.LiveKit.Embedded.Port != 7880 {
		t.Fatalf("Default() = %+v", c)
	}
	c.Auth.Keys = []APIKey{{AccountID: "a", AppID: "b", Secret: "0123456789abcdef"}}
	c.LiveKit.APIKey, c.LiveKit.APISecret = "k", "0123456789abcdef0123456789abcdef"
	if err := c.Validate(); err != nil {
		t.Fatalf("the defaults plus keys do not validate: %v", err)
	}
}

func TestWebhooksAndSessionsConfig(t *testing.T) {
	c, err := Load(writeFile(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Webhooks
	if w.SigningKeyFile != "data/webhook-signing.pem" || w.Timeout != 10*time.Second || w.Lease != 30*time.Second ||
		w.MaxAttempts != 10 || w.MaxAge != 24*time.Hour || w.MinBackoff != time.Second || w.MaxBackoff != 10*time.Minute ||
		w.Workers != 4 || w.PollInterval != time.Second {
		t.Fatalf("webhooks defaults: %+v", w)
	}
	if s := c.Sessions; s.ReconcileInterval != 30*time.Second || s.EventRetention != 7*24*time.Hour {
		t.Fatalf("sessions defaults: %+v", s)
	}

	t.Run("file and env", func(t *testing.T) {
		t.Setenv("SIDECAR_WEBHOOKS_MAX_ATTEMPTS", "3")
		t.Setenv("SIDECAR_SESSIONS_RECONCILE_INTERVAL", "5s")
		c, err := Load(writeFile(t, minimal+"webhooks: {signing_key_file: /k.pem, timeout: 2s, lease: 5s}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if w := c.Webhooks; w.SigningKeyFile != "/k.pem" || w.Timeout != 2*time.Second || w.Lease != 5*time.Second || w.MaxAttempts != 3 {
			t.Fatalf("webhooks from file and env: %+v", w)
		}
		if c.Sessions.ReconcileInterval != 5*time.Second {
			t.Fatalf("sessions from env: %+v", c.Sessions)
		}
	})

	for _, tc := range []struct{ name, body, want string }{
		{"no key file", "webhooks: {signing_key_file: \"\"}\n", "webhooks.signing_key_file"},
		{"lease not above timeout", "webhooks: {timeout: 30s, lease: 30s}\n", "webhooks.lease"},
		{"no attempts", "webhooks: {max_attempts: 0}\n", "webhooks.max_attempts"},
		{"backoff upside down", "webhooks: {min_backoff: 1m, max_backoff: 1s}\n", "webhooks.min_backoff"},
		{"too many workers", "webhooks: {workers: 1000}\n", "webhooks.workers"},
		{"reconcile too often", "sessions: {reconcile_interval: 10ms}\n", "sessions.reconcile_interval"},
		{"unknown key", "webhooks: {secret: x}\n", "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, minimal+tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestMovesConfig(t *testing.T) {
	c, err := Load(writeFile(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Moves; m.Timeout != 10*time.Second || m.RedeliverAfter != time.Second {
		t.Fatalf("moves defaults: %+v", m)
	}
	t.Run("file and env", func(t *testing.T) {
		t.Setenv("SIDECAR_MOVES_REDELIVER_AFTER", "500ms")
		c, err := Load(writeFile(t, minimal+"moves: {timeout: 3s}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if m := c.Moves; m.Timeout != 3*time.Second || m.RedeliverAfter != 500*time.Millisecond {
			t.Fatalf("moves from file and env: %+v", m)
		}
	})

	for _, tc := range []struct{ name, body, want string }{
		{"timeout too short", "moves: {timeout: 100ms, redeliver_after: 50ms}\n", "moves.timeout"},
		{"redeliver after the timeout", "moves: {timeout: 2s, redeliver_after: 2s}\n", "moves.redeliver_after"},
		{"no redelivery delay", "moves: {redeliver_after: 0s}\n", "moves.redeliver_after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, minimal+tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCORSOrigins(t *testing.T) {
	c, err := Load(writeFile(t, minimal))
	if err != nil || len(c.HTTP.CORSOrigins) != 0 {
		t.Fatalf("default cors_origins = %v (%v), want none", c.HTTP.CORSOrigins, err)
	}
	if c, err := Load("dev.yaml"); err != nil || len(c.HTTP.CORSOrigins) != 1 || c.HTTP.CORSOrigins[0] != "*" {
		t.Fatalf("dev.yaml cors_origins = %v (%v), want [*]", c.HTTP.CORSOrigins, err)
	}
	c, err = Load(writeFile(t, minimal+"http:\n  cors_origins: [\"https://app.example\", \"http://127.0.0.1:3000\"]\n"))
	if err != nil || len(c.HTTP.CORSOrigins) != 2 || c.HTTP.CORSOrigins[1] != "http://127.0.0.1:3000" {
		t.Fatalf("cors_origins = %v (%v)", c.HTTP.CORSOrigins, err)
	}
	t.Run("env", func(t *testing.T) {
		t.Setenv("SIDECAR_HTTP_CORS_ORIGINS", "https://a.example,https://b.example")
		c, err := Load(writeFile(t, minimal))
		if err != nil || len(c.HTTP.CORSOrigins) != 2 || c.HTTP.CORSOrigins[0] != "https://a.example" {
			t.Fatalf("cors_origins from the environment = %v (%v)", c.HTTP.CORSOrigins, err)
		}
	})
	for _, bad := range []string{"app.example", "https://app.example/", "https://app.example/path", "ftp://app.example", "https://", "https://u@app.example"} {
		_, err := Load(writeFile(t, minimal+"http:\n  cors_origins: [\""+bad+"\"]\n"))
		if err == nil || !strings.Contains(err.Error(), "http.cors_origins") {
			t.Errorf("cors_origins [%s]: error %v, want one naming http.cors_origins", bad, err)
		}
	}
}
