package keyfile

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateCreatesOnceThenLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "k.pem")
	k1, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", st.Mode().Perm())
	}
	k2, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Fatal("second load returned a different key")
	}
}

func TestLoadPKCS8(t *testing.T) {
	k, err := LoadOrCreate(filepath.Join(t.TempDir(), "a.pem"))
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "p8.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(k) {
		t.Fatal("PKCS#8 key not loaded as written")
	}
}

func TestGarbageIsAnErrorAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path); err == nil || !strings.Contains(err.Error(), "no PEM block") {
		t.Fatalf("err = %v, want 'no PEM block'", err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "not a key" {
		t.Fatal("a bad key file was overwritten")
	}
}

func TestPublicPEM(t *testing.T) {
	k, err := LoadOrCreate(filepath.Join(t.TempDir(), "a.pem"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := PublicPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("PublicPEM = %q", s)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !k.PublicKey.Equal(pub) {
		t.Fatal("public key does not match")
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d", "secret")
	a, err := LoadOrCreateSecret(path, 32)
	if err != nil || len(a) != 32 {
		t.Fatalf("secret %x, %v", a, err)
	}
	b, err := LoadOrCreateSecret(path, 32)
	if err != nil || string(a) != string(b) {
		t.Fatal("the secret changed on the second load")
	}
	if err := os.WriteFile(path, []byte("zz"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSecret(path, 32); err == nil {
		t.Fatal("a bad secret file was accepted")
	}
}
