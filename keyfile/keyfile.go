// Package keyfile loads the sidecar's keys (RSA private keys in PEM, random
// secrets in hex) from files and creates them on first use, so a
// development install needs no key ceremony while production can mount its
// own keys.
package keyfile

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Bits is the size of the keys LoadOrCreate generates.
const Bits = 2048

// LoadOrCreate returns the RSA private key stored at path (PKCS#1 or PKCS#8
// PEM). When the file does not exist it generates a key, writes it there
// with mode 0600 (creating parent directories) and returns it. A file that
// exists but holds no usable RSA key is an error, never overwritten.
func LoadOrCreate(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		return parse(path, b)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("keyfile: read %s: %w", path, err)
	}
	key, err := rsa.GenerateKey(rand.Reader, Bits)
	if err != nil {
		return nil, fmt.Errorf("keyfile: generate: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	// O_EXCL: if another process created the file meanwhile, use its key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreate(path)
	}
	if err != nil {
		return nil, fmt.Errorf("keyfile: create %s: %w", path, err)
	}
	if _, err := f.Write(out); err != nil {
		f.Close()
		return nil, fmt.Errorf("keyfile: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("keyfile: write %s: %w", path, err)
	}
	return key, nil
}

func parse(path string, b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("keyfile: %s holds no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %s: not an RSA private key: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("keyfile: %s: key is %T, want RSA", path, k)
	}
	return rk, nil
}

// PublicPEM returns the PEM (SPKI, "PUBLIC KEY") encoding of key's public half.
func PublicPEM(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", fmt.Errorf("keyfile: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// LoadOrCreateSecret returns the random secret stored (hex) at path,
// creating an n-byte one there (mode 0600) when the file does not exist.
func LoadOrCreateSecret(path string, n int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(s) < 16 {
			return nil, fmt.Errorf("keyfile: %s does not hold a hex secret of at least 16 bytes", path)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keyfile: read %s: %w", path, err)
	}
	s := make([]byte, n)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("keyfile: generate: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateSecret(path, n)
	}
	if err != nil {
		return nil, fmt.Errorf("keyfile: create %s: %w", path, err)
	}
	_, werr := f.WriteString(hex.EncodeToString(s) + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		return nil, fmt.Errorf("keyfile: write %s: %w", path, err)
	}
	return s, nil
}
