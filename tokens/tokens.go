// Package tokens issues and verifies participant tokens: the JWTs that
// RealtimeKit hands out when a participant is added, and that a client
// presents to join. A token names the app, meeting, participant and preset
// and is signed by the sidecar, so it alone identifies who is joining. It
// says nothing about whether the participant still exists or may still join:
// callers check that against the store.
//
// The token is opaque to clients: they present it as they got it. New
// tokens are signed with EdDSA (Ed25519), some 30 times cheaper to sign than
// RS256 with a 2048-bit key; the Ed25519 key is derived from the sidecar's
// RSA token key (HKDF-SHA256), so the one key file still holds everything
// and every process that shares it issues and accepts the same tokens.
// Tokens signed with RS256 by that RSA key, as earlier versions issued them,
// are still accepted until they expire.
package tokens

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rsa"
	"crypto/sha256"
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

// Issuer signs and verifies participant tokens with keys of one RSA key:
// EdDSA with the Ed25519 key derived from it, and (verification only) RS256
// with the RSA key itself. It is safe for concurrent use.
type Issuer struct {
	key *rsa.PrivateKey
	ed  ed25519.PrivateKey
	ttl time.Duration
	now func() time.Time
}

// hkdfInfo names what the Ed25519 key derived from the RSA key is for.
const hkdfInfo = "rtk-sidecar participant tokens: ed25519 signing key"

// NewIssuer returns an Issuer whose tokens are signed with the Ed25519 key
// derived from key and valid for ttl, and that accepts RS256 tokens signed
// by key as well.
func NewIssuer(key *rsa.PrivateKey, ttl time.Duration) *Issuer {
	return &Issuer{key: key, ed: deriveEd25519(key), ttl: ttl, now: time.Now}
}

// deriveEd25519 returns the Ed25519 key of key: HKDF-SHA256 of its private
// exponent, a secret of 2048 bits, stretched to an Ed25519 seed.
func deriveEd25519(key *rsa.PrivateKey) ed25519.PrivateKey {
	seed, err := hkdf.Key(sha256.New, key.D.Bytes(), nil, hkdfInfo, ed25519.SeedSize)
	if err != nil { // only for a length HKDF cannot produce, not SeedSize
		panic("tokens: derive the Ed25519 key: " + err.Error())
	}
	return ed25519.NewKeyFromSeed(seed)
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
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, &c).SignedString(is.ed)
	if err != nil {
		return "", fmt.Errorf("tokens: sign: %w", err)
	}
	return s, nil
}

// Verify checks the token's signature (EdDSA, or RS256 as issued by
// earlier versions), issuer and expiry and returns its claims. Every failure
// is ErrInvalid, wrapped with the reason.
func (is *Issuer) Verify(token string) (Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, is.verificationKey,
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg(), jwt.SigningMethodRS256.Alg()}),
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

// verificationKey returns the public key for the token's algorithm, one of
// those Verify allows.
func (is *Issuer) verificationKey(t *jwt.Token) (any, error) {
	if t.Method == jwt.SigningMethodRS256 {
		return &is.key.PublicKey, nil
	}
	return is.ed.Public(), nil
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
