package configs

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
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

// prodKeyHash is the SHA-256 of "prod-api-key-0123456789".
const prodKeyHash = "62be5523f012718c53cf840fb9abcc108542a6efab12b676c93a814a043368eb"

func setProductionEnv(t *testing.T) {
	t.Helper()
	t.Setenv("LIVEKIT_API_KEY", "prod-key")
	t.Setenv("LIVEKIT_API_SECRET", "prod-secret")
	t.Setenv("SIDECAR_STORE_DSN", "postgres://u@db:5432/x")
	t.Setenv("SIDECAR_RECORDING_SIGNING_KEY", "a-production-link-signing-key")
	t.Setenv("SIDECAR_AUTH_KEYS", `[{"account_id": "acc", "org_id": "org", "app_id": "app-1", "secret_sha256": "`+prodKeyHash+`"}]`)
}

func TestProductionConfigLoadsWithEnv(t *testing.T) {
	setProductionEnv(t)
	c, err := Load("production.yaml")
	if err != nil {
		t.Fatalf("Load(production.yaml): %v", err)
	}
	if c.LiveKit.APIKey != "prod-key" || c.Store.DSN != "postgres://u@db:5432/x" || c.LiveKit.Mode != ModeExternal || !c.Production {
		t.Fatalf("env did not override: %+v", c)
	}
	if len(c.Auth.Keys) != 1 || c.Auth.Keys[0].SecretSHA256 != prodKeyHash {
		t.Fatalf("keys = %+v, want the one of SIDECAR_AUTH_KEYS", c.Auth.Keys)
	}
}

func TestProductionConfigNeedsKeysAndSigningKey(t *testing.T) {
	setProductionEnv(t)
	t.Setenv("SIDECAR_AUTH_KEYS", "[]")
	t.Setenv("SIDECAR_RECORDING_SIGNING_KEY", "")
	_, err := Load("production.yaml")
	for _, want := range []string{"auth.keys needs at least one API key (in the file, SIDECAR_AUTH_KEYS or auth.keys_file)", "recording.signing_key is required in production"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load = %v, want an error mentioning %q", err, want)
		}
	}
}

func TestProductionRefusesDevCredentials(t *testing.T) {
	t.Setenv("SIDECAR_PRODUCTION", "true")
	t.Setenv("SIDECAR_RECORDING_SIGNING_KEY", "change-me-to-a-long-random-string")
	_, err := Load("dev.yaml")
	for _, want := range []string{
		"auth.keys[0].secret is a development key", `livekit.api_key "devkey" is a development key`,
		"livekit.api_secret is a development secret", "recording.signing_key is a published example",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(dev.yaml) in production = %v, want an error mentioning %q", err, want)
		}
	}

	// The development key given as its hash is refused as well.
	sum := sha256.Sum256([]byte("dev-api-key-0123456789abcdef"))
	t.Setenv("SIDECAR_AUTH_KEYS", `[{"account_id": "a", "app_id": "b", "secret_sha256": "`+hex.EncodeToString(sum[:])+`"}]`)
	if _, err := Load("dev.yaml"); err == nil || !strings.Contains(err.Error(), "secret_sha256 is the hash of a development key") {
		t.Errorf("the dev key's hash in production: %v", err)
	}
	// Without production: true, dev.yaml is what it is for.
	t.Setenv("SIDECAR_PRODUCTION", "false")
	t.Setenv("SIDECAR_AUTH_KEYS", `[{"account_id": "a", "app_id": "b", "secret": "dev-api-key-0123456789abcdef"}]`)
	if _, err := Load("dev.yaml"); err != nil {
		t.Errorf("Load(dev.yaml) in development: %v", err)
	}
}

func TestKeysFromTheEnvironment(t *testing.T) {
	t.Setenv("SIDECAR_AUTH_KEYS", `[{"account_id": "env-acc", "org_id": "env-org", "app_id": "env-app", "secret": "env-secret-0123456789"},
		{"account_id": "env-acc2", "app_id": "env-app2", "secret_sha256": "`+prodKeyHash+`"}]`)
	c, err := Load(writeFile(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	want := []APIKey{
		{AccountID: "env-acc", OrgID: "env-org", AppID: "env-app", Secret: "env-secret-0123456789"},
		{AccountID: "env-acc2", AppID: "env-app2", SecretSHA256: prodKeyHash},
	}
	if !slices.Equal(c.Auth.Keys, want) {
		t.Fatalf("keys = %+v, want the environment's %+v in place of the file's", c.Auth.Keys, want)
	}

	for _, tc := range []struct{ name, env, want string }{
		{"not JSON", "acc:secret", "SIDECAR_AUTH_KEYS must be a JSON list"},
		{"unknown field", `[{"account_id": "a", "app_id": "b", "secret": "0123456789abcdef", "sekret": "x"}]`, "sekret"},
		{"invalid key", `[{"account_id": "a", "app_id": "b", "secret": "short"}]`, "auth.keys[0].secret is too short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SIDECAR_AUTH_KEYS", tc.env)
			if _, err := Load(writeFile(t, minimal)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestKeysFile(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys.yaml")
	if err := os.WriteFile(keys, []byte("- {account_id: f-acc, app_id: f-app, secret_sha256: "+prodKeyHash+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile := APIKey{AccountID: "f-acc", AppID: "f-app", SecretSHA256: prodKeyHash}
	c, err := Load(writeFile(t, "auth: {keys_file: "+keys+"}\nlivekit: {api_key: k, api_secret: 0123456789abcdef0123456789abcdef}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Auth.Keys) != 1 || c.Auth.Keys[0] != fromFile {
		t.Fatalf("keys = %+v, want the key of auth.keys_file", c.Auth.Keys)
	}
	t.Setenv("SIDECAR_AUTH_KEYS_FILE", keys)
	if c, err = Load(writeFile(t, minimal)); err != nil {
		t.Fatal(err)
	}
	if len(c.Auth.Keys) != 2 || c.Auth.Keys[0].AccountID != "acc" || c.Auth.Keys[1] != fromFile {
		t.Fatalf("keys = %+v, want the file's key after the configuration's", c.Auth.Keys)
	}

	t.Setenv("SIDECAR_AUTH_KEYS_FILE", filepath.Join(t.TempDir(), "missing.yaml"))
	if _, err := Load(writeFile(t, minimal)); err == nil || !strings.Contains(err.Error(), "auth.keys_file") {
		t.Fatalf("missing keys file: %v", err)
	}
}

func TestStoreDSNMustNameAnEngine(t *testing.T) {
	for _, dsn := range []string{"mysql://u@h/db", "postgress://u@h/db", "host=db dbname=rtk user=rtk", "rtk"} {
		t.Run(dsn, func(t *testing.T) {
			t.Setenv("SIDECAR_STORE_DSN", dsn)
			_, err := Load(writeFile(t, minimal))
			if err == nil || !strings.Contains(err.Error(), "store.dsn") || !strings.Contains(err.Error(), "postgres://user@host:5432/db") {
				t.Fatalf("Load with store.dsn %q = %v, want a store.dsn error that shows the accepted forms", dsn, err)
			}
		})
	}
}

func TestPlaceholderKeyHashIsRefused(t *testing.T) {
	for _, h := range []string{strings.Repeat("0", 64), strings.Repeat("F", 64), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"} {
		body := "auth: {keys: [{account_id: a, app_id: b, secret_sha256: \"" + h + "\"}]}\nlivekit: {api_key: k, api_secret: 0123456789abcdef0123456789abcdef}\n"
		if _, err := Load(writeFile(t, body)); err == nil || !strings.Contains(err.Error(), "secret_sha256 is a placeholder") {
			t.Errorf("secret_sha256 %s: %v, want it refused as a placeholder", h, err)
		}
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

func TestListsFromTheEnvironment(t *testing.T) {
	t.Setenv("SIDECAR_LIVEKIT_EMBEDDED_BIND_ADDRESSES", "127.0.0.1,10.0.0.1")
	c, err := Load(writeFile(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.LiveKit.Embedded.BindAddresses; !slices.Equal(got, []string{"127.0.0.1", "10.0.0.1"}) {
		t.Fatalf("bind_addresses from a comma-separated variable = %q", got)
	}
}

func TestEmbeddedPrometheusPort(t *testing.T) {
	c, err := Load(writeFile(t, minimal))
	if err != nil || c.LiveKit.Embedded.PrometheusPort != 0 {
		t.Fatalf("default prometheus_port = %d (%v), want 0 (off)", c.LiveKit.Embedded.PrometheusPort, err)
	}
	c, err = Load(writeFile(t, minimal+"  embedded:\n    prometheus_port: 6789\n"))
	if err != nil || c.LiveKit.Embedded.PrometheusPort != 6789 {
		t.Fatalf("prometheus_port = %d (%v), want 6789", c.LiveKit.Embedded.PrometheusPort, err)
	}
	for _, bad := range []struct{ body, want string }{
		{"    prometheus_port: 70000\n", "prometheus_port 70000 is not a port"},
		{"    prometheus_port: 7880\n", "prometheus_port 7880 is taken"},
		{"    prometheus_port: 9000\n    debug_port: 9000\n", "debug_port and prometheus_port are both 9000"},
	} {
		_, err := Load(writeFile(t, minimal+"  embedded:\n"+bad.body))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want %q", bad.body, err, bad.want)
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
		w.MaxAge != 24*time.Hour || w.MinBackoff != time.Second || w.MaxBackoff != 10*time.Minute ||
		w.Workers != 4 || w.PollInterval != time.Second {
		t.Fatalf("webhooks defaults: %+v", w)
	}
	if s := c.Sessions; s.ReconcileInterval != 30*time.Second || s.EventRetention != 7*24*time.Hour {
		t.Fatalf("sessions defaults: %+v", s)
	}

	t.Run("file and env", func(t *testing.T) {
		t.Setenv("SIDECAR_WEBHOOKS_MAX_AGE", "3h")
		t.Setenv("SIDECAR_SESSIONS_RECONCILE_INTERVAL", "5s")
		c, err := Load(writeFile(t, minimal+"webhooks: {signing_key_file: /k.pem, timeout: 2s, lease: 5s}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if w := c.Webhooks; w.SigningKeyFile != "/k.pem" || w.Timeout != 2*time.Second || w.Lease != 5*time.Second || w.MaxAge != 3*time.Hour {
			t.Fatalf("webhooks from file and env: %+v", w)
		}
		if c.Sessions.ReconcileInterval != 5*time.Second {
			t.Fatalf("sessions from env: %+v", c.Sessions)
		}
	})

	for _, tc := range []struct{ name, body, want string }{
		{"no key file", "webhooks: {signing_key_file: \"\"}\n", "webhooks.signing_key_file"},
		{"lease not above timeout", "webhooks: {timeout: 30s, lease: 30s}\n", "webhooks.lease"},
		{"no age", "webhooks: {max_age: 0s}\n", "webhooks.max_age"},
		{"attempts are no budget", "webhooks: {max_attempts: 10}\n", "max_attempts"},
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

// TestDevLobby: the meeting app's lobby is off by default, on in dev.yaml, and refused in
// production.
func TestDevLobby(t *testing.T) {
	if c, err := Load(writeFile(t, minimal)); err != nil || c.HTTP.DevLobby {
		t.Fatalf("default dev_lobby = %v (%v), want false", c.HTTP.DevLobby, err)
	}
	if c, err := Load("dev.yaml"); err != nil || !c.HTTP.DevLobby {
		t.Fatalf("dev.yaml dev_lobby = %v (%v), want true", c.HTTP.DevLobby, err)
	}
	if c, err := Load("production.yaml"); err == nil && c.HTTP.DevLobby {
		t.Fatal("production.yaml turns the dev lobby on")
	}
	_, err := Load(writeFile(t, minimal+"production: true\nhttp:\n  dev_lobby: true\n"))
	if err == nil || !strings.Contains(err.Error(), "http.dev_lobby") {
		t.Fatalf("production with dev_lobby: %v, want it refused", err)
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

func TestClusterConfig(t *testing.T) {
	c, err := Load(writeFile(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	if cl := c.Cluster; cl.Replicated() || cl.LeaseTTL != 3*time.Second {
		t.Fatalf("cluster defaults: %+v; want one replica, lease_ttl 3s", cl)
	}
	const keys = `
auth:
  keys:
    - {account_id: acc, org_id: org, app_id: app-1, secret: "0123456789abcdef"}
`
	const external = "livekit: {mode: external, url: \"ws://livekit:7880\", api_key: k, api_secret: 0123456789abcdef0123456789abcdef}\n"
	const replicated = keys + external + "store: {dsn: \"postgres://rtk@db:5432/rtk?sslmode=disable\"}\n"
	t.Run("file and env", func(t *testing.T) {
		t.Setenv("SIDECAR_CLUSTER_NODE", "sidecar-2")
		c, err := Load(writeFile(t, replicated+"cluster: {redis_url: \"redis://redis:6379/0\", lease_ttl: 2s}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if cl := c.Cluster; !cl.Replicated() || cl.RedisURL != "redis://redis:6379/0" || cl.LeaseTTL != 2*time.Second || cl.Node != "sidecar-2" {
			t.Fatalf("cluster from file and env: %+v", cl)
		}
	})
	for _, tc := range []struct{ name, body, want string }{
		{"redis without postgres", keys + external + "cluster: {redis_url: \"redis://r:6379\"}\n", "needs store.dsn to be PostgreSQL"},
		{"redis with the bundled SFU", minimal + "store: {dsn: \"postgres://x@db/rtk\"}\ncluster: {redis_url: \"redis://r:6379\"}\n", "needs livekit.mode external"},
		{"not a redis URL", replicated + "cluster: {redis_url: \"http://u:secret@r:6379\"}\n", "must be a redis:// or rediss:// URL"},
		{"lease too short", minimal + "cluster: {lease_ttl: 100ms}\n", "cluster.lease_ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want an error mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret@") {
				t.Fatalf("the error shows the URL's password: %v", err)
			}
		})
	}
}

func TestDebugPprofAddr(t *testing.T) {
	c, err := Load(writeFile(t, minimal))
	if err != nil || c.Debug.PprofAddr != "" {
		t.Fatalf("default debug.pprof_addr = %q (%v), want off", c.Debug.PprofAddr, err)
	}
	t.Setenv("SIDECAR_DEBUG_PPROF_ADDR", "127.0.0.1:6060")
	if c, err := Load(writeFile(t, minimal)); err != nil || c.Debug.PprofAddr != "127.0.0.1:6060" {
		t.Fatalf("debug.pprof_addr from env = %q (%v)", c.Debug.PprofAddr, err)
	}
	for _, bad := range []string{"6060", "127.0.0.1:"} {
		t.Setenv("SIDECAR_DEBUG_PPROF_ADDR", bad)
		if _, err := Load(writeFile(t, minimal)); err == nil || !strings.Contains(err.Error(), "debug.pprof_addr") {
			t.Fatalf("debug.pprof_addr %q: Load = %v, want an error naming it", bad, err)
		}
	}
	t.Setenv("SIDECAR_DEBUG_PPROF_ADDR", "")
	t.Setenv("SIDECAR_HTTP_ADDR", "127.0.0.1:9999")
	if _, err := Load(writeFile(t, minimal+"debug: {pprof_addr: \"127.0.0.1:9999\"}\n")); err == nil || !strings.Contains(err.Error(), "debug.pprof_addr") {
		t.Fatalf("debug.pprof_addr = http.addr: Load = %v, want an error", err)
	}
}
