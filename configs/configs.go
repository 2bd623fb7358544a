// Package configs loads the sidecar's configuration: a YAML file with
// environment overrides on top of a default for every key. It is the only
// package that uses viper, and only cmd/sidecar and service import it.
//
// Every key has a default (setDefaults), so any key can be set from the
// environment as SIDECAR_<SECTION>_<KEY> (dots become underscores), e.g.
// SIDECAR_HTTP_ADDR=:9090. LiveKit's usual LIVEKIT_URL, LIVEKIT_API_KEY and
// LIVEKIT_API_SECRET are honoured too. Unknown keys in a file are an error.
//
// The API keys, a list, come from auth.keys in the file, or from the
// environment as SIDECAR_AUTH_KEYS (a JSON list, replacing the file's), and
// from the YAML or JSON list in the file auth.keys_file names (added to
// them). A configuration with production: true refuses the development
// credentials of dev.yaml and LiveKit's --dev ones.
package configs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"rtk-sidecar/store/sqlstore"
)

// LiveKit modes.
const (
	// ModeEmbedded starts and supervises the bundled livekit-server.
	ModeEmbedded = "embedded"
	// ModeExternal talks to a LiveKit server given by URL and keys.
	ModeExternal = "external"
)

// Config is the whole configuration of the sidecar.
type Config struct {
	// Production refuses the development credentials (DevCredentials) and
	// requires recording.signing_key.
	Production bool `mapstructure:"production"`

	HTTP    HTTP    `mapstructure:"http"`
	Log     Log     `mapstructure:"log"`
	Store   Store   `mapstructure:"store"`
	Auth    Auth    `mapstructure:"auth"`
	LiveKit LiveKit `mapstructure:"livekit"`
	// Recording configures recordings.
	Recording Recording `mapstructure:"recording"`
	// Webhooks configures RealtimeKit's outgoing webhooks.
	Webhooks Webhooks `mapstructure:"webhooks"`
	// Sessions configures the tracking of sessions.
	Sessions Sessions `mapstructure:"sessions"`
	// Moves configures moves between connected meetings.
	Moves Moves `mapstructure:"moves"`
	// Cluster configures several replicas of the sidecar (docs/deployment.md).
	Cluster Cluster `mapstructure:"cluster"`
	// Debug configures diagnostics that are off by default.
	Debug Debug `mapstructure:"debug"`
}

// Debug configures diagnostics that are off by default.
type Debug struct {
	// PprofAddr, when not empty, serves Go's profiler (net/http/pprof,
	// under /debug/pprof/) on this address, e.g. 127.0.0.1:6060,
	// unauthenticated: bind it to a loopback or private address. Empty,
	// the default, serves nothing.
	PprofAddr string `mapstructure:"pprof_addr"`
}

// Cluster configures replicas: any number of sidecars against one
// PostgreSQL and one Redis, behind any HTTP load balancer. Without a Redis
// URL the sidecar is a single replica and needs no Redis.
type Cluster struct {
	// RedisURL is the Redis the replicas share ("redis://host:6379/0",
	// "rediss://" for TLS): the bus that carries event-stream messages to
	// the replica holding the stream, and the leases of timed work. It
	// needs a PostgreSQL store and an external LiveKit.
	RedisURL string `mapstructure:"redis_url"`
	// LeaseTTL is how long a lease of timed work outlives its holder: a
	// replica that dies is replaced within LeaseTTL plus half a second.
	LeaseTTL time.Duration `mapstructure:"lease_ttl"`
	// Node names this replica in leases and logs (default: the host name
	// and a random suffix, new at every start).
	Node string `mapstructure:"node"`
}

// Replicated reports whether the sidecar runs as one of several replicas.
func (c Cluster) Replicated() bool { return c.RedisURL != "" }

// Webhooks configures the delivery of RealtimeKit's webhooks (see
// docs/webhooks.md).
type Webhooks struct {
	// SigningKeyFile is the PEM file of the RSA key that signs deliveries
	// (rtk-signature); its public half is served at
	// /.well-known/webhooks.json. It is created (2048-bit) when missing.
	SigningKeyFile string `mapstructure:"signing_key_file"`
	// Timeout bounds one delivery attempt.
	Timeout time.Duration `mapstructure:"timeout"`
	// Lease is how long a delivery being attempted stays held; after a
	// crash it is attempted again when the lease lapses. It must exceed
	// timeout.
	Lease time.Duration `mapstructure:"lease"`
	// MaxAge is the retry budget: a delivery is retried until it fails
	// when older than max_age (then it is dead), however many attempts
	// that takes.
	MaxAge time.Duration `mapstructure:"max_age"`
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// attempts (full jitter): the wait doubles from min_backoff up to
	// max_backoff, then stays there.
	MinBackoff time.Duration `mapstructure:"min_backoff"`
	MaxBackoff time.Duration `mapstructure:"max_backoff"`
	// Workers is how many webhooks are delivered to at once.
	Workers int `mapstructure:"workers"`
	// PollInterval is how often the outbox is looked at when nothing
	// signals new work.
	PollInterval time.Duration `mapstructure:"poll_interval"`
}

// Sessions configures the tracking of sessions from LiveKit's events.
type Sessions struct {
	// ReconcileInterval is how often the sessions are compared with
	// LiveKit's rooms and participants, to repair missed webhooks.
	ReconcileInterval time.Duration `mapstructure:"reconcile_interval"`
	// EventRetention is how long LiveKit webhook ids are remembered to
	// drop duplicates.
	EventRetention time.Duration `mapstructure:"event_retention"`
}

// Moves configures how participants are moved between connected meetings
// (docs/protocol.md §4).
type Moves struct {
	// Timeout is how long a move waits for the participant to arrive in the
	// destination room before the family is told it failed (moveFailed).
	Timeout time.Duration `mapstructure:"timeout"`
	// RedeliverAfter is when the move instruction is sent once more to a
	// participant that has not arrived yet (as data if the RPC went
	// unanswered). It is capped at half of Timeout.
	RedeliverAfter time.Duration `mapstructure:"redeliver_after"`
}

// Recording backends.
const (
	// RecordingLocal is the built-in recorder: a hidden participant that
	// writes one file per track.
	RecordingLocal = "local"
	// RecordingEgress records through LiveKit Egress.
	RecordingEgress = "egress"
)

// Recording configures recordings and their download links.
type Recording struct {
	// Backend is RecordingLocal (the default) or RecordingEgress.
	Backend string `mapstructure:"backend"`
	// OutputDir holds the recordings' files, in <output_dir>/<app>/<recording>/.
	// With Egress it must be the same path on the Egress host (a shared volume)
	// for the sidecar to serve the files.
	OutputDir string `mapstructure:"output_dir"`
	// SigningKey signs download links (HMAC-SHA256). Empty means a random key
	// per process: links stop working when the sidecar restarts, and
	// several sidecars cannot share links. Set it (16+ characters) in production.
	SigningKey string `mapstructure:"signing_key"`
	// URLExpiry is how long a download link stays valid.
	URLExpiry time.Duration `mapstructure:"url_expiry"`
	// PublicURL is the base of download links; empty means http.public_url
	// (or http://<http.addr>).
	PublicURL string `mapstructure:"public_url"`
	// EgressAudioOnly makes Egress composite recordings audio-only OGG
	// instead of MP4 (which needs Egress's Chrome).
	EgressAudioOnly bool `mapstructure:"egress_audio_only"`
}

// HTTP configures the REST API listener.
type HTTP struct {
	// Addr is the listen address of the API, e.g. "127.0.0.1:8080".
	Addr string `mapstructure:"addr"`
	// PublicURL is how LiveKit and clients reach the API, e.g.
	// "http://127.0.0.1:8080"; it is the base of the webhook URL handed to
	// the embedded SFU. Empty means http://<Addr>.
	PublicURL string `mapstructure:"public_url"`
	// ShutdownTimeout bounds how long in-flight requests may take to drain.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// Metrics serves Prometheus metrics at GET /metrics on Addr,
	// unauthenticated (default true); keep /metrics from the public at
	// the edge, or set it false.
	Metrics bool `mapstructure:"metrics"`
	// CORSOrigins are the web origins (scheme://host[:port]) whose pages may
	// call the participant API (/client/v1/..., the event stream included)
	// and load the browser SDK (/sdk/...) from another origin; "*" allows
	// any. Empty, the default, allows none.
	CORSOrigins []string `mapstructure:"cors_origins"`
	// DevLobby serves the meeting app's development lobby (POST
	// /dev/lobby/meetings, unauthenticated): anyone who reaches the API may
	// create a meeting with a host and participants in the first API key's
	// app and get their tokens. Off by default; refused with production.
	DevLobby bool `mapstructure:"dev_lobby"`
}

// Log configures the structured logger.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text or json
}

// Store selects the database.
type Store struct {
	// DSN is "sqlite:<path>" (the embedded default) or a PostgreSQL URL
	// ("postgres://user@host:5432/db?sslmode=disable").
	DSN string `mapstructure:"dsn"`
}

// Auth configures API keys and participant tokens.
type Auth struct {
	// Keys are the API keys that may call the REST API: the file's, or
	// those of SIDECAR_AUTH_KEYS (a JSON list), and those of KeysFile.
	Keys []APIKey `mapstructure:"keys"`
	// KeysFile, when set, is a YAML or JSON file holding a list of API keys
	// (each as in auth.keys), added to Keys; e.g. a mounted secret.
	KeysFile string `mapstructure:"keys_file"`
	// TokenKeyFile is the PEM file of the RSA key of participant tokens:
	// they are signed with an Ed25519 key derived from it, and RS256 tokens
	// it signed (earlier versions) are accepted (package tokens). It is
	// created (2048-bit) when missing; replicas share it.
	TokenKeyFile string `mapstructure:"token_key_file"`
	// TokenTTL is how long a participant token stays valid.
	TokenTTL time.Duration `mapstructure:"token_ttl"`
}

// APIKey is one credential for the REST API. A request authenticates with
// "Authorization: Bearer <secret>" (Cloudflare style) or
// "Authorization: Basic base64(<org_id>:<secret>)" (Dyte style).
type APIKey struct {
	// AccountID is the Cloudflare account the key acts for (the
	// {account_id} of /accounts/{account_id}/realtime/kit/...).
	AccountID string `mapstructure:"account_id"`
	// OrgID is the Dyte organisation id used with Basic auth.
	OrgID string `mapstructure:"org_id"`
	// AppID is the key's default app, used by the /v2 (Dyte) paths. It is
	// created at start-up if it does not exist.
	AppID string `mapstructure:"app_id"`
	// AppName names that app when it is created.
	AppName string `mapstructure:"app_name"`
	// Secret is the key itself. Prefer SecretSHA256 outside development.
	Secret string `mapstructure:"secret"`
	// SecretSHA256 is the hex SHA-256 of the key, so the key itself need not
	// be stored in the configuration.
	SecretSHA256 string `mapstructure:"secret_sha256"`
}

// LiveKit configures the SFU the sidecar drives.
type LiveKit struct {
	// Mode is ModeEmbedded or ModeExternal.
	Mode string `mapstructure:"mode"`
	// URL is the LiveKit server's URL as the sidecar reaches it (ws:// or
	// http://). In embedded mode it is derived from Embedded and may be empty.
	URL string `mapstructure:"url"`
	// PublicURL is the URL handed to clients in join responses; empty means URL.
	PublicURL string `mapstructure:"public_url"`
	APIKey    string `mapstructure:"api_key"`
	APISecret string `mapstructure:"api_secret"`
	// Embedded configures the bundled livekit-server (embedded mode only).
	Embedded Embedded `mapstructure:"embedded"`
}

// Embedded configures the bundled livekit-server.
type Embedded struct {
	Binary        string   `mapstructure:"binary"`
	DataDir       string   `mapstructure:"data_dir"`
	Port          int      `mapstructure:"port"`
	BindAddresses []string `mapstructure:"bind_addresses"`
	TCPPort       int      `mapstructure:"tcp_port"`
	UDPPort       int      `mapstructure:"udp_port"`
	// NodeIP is the address advertised in ICE candidates; empty lets
	// LiveKit pick the machine's address.
	NodeIP string `mapstructure:"node_ip"`
	// Interfaces and IPs restrict the interfaces and addresses LiveKit
	// gathers candidates on (LiveKit's rtc.interfaces.includes and
	// rtc.ips.includes).
	Interfaces []string `mapstructure:"interfaces"`
	IPs        []string `mapstructure:"ips"`
	LogLevel   string   `mapstructure:"log_level"`
	// LogComponents sets LiveKit's level per component (its
	// logging.component_levels), e.g. {transport: debug} to log the ICE and
	// DTLS states of every peer connection.
	LogComponents map[string]string `mapstructure:"log_components"`
	// DebugPort, when not 0, serves LiveKit's debug handlers (Go's pprof,
	// /debug/rooms) on BindAddresses, unauthenticated (LiveKit's
	// debug_handler.port). 0, the default, leaves them off.
	DebugPort int `mapstructure:"debug_port"`
	// PrometheusPort, when not 0, serves LiveKit's own Prometheus metrics
	// at /metrics on BindAddresses, unauthenticated (LiveKit's
	// prometheus.port). 0, the default, leaves them off.
	PrometheusPort int `mapstructure:"prometheus_port"`
}

// setDefaults gives every key a default. Without a default, viper's
// AutomaticEnv never delivers an environment value to Unmarshal (viper#761).
func setDefaults(v *viper.Viper) {
	v.SetDefault("http.addr", "127.0.0.1:8080")
	v.SetDefault("http.public_url", "")
	v.SetDefault("http.shutdown_timeout", 10*time.Second)
	v.SetDefault("http.metrics", true)
	v.SetDefault("http.cors_origins", []string{})
	v.SetDefault("http.dev_lobby", false)

	v.SetDefault("log.level", "info")
	v.SetDefault("log.format", "text")

	v.SetDefault("store.dsn", "sqlite:data/rtk-sidecar.db")

	v.SetDefault("production", false)

	v.SetDefault("auth.keys", []map[string]any{})
	v.SetDefault("auth.keys_file", "")
	v.SetDefault("auth.token_key_file", "data/participant-token.pem")
	v.SetDefault("auth.token_ttl", 100*24*time.Hour) // RealtimeKit's tokens live 100 days

	v.SetDefault("livekit.mode", ModeEmbedded)
	v.SetDefault("livekit.url", "")
	v.SetDefault("livekit.public_url", "")
	v.SetDefault("livekit.api_key", "")
	v.SetDefault("livekit.api_secret", "")
	v.SetDefault("livekit.embedded.binary", "bin/livekit-server")
	v.SetDefault("livekit.embedded.data_dir", "data/livekit")
	v.SetDefault("livekit.embedded.port", 7880)
	v.SetDefault("livekit.embedded.bind_addresses", []string{"127.0.0.1"})
	v.SetDefault("livekit.embedded.tcp_port", 7881)
	v.SetDefault("livekit.embedded.udp_port", 7882)
	v.SetDefault("livekit.embedded.node_ip", "")
	v.SetDefault("livekit.embedded.interfaces", []string{})
	v.SetDefault("livekit.embedded.ips", []string{})
	v.SetDefault("livekit.embedded.log_level", "info")
	v.SetDefault("livekit.embedded.log_components", map[string]string{})
	v.SetDefault("livekit.embedded.debug_port", 0)
	v.SetDefault("livekit.embedded.prometheus_port", 0)

	v.SetDefault("recording.backend", RecordingLocal)
	v.SetDefault("recording.output_dir", "data/recordings")
	v.SetDefault("recording.signing_key", "")
	v.SetDefault("recording.url_expiry", 24*time.Hour)
	v.SetDefault("recording.public_url", "")
	v.SetDefault("recording.egress_audio_only", false)

	v.SetDefault("webhooks.signing_key_file", "data/webhook-signing.pem")
	v.SetDefault("webhooks.timeout", 10*time.Second)
	v.SetDefault("webhooks.lease", 30*time.Second)
	v.SetDefault("webhooks.max_age", 24*time.Hour)
	v.SetDefault("webhooks.min_backoff", time.Second)
	v.SetDefault("webhooks.max_backoff", 10*time.Minute)
	v.SetDefault("webhooks.workers", 4)
	v.SetDefault("webhooks.poll_interval", time.Second)

	v.SetDefault("sessions.reconcile_interval", 30*time.Second)
	v.SetDefault("sessions.event_retention", 7*24*time.Hour)

	v.SetDefault("cluster.redis_url", "")
	v.SetDefault("cluster.lease_ttl", 3*time.Second)
	v.SetDefault("cluster.node", "")

	v.SetDefault("moves.timeout", 10*time.Second)
	v.SetDefault("moves.redeliver_after", time.Second)

	v.SetDefault("debug.pprof_addr", "")
}

// Load reads the configuration: defaults, then the YAML file at path (if
// path is not empty), then environment variables. It rejects unknown keys
// and invalid values, reporting every problem at once.
func Load(path string) (*Config, error) {
	v := viper.New()
	setDefaults(v)
	v.SetEnvPrefix("SIDECAR")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	// LiveKit's usual variable names work too; SIDECAR_ ones win.
	_ = v.BindEnv("livekit.url", "SIDECAR_LIVEKIT_URL", "LIVEKIT_URL")
	_ = v.BindEnv("livekit.api_key", "SIDECAR_LIVEKIT_API_KEY", "LIVEKIT_API_KEY")
	_ = v.BindEnv("livekit.api_secret", "SIDECAR_LIVEKIT_API_SECRET", "LIVEKIT_API_SECRET")
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("configs: read %s: %w", path, err)
		}
	}
	if err := loadKeys(v); err != nil {
		return nil, err
	}
	var c Config
	if err := v.UnmarshalExact(&c); err != nil {
		return nil, fmt.Errorf("configs: decode %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// loadKeys puts the API keys of SIDECAR_AUTH_KEYS in place of the file's,
// and adds those of auth.keys_file. Decoding checks their fields as it does
// the file's.
func loadKeys(v *viper.Viper) error {
	if raw, ok := os.LookupEnv("SIDECAR_AUTH_KEYS"); ok {
		var keys []map[string]any
		if err := json.Unmarshal([]byte(raw), &keys); err != nil {
			return fmt.Errorf(`configs: SIDECAR_AUTH_KEYS must be a JSON list of keys, e.g. [{"account_id": "...", "app_id": "...", "secret_sha256": "..."}]: %w`, err)
		}
		v.Set("auth.keys", keys)
	}
	path := v.GetString("auth.keys_file")
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("configs: auth.keys_file: %w", err)
	}
	var more []map[string]any
	if err := yaml.Unmarshal(b, &more); err != nil {
		return fmt.Errorf("configs: auth.keys_file %s must hold a YAML or JSON list of keys: %w", path, err)
	}
	var keys []any
	if err := v.UnmarshalKey("auth.keys", &keys); err != nil {
		return fmt.Errorf("configs: auth.keys: %w", err)
	}
	for _, k := range more {
		keys = append(keys, k)
	}
	v.Set("auth.keys", keys)
	return nil
}

// DevCredentials are the development credentials (configs/dev.yaml's API key
// and LiveKit key and secret, LiveKit's own --dev key and secret, an old
// example's link signing key) that a production configuration refuses.
var DevCredentials = []string{
	"dev-api-key-0123456789abcdef", "devkey", "devsecret-0123456789abcdef0123456789", "secret",
	"change-me-to-a-long-random-string",
}

// Default returns the configuration made of the defaults alone, unvalidated
// (it has no API keys, for one): a base for programs and tests that build
// their configuration in code.
func Default() *Config {
	v := viper.New()
	setDefaults(v)
	var c Config
	if err := v.Unmarshal(&c); err != nil {
		panic("configs: the defaults do not decode: " + err.Error())
	}
	return &c
}

// isOrigin reports whether s is a web origin as browsers send it: http or
// https, a host, an optional port, and nothing else.
func isOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "#")
}

// Validate checks the configuration and reports every problem it finds.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("configs: "+format, args...)) }

	if c.HTTP.Addr == "" {
		bad("http.addr is required")
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		bad("http.shutdown_timeout must be positive")
	}
	if c.HTTP.PublicURL != "" {
		if u, err := url.Parse(c.HTTP.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("http.public_url %q must be an http(s) URL", c.HTTP.PublicURL)
		}
	}
	for _, o := range c.HTTP.CORSOrigins {
		if o != "*" && !isOrigin(o) {
			bad("http.cors_origins: %q must be \"*\" or an origin such as https://app.example (scheme, host and port only)", o)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level %q must be one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format %q must be text or json", c.Log.Format)
	}
	if c.Store.DSN == "" {
		bad("store.dsn is required")
	} else if _, err := sqlstore.Engine(c.Store.DSN); err != nil {
		bad("store.dsn: %v", strings.TrimPrefix(err.Error(), "sqlstore: "))
	}
	if c.Auth.TokenKeyFile == "" {
		bad("auth.token_key_file is required")
	}
	if c.Auth.TokenTTL < time.Minute {
		bad("auth.token_ttl must be at least 1m")
	}
	if len(c.Auth.Keys) == 0 {
		bad("auth.keys needs at least one API key (in the file, SIDECAR_AUTH_KEYS or auth.keys_file)")
	}
	seenSecret := map[string]bool{}
	for i, k := range c.Auth.Keys {
		if k.AccountID == "" {
			bad("auth.keys[%d].account_id is required", i)
		}
		if k.AppID == "" {
			bad("auth.keys[%d].app_id is required", i)
		}
		switch {
		case k.Secret == "" && k.SecretSHA256 == "":
			bad("auth.keys[%d] needs secret or secret_sha256", i)
		case k.Secret != "" && k.SecretSHA256 != "":
			bad("auth.keys[%d] has both secret and secret_sha256; keep one", i)
		case k.Secret != "" && len(k.Secret) < 16:
			bad("auth.keys[%d].secret is too short (at least 16 characters)", i)
		case k.SecretSHA256 != "" && !isHex(k.SecretSHA256, 64):
			bad("auth.keys[%d].secret_sha256 must be 64 hex digits, the SHA-256 of the key: printf %%s \"$KEY\" | sha256sum", i)
		case k.SecretSHA256 != "" && isPlaceholderHash(k.SecretSHA256):
			bad("auth.keys[%d].secret_sha256 is a placeholder that no key hashes to; put the SHA-256 of your key: printf %%s \"$KEY\" | sha256sum", i)
		}
		id := k.Secret + "|" + k.SecretSHA256
		if seenSecret[id] {
			bad("auth.keys[%d] repeats the secret of an earlier key", i)
		}
		seenSecret[id] = true
	}

	lk := c.LiveKit
	if lk.APIKey == "" || lk.APISecret == "" {
		bad("livekit.api_key and livekit.api_secret are required")
	}
	switch lk.Mode {
	case ModeEmbedded:
		e := lk.Embedded
		if e.Binary == "" {
			bad("livekit.embedded.binary is required in embedded mode")
		}
		if e.DataDir == "" {
			bad("livekit.embedded.data_dir is required in embedded mode")
		}
		for name, p := range map[string]int{"port": e.Port, "tcp_port": e.TCPPort, "udp_port": e.UDPPort} {
			if p <= 0 || p > 65535 {
				bad("livekit.embedded.%s %d is not a port", name, p)
			}
		}
		for name, p := range map[string]int{"debug_port": e.DebugPort, "prometheus_port": e.PrometheusPort} {
			if p < 0 || p > 65535 {
				bad("livekit.embedded.%s %d is not a port (0 leaves it off)", name, p)
			} else if p != 0 && (p == e.Port || p == e.TCPPort) {
				bad("livekit.embedded.%s %d is taken by port or tcp_port", name, p)
			}
		}
		if e.DebugPort != 0 && e.DebugPort == e.PrometheusPort {
			bad("livekit.embedded.debug_port and prometheus_port are both %d", e.DebugPort)
		}
		if len(e.BindAddresses) == 0 {
			bad("livekit.embedded.bind_addresses needs at least one address")
		}
		if len(lk.APISecret) < 32 {
			bad("livekit.api_secret must be at least 32 characters (LiveKit requires it)")
		}
	case ModeExternal:
		if lk.URL == "" {
			bad("livekit.url is required in external mode")
		}
	default:
		bad("livekit.mode %q must be %s or %s", lk.Mode, ModeEmbedded, ModeExternal)
	}
	if lk.URL != "" {
		if u, err := url.Parse(lk.URL); err != nil || !validLiveKitScheme(u.Scheme) || u.Host == "" {
			bad("livekit.url %q must be a ws(s):// or http(s):// URL", lk.URL)
		}
	}
	if lk.PublicURL != "" {
		if u, err := url.Parse(lk.PublicURL); err != nil || !validLiveKitScheme(u.Scheme) || u.Host == "" {
			bad("livekit.public_url %q must be a ws(s):// or http(s):// URL", lk.PublicURL)
		}
	}
	rec := c.Recording
	switch rec.Backend {
	case RecordingLocal:
	case RecordingEgress:
		if lk.Mode != ModeExternal {
			bad("recording.backend egress needs livekit.mode external (Egress needs LiveKit with Redis)")
		}
	default:
		bad("recording.backend %q must be %s or %s", rec.Backend, RecordingLocal, RecordingEgress)
	}
	if rec.OutputDir == "" {
		bad("recording.output_dir is required")
	}
	if rec.URLExpiry < time.Minute || rec.URLExpiry > 7*24*time.Hour {
		bad("recording.url_expiry must be between 1m and 168h")
	}
	if rec.SigningKey != "" && len(rec.SigningKey) < 16 {
		bad("recording.signing_key is too short (at least 16 characters)")
	}
	if rec.PublicURL != "" {
		if u, err := url.Parse(rec.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("recording.public_url %q must be an http(s) URL", rec.PublicURL)
		}
	}
	wh := c.Webhooks
	if wh.SigningKeyFile == "" {
		bad("webhooks.signing_key_file is required")
	}
	if wh.Timeout <= 0 {
		bad("webhooks.timeout must be positive")
	}
	if wh.Lease <= wh.Timeout {
		bad("webhooks.lease must be longer than webhooks.timeout")
	}
	if wh.MaxAge <= 0 {
		bad("webhooks.max_age must be positive")
	}
	if wh.MinBackoff <= 0 || wh.MaxBackoff < wh.MinBackoff {
		bad("webhooks.min_backoff must be positive and at most webhooks.max_backoff")
	}
	if wh.Workers < 1 || wh.Workers > 64 {
		bad("webhooks.workers must be between 1 and 64")
	}
	if wh.PollInterval <= 0 {
		bad("webhooks.poll_interval must be positive")
	}
	if c.Sessions.ReconcileInterval < time.Second {
		bad("sessions.reconcile_interval must be at least 1s")
	}
	if c.Sessions.EventRetention < time.Hour {
		bad("sessions.event_retention must be at least 1h")
	}
	if c.Moves.Timeout < time.Second {
		bad("moves.timeout must be at least 1s")
	}
	if c.Moves.RedeliverAfter <= 0 || c.Moves.RedeliverAfter >= c.Moves.Timeout {
		bad("moves.redeliver_after must be positive and shorter than moves.timeout")
	}
	c.validateCluster(bad)
	if a := c.Debug.PprofAddr; a != "" {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			bad("debug.pprof_addr %q must be host:port, e.g. 127.0.0.1:6060", a)
		} else if a == c.HTTP.Addr {
			bad("debug.pprof_addr %q is http.addr; give the profiler an address of its own", a)
		}
	}
	if c.Production {
		c.refuseDevCredentials(bad)
		if c.HTTP.DevLobby {
			bad("http.dev_lobby lets anyone create meetings and tokens; production refuses it")
		}
	}
	return errors.Join(errs...)
}

// validateCluster checks the replicas' settings: Redis and what replicas
// must share (one PostgreSQL, one LiveKit outside the replicas).
func (c *Config) validateCluster(bad func(format string, args ...any)) {
	cl := c.Cluster
	if cl.LeaseTTL < time.Second || cl.LeaseTTL > time.Minute {
		bad("cluster.lease_ttl must be between 1s and 1m")
	}
	if !cl.Replicated() {
		return
	}
	if u, err := url.Parse(cl.RedisURL); err != nil {
		bad("cluster.redis_url must be a redis:// or rediss:// URL")
	} else if (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		bad("cluster.redis_url %q must be a redis:// or rediss:// URL", u.Redacted())
	}
	if engine, err := sqlstore.Engine(c.Store.DSN); err == nil && engine != sqlstore.EnginePostgres {
		bad("cluster.redis_url needs store.dsn to be PostgreSQL: replicas share one database (got %s)", engine)
	}
	if c.LiveKit.Mode != ModeExternal {
		bad("cluster.redis_url needs livekit.mode external: replicas share one LiveKit (a cluster of its own on Redis), not one bundled SFU each")
	}
}

// refuseDevCredentials reports each development credential a production
// configuration uses.
func (c *Config) refuseDevCredentials(bad func(format string, args ...any)) {
	isDev := func(v string) bool {
		for _, d := range DevCredentials {
			if v == d {
				return true
			}
		}
		return false
	}
	for i, k := range c.Auth.Keys {
		if isDev(k.Secret) {
			bad("auth.keys[%d].secret is a development key; production needs a key of its own", i)
		}
		for _, d := range DevCredentials {
			if h := sha256.Sum256([]byte(d)); strings.EqualFold(k.SecretSHA256, hex.EncodeToString(h[:])) {
				bad("auth.keys[%d].secret_sha256 is the hash of a development key; production needs a key of its own", i)
			}
		}
	}
	if isDev(c.LiveKit.APIKey) {
		bad("livekit.api_key %q is a development key; production needs a key of its own", c.LiveKit.APIKey)
	}
	if isDev(c.LiveKit.APISecret) {
		bad("livekit.api_secret is a development secret; production needs a secret of its own")
	}
	switch {
	case c.Recording.SigningKey == "":
		bad("recording.signing_key is required in production (without it download links break at every restart)")
	case isDev(c.Recording.SigningKey):
		bad("recording.signing_key is a published example; production needs a key of its own")
	}
}

// isPlaceholderHash reports a hex SHA-256 that stands for no real key: one
// digit repeated (000...0) or the hash of the empty string.
func isPlaceholderHash(h string) bool {
	empty := sha256.Sum256(nil)
	return strings.Count(strings.ToLower(h), strings.ToLower(h[:1])) == len(h) ||
		strings.EqualFold(h, hex.EncodeToString(empty[:]))
}

func validLiveKitScheme(s string) bool {
	return s == "ws" || s == "wss" || s == "http" || s == "https"
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
