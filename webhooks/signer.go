package webhooks

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"

	"rtk-sidecar/keyfile"
)

// Signer signs webhook bodies with the sidecar's webhook key:
// RSASSA-PKCS1-v1_5 with SHA-256 over the exact body bytes, base64
// (standard, padded), as RealtimeKit's rtk-signature header carries it.
type Signer struct {
	key       *rsa.PrivateKey
	publicPEM string
}

// NewSigner returns a Signer for key.
func NewSigner(key *rsa.PrivateKey) (*Signer, error) {
	pub, err := keyfile.PublicPEM(key)
	if err != nil {
		return nil, err
	}
	return &Signer{key: key, publicPEM: pub}, nil
}

// Sign returns the base64 signature of body.
func (s *Signer) Sign(body []byte) (string, error) {
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("webhooks: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// PublicKeyPEM returns the PEM ("PUBLIC KEY", SPKI) of the key that
// verifies the signatures: what /.well-known/webhooks.json serves.
func (s *Signer) PublicKeyPEM() string { return s.publicPEM }

// ErrBadSignature is returned by Verify for a signature that does not match.
var ErrBadSignature = errors.New("webhooks: signature does not match the body")

// ParsePublicKey parses a PEM public key as /.well-known/webhooks.json
// serves it.
func ParsePublicKey(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("webhooks: no PEM block in the public key")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("webhooks: public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("webhooks: public key is %T, want RSA", k)
	}
	return rk, nil
}

// Verify checks a base64 signature (the rtk-signature header) of body with
// the public key: what a receiver does.
func Verify(pub *rsa.PublicKey, body []byte, signature string) error {
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: not base64: %v", ErrBadSignature, err)
	}
	sum := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return ErrBadSignature
	}
	return nil
}
