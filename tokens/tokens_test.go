package tokens

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/psrpc"
)

func newKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var sample = Claims{OrgID: "acc", AppID: "app", MeetingID: "m", ParticipantID: "p", PresetID: "pr"}

func TestIssueVerifyRoundTrip(t *testing.T) {
	is := NewIssuer(newKey(t), time.Hour)
	tok, err := is.Issue(sample)
	if err != nil {
		t.Fatal(err)
	}
	c, err := is.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.OrgID != "acc" || c.AppID != "app" || c.MeetingID != "m" || c.ParticipantID != "p" || c.PresetID != "pr" {
		t.Fatalf("claims = %+v", c)
	}
	if got := c.ExpiresAt.Sub(c.IssuedAt.Time); got != time.Hour {
		t.Fatalf("lifetime = %v, want 1h", got)
	}
	tok2, _ := is.Issue(sample)
	if tok2 == tok {
		t.Fatal("two tokens for the same participant are identical; each needs its own jti")
	}
}

func TestVerifyRejects(t *testing.T) {
	key := newKey(t)
	is := NewIssuer(key, time.Hour)
	good, err := is.Issue(sample)
	if err != nil {
		t.Fatal(err)
	}
	expired := NewIssuer(key, time.Hour)
	expired.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	old, _ := expired.Issue(sample)
	other, _ := NewIssuer(newKey(t), time.Hour).Issue(sample)
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, &Claims{AppID: "a", MeetingID: "m", ParticipantID: "p", PresetID: "x",
		RegisteredClaims: jwt.RegisteredClaims{Issuer: issuer, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).SignedString([]byte("k"))
	missing, _ := is.Issue(Claims{AppID: "a"})
	foreign, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, &Claims{AppID: "a", MeetingID: "m", ParticipantID: "p", PresetID: "x",
		RegisteredClaims: jwt.RegisteredClaims{Issuer: "someone-else", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).SignedString(key)

	for _, tc := range []struct{ name, token, reason string }{
		{"garbage", "abc", "malformed"},
		{"tampered", good[:len(good)-4] + "AAAA", "bad signature"},
		{"other key", other, "bad signature"},
		{"expired", old, "expired"},
		{"hmac algorithm", hs, "bad signature"},
		{"missing claims", missing, "missing claims"},
		{"foreign issuer", foreign, "unknown issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := is.Verify(tc.token)
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, psrpc.Unauthenticated) {
				t.Fatalf("err = %v, want ErrInvalid (Unauthenticated)", err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("err = %v, want reason %q", err, tc.reason)
			}
		})
	}
}

// New tokens are EdDSA; RS256 tokens signed by the RSA key, as earlier
// versions issued them, are still accepted; an issuer over the same key
// file (another process, a restart) accepts the tokens of the first.
func TestEdDSAAndEarlierRS256Tokens(t *testing.T) {
	key := newKey(t)
	is := NewIssuer(key, time.Hour)
	tok, err := is.Issue(sample)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, &Claims{})
	if err != nil || parsed.Method.Alg() != "EdDSA" {
		t.Fatalf("new token's algorithm = %v (%v), want EdDSA", parsed.Method.Alg(), err)
	}
	if _, err := NewIssuer(key, time.Hour).Verify(tok); err != nil {
		t.Fatalf("another issuer over the same key refuses the token: %v", err)
	}
	if _, err := NewIssuer(newKey(t), time.Hour).Verify(tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an issuer over another key: Verify = %v, want ErrInvalid", err)
	}

	now := time.Now()
	c := sample
	c.RegisteredClaims = jwt.RegisteredClaims{Issuer: issuer, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}
	earlier, err := jwt.NewWithClaims(jwt.SigningMethodRS256, &c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := is.Verify(earlier)
	if err != nil || got.ParticipantID != "p" || got.PresetID != "pr" {
		t.Fatalf("an RS256 token of the key: Verify = %+v, %v", got, err)
	}
	other, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, &c).SignedString(newKey(t))
	if _, err := is.Verify(other); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "bad signature") {
		t.Fatalf("an RS256 token of another key: Verify = %v, want a bad signature", err)
	}
	// An algorithm Verify does not allow, signed with the RSA key.
	swapped, _ := jwt.NewWithClaims(jwt.SigningMethodPS256, &c).SignedString(key)
	if _, err := is.Verify(swapped); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a PS256 token: Verify = %v, want ErrInvalid", err)
	}
}

// BenchmarkIssue is the cost of a participant token, as add-participant
// pays it.
func BenchmarkIssue(b *testing.B) {
	key := newKey(b)
	is := NewIssuer(key, time.Hour)
	b.Run("EdDSA", func(b *testing.B) {
		for b.Loop() {
			if _, err := is.Issue(sample); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RS256", func(b *testing.B) { // as earlier versions signed
		for b.Loop() {
			if _, err := jwt.NewWithClaims(jwt.SigningMethodRS256, &sample).SignedString(key); err != nil {
				b.Fatal(err)
			}
		}
	})
}
