package redact_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"

	"rtk-sidecar/redact"
)

const apiSecret = "e2e-secret-0123456789abcdefghijklmnopqrstuv"

func liveKitToken(t *testing.T) string {
	t.Helper()
	tok, err := auth.NewAccessToken("APIkey123", apiSecret).SetIdentity("p").
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: "r"}).SetValidFor(time.Minute).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestString(t *testing.T) {
	tok := liveKitToken(t)
	r := redact.New("APIkey123", apiSecret, "short")
	for _, tc := range []struct {
		name, in string
		gone     []string // must not be in the output
		kept     []string // must still be there
	}{
		{"a token alone", tok, []string{tok}, nil},
		{"a token in a relayed request", `{"level":"warn","msg":"rpc request failed","request":{"payload":"{\"v\":1,\"livekit\":{\"url\":\"ws://x\",\"token\":\"` + tok + `\",\"room\":\"b\"}}"},"room":"main"}`,
			[]string{tok}, []string{`"room":"main"`, `"msg":"rpc request failed"`}},
		{"a token in a URL", "GET /rtc?access_token=" + tok + "&auto_subscribe=1", []string{tok}, []string{"auto_subscribe=1"}},
		{"an Authorization header", "Authorization: Bearer abc.def-ghi_jkl", []string{"abc.def-ghi_jkl"}, []string{"Authorization"}},
		{"a bearer credential", "sent Bearer abc.def-ghi_jkl to", []string{"abc.def-ghi_jkl"}, []string{"Bearer", "to"}},
		{"Basic credentials", "header Basic b3JnOmtleQ== sent", []string{"b3JnOmtleQ=="}, []string{"sent"}},
		{"known secrets", "keys APIkey123 / " + apiSecret, []string{"APIkey123", apiSecret}, []string{"keys"}},
		{"a secret-named field", `api_secret: hunter2hunter2 secret=xyz9 "apiKey":"k-123" password=pw`, []string{"hunter2hunter2", "xyz9", "k-123", "=pw"}, []string{"api_secret"}},
		{"a key-shaped string", "signing with Zk3mQ9vX2pL7wR4tY8uB1nC6dF0gH5jK", []string{"Zk3mQ9vX2pL7wR4tY8uB1nC6dF0gH5jK"}, []string{"signing with"}},
		{"a private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----\nnext", []string{"MIIEow", "IBAAK"}, []string{"next"}},
		{"identifiers stay", "room 0d9c8b7a-6e5f-4a3b-9c2d-1e0f9a8b7c6d participant PA_aB3dE5fG7hJ9 digest 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 short",
			nil, []string{"0d9c8b7a-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "PA_aB3dE5fG7hJ9", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "short"}},
		{"field names in any case, as (?i) folds them", "TOKEN=aaa1 Api_Key: bbb2 \u212aey \"to\u212aen\":\"ccc3\" \u017fecret=ddd4 BEARER eee5",
			[]string{"aaa1", "bbb2", "ccc3", "ddd4", "eee5"}, []string{"TOKEN", "BEARER"}},
		{"ordinary words", "move done: tokens are refreshed, the secret of success", nil, []string{"move done: tokens are refreshed, the secret of success"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := r.String(tc.in)
			for _, g := range tc.gone {
				if strings.Contains(got, g) {
					t.Errorf("String(%q) = %q: %q is still there", tc.in, got, g)
				}
			}
			for _, k := range tc.kept {
				if !strings.Contains(got, k) {
					t.Errorf("String(%q) = %q: %q is gone", tc.in, got, k)
				}
			}
		})
	}
}

func TestHandler(t *testing.T) {
	tok := liveKitToken(t)
	var buf bytes.Buffer
	log := slog.New(redact.Handler(slog.NewJSONHandler(&buf, nil), redact.New(apiSecret))).With("secret_key", apiSecret)
	log.Warn("join with "+tok, "token", tok, "err", errors.New("bad token "+tok), "n", 3,
		slog.Group("req", "auth", "Bearer "+tok), "payload", map[string]string{"token": tok}, "ok", "fine")
	out := buf.String()
	for _, s := range []string{tok, apiSecret} {
		if strings.Contains(out, s) {
			t.Errorf("log line %s holds %q", out, s)
		}
	}
	for _, s := range []string{`"n":3`, `"ok":"fine"`, `"req":{"auth":"Bearer [REDACTED]"}`, `"msg":"join with [REDACTED]"`} {
		if !strings.Contains(out, s) {
			t.Errorf("log line %s lacks %s", out, s)
		}
	}
}

// BenchmarkHandler is the cost of the sidecar's access log line.
func BenchmarkHandler(b *testing.B) {
	log := slog.New(redact.Handler(slog.NewTextHandler(io.Discard, nil), redact.New(apiSecret)))
	for b.Loop() {
		log.Info("http request", "method", "POST",
			"path", "/accounts/bench-account/realtime/kit/0b3e5a5c-7d1f-4c4e-9b0a-5e6f7a8b9c0d/meetings/1d6a1c9e-2b3f-4e5a-8c7d-9e0f1a2b3c4d/participants",
			"status", 201, "duration", 3*time.Millisecond, "request_id", "9f86d081884c7d65")
	}
}
