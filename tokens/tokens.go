// Package tokens issues and verifies participant tokens: the JWTs that
// RealtimeKit hands out when a participant is added, and that a client
// presents to join. A token names the app, meeting, participant and preset
// and is signed by the sidecar (RS256), so it alone identifies who is
// joining. It says nothing about whether the participant still exists or may
// still join: callers check that against the store.
package tokens

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/livekit/psrpc"
)

// ErrInvalid is returned, wrapped with the reason, for a token that is
// malformed, badly signed, expired or missing a claim. It maps to HTTP 401.
var ErrInvalid = psrpc.NewErrorf(psrpc.Unauthenticated, "invalid participant token")

// issuer is the iss claim of every token; tokens from anyone else are refused.
const issuer = "rtk-sidecar"

// Claims are what a participant token asserts. The JSON names follow the
// tokens RealtimeKit issues (orgId, meetingId, participantId, presetId).
type Claims struct {
	OrgID         string `json:"orgId"` // the account the app belongs to
	AppID         string `json:"appId"`
	MeetingID     string `json:"meetingId"`
	ParticipantID string `json:"participantId"`
	PresetID      string `json:"presetId"`
	jwt.RegisteredClaims
}

// Issuer signs and verifies participant tokens with one RSA key.
// It is safe for concurrent use.
type Issuer struct {
	key *rsa.PrivateKey
	ttl time.Duration
	now func() time.Time
}

// NewIssuer returns an Issuer whose tokens are signed with key and valid for ttl.
func NewIssuer(key *rsa.PrivateKey, ttl time.Duration) *Issuer {
	return &Issuer{key: key, ttl: ttl, now: time.Now}
}

// Issue returns a signed token for the participant. Only the ids in c are
// used; the registered claims are set here.
func (is *Issuer) Issue(c Claims) (string, error) {
	now := is.now()
	c.RegisteredClaims = jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   c.ParticipantID,
		ID:        uuid.NewString(),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), // tolerate clock skew
		ExpiresAt: jwt.NewNumericDate(now.Add(is.ttl)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, &c).SignedString(is.key)
	if err != nil {
		return "", fmt.Errorf("tokens: sign: %w", err)
	}
	return s, nil
}

// Verify checks the token's signature, issuer and expiry and returns its
// claims. Every failure is ErrInvalid, wrapped with the reason.
func (is *Issuer) Verify(token string) (Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return &is.key.PublicKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(is.now),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, shortReason(err))
	}
	if c.AppID == "" || c.MeetingID == "" || c.ParticipantID == "" || c.PresetID == "" {
		return Claims{}, fmt.Errorf("%w: missing claims", ErrInvalid)
	}
	return c, nil
}

// shortReason names the failure without echoing token contents.
func shortReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "token malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "bad signature"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "unknown issuer"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not valid yet"
	default:
		return "token rejected"
	}
}
