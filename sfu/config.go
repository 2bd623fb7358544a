package sfu

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults for zero-valued Options fields.
const (
	DefaultPort         = 7880
	DefaultTCPPort      = 7881
	DefaultUDPPort      = 7882
	DefaultLogLevel     = "info"
	DefaultStopTimeout  = 10 * time.Second
	DefaultStartTimeout = 20 * time.Second

	// ConfigFile and LogFile are the names of the files Run writes into DataDir.
	ConfigFile = "livekit.yaml"
	LogFile    = "livekit-server.log"

	// BinaryEnv names the environment variable that overrides the default binary path.
	BinaryEnv = "LIVEKIT_SERVER_BIN"
)

// Options configures the embedded livekit-server. Zero values take the defaults noted per field.
type Options struct {
	// Binary is the livekit-server executable. Empty means DefaultBinary().
	Binary string
	// DataDir receives the generated config (ConfigFile, mode 0600: it holds the secret)
	// and the server's output (LogFile). It is created if missing. Required.
	DataDir string

	// APIKey and APISecret are the only key pair the server accepts; webhooks are signed with them.
	// LiveKit wants a secret of at least 32 characters. Both are required.
	APIKey    string
	APISecret string

	// Port is the HTTP/WebSocket signalling port (DefaultPort).
	Port int
	// BindAddresses are the addresses the signalling port listens on (127.0.0.1).
	BindAddresses []string
	// TCPPort is the ICE/TCP port (DefaultTCPPort); LiveKit listens on it on all addresses.
	TCPPort int
	// UDPPort is the single ICE/UDP mux port (DefaultUDPPort).
	UDPPort int
	// DebugPort, when not zero, serves LiveKit's debug handlers (Go's pprof under /debug/pprof/,
	// /debug/rooms, /debug/goroutine) on BindAddresses (LiveKit's debug_handler.port). They are
	// not authenticated: keep BindAddresses private. Zero leaves them off.
	DebugPort int
	// PrometheusPort, when not zero, serves LiveKit's own Prometheus metrics at /metrics on
	// BindAddresses (LiveKit's prometheus.port), unauthenticated. Zero leaves them off.
	PrometheusPort int
	// NodeIP is the address advertised in ICE candidates. Empty lets LiveKit pick one.
	// The server never asks STUN for its external address (use_external_ip: false).
	NodeIP string
	// Interfaces and IPs (CIDRs) restrict where LiveKit gathers and answers ICE
	// (rtc.interfaces.includes, rtc.ips.includes). On a multi-homed host, set them to the
	// NodeIP's interface and NodeIP/32, or pion clients wait 1 s per publish on a
	// peer-reflexive candidate.
	Interfaces []string
	IPs        []string

	// WebhookURLs receive LiveKit's webhooks, signed with APIKey.
	WebhookURLs []string
	// Redis, when not empty, is the address (host:port) of the Redis that
	// several livekit-server nodes share (LiveKit's redis.address): the
	// server is then one node of a LiveKit cluster, and rooms are spread
	// over its nodes. Empty runs a single node.
	Redis string
	// EmptyTimeout and DepartureTimeout are the room timeouts (whole seconds, rounded up).
	// Zero keeps LiveKit's defaults (300 s and 20 s).
	EmptyTimeout     time.Duration
	DepartureTimeout time.Duration

	// LogLevel is LiveKit's log level: debug, info, warn or error (DefaultLogLevel).
	LogLevel string
	// LogComponents sets the levels of some of LiveKit's components
	// (LiveKit's logging.component_levels), such as {"transport": "debug"}
	// for the ICE and DTLS state changes of every peer connection.
	LogComponents map[string]string
	// StopTimeout is the grace period between SIGTERM and SIGKILL (DefaultStopTimeout).
	// A second SIGTERM, which makes LiveKit stop without waiting for participants,
	// goes out halfway through it.
	StopTimeout time.Duration
	// StartTimeout bounds how long a start may take until the server answers HTTP (DefaultStartTimeout).
	StartTimeout time.Duration

	// Logger receives the supervisor's messages and LiveKit's warnings and errors
	// (slog.Default() if nil). Everything LiveKit prints also goes to LogFile.
	Logger *slog.Logger
}

// withDefaults returns a copy of o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Binary == "" {
		o.Binary = DefaultBinary()
	}
	// The child runs in DataDir, so relative paths must not reach it.
	for _, p := range []*string{&o.Binary, &o.DataDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			if abs, err := filepath.Abs(*p); err == nil {
				*p = abs
			}
		}
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if len(o.BindAddresses) == 0 {
		o.BindAddresses = []string{"127.0.0.1"}
	}
	if o.TCPPort == 0 {
		o.TCPPort = DefaultTCPPort
	}
	if o.UDPPort == 0 {
		o.UDPPort = DefaultUDPPort
	}
	if o.LogLevel == "" {
		o.LogLevel = DefaultLogLevel
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// validate reports every problem with o (after withDefaults) at once.
func (o Options) validate() error {
	var errs []error
	if o.DataDir == "" {
		errs = append(errs, errors.New("sfu: DataDir is required"))
	}
	if o.APIKey == "" || o.APISecret == "" {
		errs = append(errs, errors.New("sfu: APIKey and APISecret are required"))
	}
	for _, p := range []struct {
		name string
		port int
	}{{"Port", o.Port}, {"TCPPort", o.TCPPort}, {"UDPPort", o.UDPPort}} {
		if p.port < 1 || p.port > 65535 {
			errs = append(errs, fmt.Errorf("sfu: %s %d out of range", p.name, p.port))
		}
	}
	if o.Port == o.TCPPort {
		errs = append(errs, fmt.Errorf("sfu: Port and TCPPort are both %d", o.Port))
	}
	for _, p := range []struct {
		name string
		port int
	}{{"DebugPort", o.DebugPort}, {"PrometheusPort", o.PrometheusPort}} {
		if p.port == 0 {
			continue
		}
		if p.port < 1 || p.port > 65535 {
			errs = append(errs, fmt.Errorf("sfu: %s %d out of range", p.name, p.port))
		}
		if p.port == o.Port || p.port == o.TCPPort {
			errs = append(errs, fmt.Errorf("sfu: %s %d is taken by Port or TCPPort", p.name, p.port))
		}
	}
	if o.DebugPort != 0 && o.DebugPort == o.PrometheusPort {
		errs = append(errs, fmt.Errorf("sfu: DebugPort and PrometheusPort are both %d", o.DebugPort))
	}
	if !validLevel(o.LogLevel) {
		errs = append(errs, fmt.Errorf("sfu: LogLevel %q is not debug, info, warn or error", o.LogLevel))
	}
	for _, c := range slices.Sorted(maps.Keys(o.LogComponents)) {
		if l := o.LogComponents[c]; c == "" || !validLevel(l) {
			errs = append(errs, fmt.Errorf("sfu: LogComponents[%q] = %q: want a component and debug, info, warn or error", c, l))
		}
	}
	return errors.Join(errs...)
}

func validLevel(l string) bool {
	switch l {
	case "debug", "info", "warn", "error":
		return true
	}
	return false
}

// lkConfig is the subset of livekit-server's YAML config that the sidecar sets.
type lkConfig struct {
	Port          int               `yaml:"port"`
	BindAddresses []string          `yaml:"bind_addresses"`
	RTC           lkRTC             `yaml:"rtc"`
	Keys          map[string]string `yaml:"keys"`
	Room          lkRoom            `yaml:"room"`
	Webhook       *lkWebhook        `yaml:"webhook,omitempty"`
	Redis         *lkRedis          `yaml:"redis,omitempty"`
	Logging       lkLogging         `yaml:"logging"`
	DebugHandler  *lkDebugHandler   `yaml:"debug_handler,omitempty"`
	Prometheus    *lkPrometheus     `yaml:"prometheus,omitempty"`
}

type lkDebugHandler struct {
	Port int `yaml:"port"`
}

type lkPrometheus struct {
	Port int `yaml:"port"`
}

type lkRTC struct {
	TCPPort       int         `yaml:"tcp_port"`
	UDPPort       int         `yaml:"udp_port"`
	UseExternalIP bool        `yaml:"use_external_ip"`
	NodeIP        string      `yaml:"node_ip,omitempty"`
	Interfaces    *lkIncludes `yaml:"interfaces,omitempty"`
	IPs           *lkIncludes `yaml:"ips,omitempty"`
}

type lkIncludes struct {
	Includes []string `yaml:"includes"`
}

type lkRoom struct {
	EmptyTimeout     uint32 `yaml:"empty_timeout,omitempty"`
	DepartureTimeout uint32 `yaml:"departure_timeout,omitempty"`
	AutoCreate       bool   `yaml:"auto_create"`
}

type lkRedis struct {
	Address string `yaml:"address"`
}

type lkWebhook struct {
	APIKey string   `yaml:"api_key"`
	URLs   []string `yaml:"urls"`
}

type lkLogging struct {
	Level           string            `yaml:"level"`
	JSON            bool              `yaml:"json"`
	ComponentLevels map[string]string `yaml:"component_levels,omitempty"`
}

// configYAML renders the livekit-server config for o (after withDefaults).
func configYAML(o Options) ([]byte, error) {
	c := lkConfig{
		Port:          o.Port,
		BindAddresses: o.BindAddresses,
		RTC: lkRTC{
			TCPPort:       o.TCPPort,
			UDPPort:       o.UDPPort,
			UseExternalIP: false,
			NodeIP:        o.NodeIP,
		},
		Keys: map[string]string{o.APIKey: o.APISecret},
		Room: lkRoom{
			EmptyTimeout:     seconds(o.EmptyTimeout),
			DepartureTimeout: seconds(o.DepartureTimeout),
			AutoCreate:       true,
		},
		Logging: lkLogging{Level: o.LogLevel, JSON: true, ComponentLevels: o.LogComponents},
	}
	if len(o.Interfaces) > 0 {
		c.RTC.Interfaces = &lkIncludes{Includes: o.Interfaces}
	}
	if len(o.IPs) > 0 {
		c.RTC.IPs = &lkIncludes{Includes: o.IPs}
	}
	if o.Redis != "" {
		c.Redis = &lkRedis{Address: o.Redis}
	}
	if len(o.WebhookURLs) > 0 {
		c.Webhook = &lkWebhook{APIKey: o.APIKey, URLs: o.WebhookURLs}
	}
	if o.DebugPort != 0 {
		c.DebugHandler = &lkDebugHandler{Port: o.DebugPort}
	}
	if o.PrometheusPort != 0 {
		c.Prometheus = &lkPrometheus{Port: o.PrometheusPort}
	}
	b, err := yaml.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("sfu: render config: %w", err)
	}
	return b, nil
}

// seconds rounds d up to whole seconds; LiveKit's room timeouts are in seconds.
func seconds(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32((d + time.Second - 1) / time.Second)
}

// writeConfig writes the config atomically into dir as ConfigFile with mode 0600 and returns its path.
func writeConfig(dir string, body []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("sfu: data dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ConfigFile+".*") // CreateTemp makes the file 0600
	if err != nil {
		return "", fmt.Errorf("sfu: write config: %w", err)
	}
	_, werr := f.Write(body)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("sfu: write config: %w", err)
	}
	path := filepath.Join(dir, ConfigFile)
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("sfu: write config: %w", err)
	}
	return path, nil
}

// DefaultBinary returns where the bundled livekit-server is expected: $LIVEKIT_SERVER_BIN if set,
// else bin/livekit-server under the rtk-sidecar module root (found by walking up from the working
// directory to the go.mod of module rtk-sidecar), else livekit-server next to the running executable.
func DefaultBinary() string {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p
	}
	if root := moduleRoot(); root != "" {
		return filepath.Join(root, "bin", "livekit-server")
	}
	if exe, err := os.Executable(); err == nil {
		return filepath.Join(filepath.Dir(exe), "livekit-server")
	}
	return "livekit-server"
}

// moduleRoot walks up from the working directory to the directory whose go.mod declares
// module rtk-sidecar, or returns "".
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if isSidecarModule(filepath.Join(dir, "go.mod")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func isSidecarModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == "rtk-sidecar"
		}
	}
	return false
}
