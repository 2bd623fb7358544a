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
