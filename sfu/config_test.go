package sfu

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const testSecret = "0123456789abcdef0123456789abcdef-secret"

// lookup follows a dotted path through YAML decoded into maps.
func lookup(t *testing.T, doc map[string]any, path string) (any, bool) {
	t.Helper()
	var cur any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func TestConfigYAML(t *testing.T) {
	base := Options{DataDir: "/x", APIKey: "key1", APISecret: testSecret}
	for _, tc := range []struct {
		name   string
		modify func(*Options)
		want   map[string]any // dotted path -> value after decoding
		absent []string       // dotted paths that must not be present
	}{
		{
			name: "defaults",
			want: map[string]any{
				"port":                DefaultPort,
				"bind_addresses":      []any{"127.0.0.1"},
				"rtc.tcp_port":        DefaultTCPPort,
				"rtc.udp_port":        DefaultUDPPort,
				"rtc.use_external_ip": false,
				"keys.key1":           testSecret,
				"room.auto_create":    true,
				"logging.level":       "info",
				"logging.json":        true,
			},
			absent: []string{"rtc.node_ip", "rtc.interfaces", "rtc.ips", "webhook", "room.empty_timeout", "room.departure_timeout",
				"logging.component_levels", "debug_handler", "prometheus", "redis"},
		},
		{
			name: "everything set",
			modify: func(o *Options) {
				o.Port, o.TCPPort, o.UDPPort = 17980, 17981, 17982
				o.BindAddresses = []string{"127.0.0.1", "10.1.2.3"}
				o.NodeIP = "198.18.0.1"
				o.Interfaces = []string{"v0"}
				o.IPs = []string{"198.18.0.1/32"}
				o.WebhookURLs = []string{"http://127.0.0.1:7990/lk", "http://127.0.0.1:7991/lk"}
				o.EmptyTimeout = 300 * time.Second
				o.DepartureTimeout = 1500 * time.Millisecond // rounds up to 2
				o.LogLevel = "debug"
				o.LogComponents = map[string]string{"transport": "debug", "sub": "warn"}
				o.DebugPort = 17983
				o.PrometheusPort = 17984
				o.Redis = "127.0.0.1:6379"
			},
			want: map[string]any{
				"port":                     17980,
				"bind_addresses":           []any{"127.0.0.1", "10.1.2.3"},
				"rtc.tcp_port":             17981,
				"rtc.udp_port":             17982,
				"rtc.use_external_ip":      false,
				"rtc.node_ip":              "198.18.0.1",
				"rtc.interfaces.includes":  []any{"v0"},
				"rtc.ips.includes":         []any{"198.18.0.1/32"},
				"keys.key1":                testSecret,
				"room.empty_timeout":       300,
				"room.departure_timeout":   2,
				"room.auto_create":         true,
				"webhook.api_key":          "key1",
				"webhook.urls":             []any{"http://127.0.0.1:7990/lk", "http://127.0.0.1:7991/lk"},
				"logging.level":            "debug",
				"logging.json":             true,
				"logging.component_levels": map[string]any{"transport": "debug", "sub": "warn"},
				"debug_handler.port":       17983,
				"prometheus.port":          17984,
				"redis.address":            "127.0.0.1:6379",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			if tc.modify != nil {
				tc.modify(&o)
			}
			b, err := configYAML(o.withDefaults())
			if err != nil {
				t.Fatalf("configYAML: %v", err)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(b, &doc); err != nil {
				t.Fatalf("generated YAML does not parse: %v\n%s", err, b)
			}
			for path, want := range tc.want {
				got, ok := lookup(t, doc, path)
				if !ok {
					t.Errorf("%s missing from\n%s", path, b)
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", path, got, want)
				}
			}
			for _, path := range tc.absent {
				if got, ok := lookup(t, doc, path); ok {
					t.Errorf("%s = %#v, want it absent", path, got)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    Options
		wantErr []string // substrings; none means valid
	}{
		{"valid", Options{DataDir: "d", APIKey: "k", APISecret: "s"}, nil},
		{"missing all", Options{}, []string{"DataDir is required", "APIKey and APISecret are required"}},
		{"bad port", Options{DataDir: "d", APIKey: "k", APISecret: "s", Port: 70000}, []string{"Port 70000 out of range"}},
		{"port clash", Options{DataDir: "d", APIKey: "k", APISecret: "s", Port: 9000, TCPPort: 9000}, []string{"Port and TCPPort are both 9000"}},
		{"bad debug port", Options{DataDir: "d", APIKey: "k", APISecret: "s", DebugPort: -1}, []string{"DebugPort -1 out of range"}},
		{"debug port clash", Options{DataDir: "d", APIKey: "k", APISecret: "s", DebugPort: DefaultPort}, []string{"DebugPort 7880 is taken"}},
		{"debug port clash with TCP", Options{DataDir: "d", APIKey: "k", APISecret: "s", DebugPort: DefaultTCPPort}, []string{"DebugPort 7881 is taken"}},
		{"bad prometheus port", Options{DataDir: "d", APIKey: "k", APISecret: "s", PrometheusPort: 70000}, []string{"PrometheusPort 70000 out of range"}},
		{"prometheus port clash", Options{DataDir: "d", APIKey: "k", APISecret: "s", PrometheusPort: DefaultPort}, []string{"PrometheusPort 7880 is taken"}},
		{"prometheus and debug port clash", Options{DataDir: "d", APIKey: "k", APISecret: "s", DebugPort: 9000, PrometheusPort: 9000}, []string{"DebugPort and PrometheusPort are both 9000"}},
		{"bad level", Options{DataDir: "d", APIKey: "k", APISecret: "s", LogLevel: "loud"}, []string{`LogLevel "loud"`}},
		{"bad component level", Options{DataDir: "d", APIKey: "k", APISecret: "s", LogComponents: map[string]string{"transport": "trace", "": "info"}},
			[]string{`LogComponents["transport"] = "trace"`, `LogComponents[""] = "info"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.withDefaults().validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate: no error, want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("validate error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestWriteConfigIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	// A stale, world-readable config from an older version must not keep its mode.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := writeConfig(dir, []byte("keys: {k: s}\n"))
	if err != nil {
		t.Fatalf("writeConfig: %v", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("config mode = %v, want 0600", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); string(b) != "keys: {k: s}\n" {
		t.Errorf("config content = %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only %s (temp file left behind?)", len(entries), ConfigFile)
	}
}

func TestChildEnvDropsLiveKitOverrides(t *testing.T) {
	got := childEnv([]string{
		"PATH=/bin", "LIVEKIT_CONFIG=port: 1", "LIVEKIT_KEYS=a: b", "NODE_IP=1.2.3.4",
		"UDP_PORT=1", "REDIS_HOST=x", "HOME=/root", "LIVEKIT_RTC_TCP_PORT=1", "MY_LIVEKIT=ok",
	})
	want := []string{"PATH=/bin", "HOME=/root", "MY_LIVEKIT=ok"}
	if !slices.Equal(got, want) {
		t.Errorf("childEnv = %q, want %q", got, want)
	}
}

func TestDefaultBinary(t *testing.T) {
	t.Setenv(BinaryEnv, "/opt/lk/livekit-server")
	if got := DefaultBinary(); got != "/opt/lk/livekit-server" {
		t.Errorf("with %s set: DefaultBinary() = %q", BinaryEnv, got)
	}
	t.Setenv(BinaryEnv, "")
	// The tests run in <root>/sfu, so the module root is the parent directory.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := DefaultBinary(), filepath.Join(filepath.Dir(wd), "bin", "livekit-server"); got != want {
		t.Errorf("DefaultBinary() = %q, want %q", got, want)
	}
}

func TestRelativePathsBecomeAbsolute(t *testing.T) {
	t.Chdir(t.TempDir())
	o := New(Options{Binary: "bin/livekit-server", DataDir: "data/livekit"}).opts
	for _, p := range []string{o.Binary, o.DataDir} {
		if !filepath.IsAbs(p) {
			t.Errorf("%q is relative: the child, which runs in DataDir, would not find it", p)
		}
	}
}
