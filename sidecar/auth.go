package sidecar

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// APIKey is one REST API credential. Only the SHA-256 of the secret is kept.
type APIKey struct {
	AccountID string // the account the key acts for
	OrgID     string // Dyte org id, for Basic auth
	AppID     string // default app, for the /v2 paths
	hash      [sha256.Size]byte
}

// NewAPIKey returns a key from its secret.
func NewAPIKey(accountID, orgID, appID, secret string) APIKey {
	return APIKey{AccountID: accountID, OrgID: orgID, AppID: appID, hash: sha256.Sum256([]byte(secret))}
}

// NewAPIKeyFromHash returns a key from the hex SHA-256 of its secret.
func NewAPIKeyFromHash(accountID, orgID, appID, hexHash string) (APIKey, error) {
	b, err := hex.DecodeString(hexHash)
	if err != nil || len(b) != sha256.Size {
		return APIKey{}, fmt.Errorf("sidecar: key of account %s: secret_sha256 must be %d hex digits", accountID, 2*sha256.Size)
	}
	k := APIKey{AccountID: accountID, OrgID: orgID, AppID: appID}
	copy(k.hash[:], b)
	return k, nil
}

// keyring finds the API key a request presents.
type keyring []APIKey

// match returns the key whose secret hashes to the same value as secret
// (and whose org matches, when org is not empty). Every key is compared, in
// constant time, whatever matches, so timing tells nothing about the keys.
func (r keyring) match(org, secret string) (APIKey, bool) {
	h := sha256.Sum256([]byte(secret))
	var found APIKey
	ok := 0
	for _, k := range r {
		eq := subtle.ConstantTimeCompare(h[:], k.hash[:])
		if org != "" {
			eq &= subtle.ConstantTimeCompare([]byte(org), []byte(k.OrgID))
		}
		if eq == 1 && ok == 0 {
			found, ok = k, 1
		}
	}
	return found, ok == 1
}

// authenticate accepts "Bearer <secret>" and "Basic base64(org:secret)".
func (r keyring) authenticate(header string) (APIKey, bool) {
	scheme, cred, found := strings.Cut(header, " ")
	if !found {
		return APIKey{}, false
	}
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "bearer":
		return r.match("", cred)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return APIKey{}, false
		}
		org, secret, found := strings.Cut(string(raw), ":")
		if !found || org == "" {
			return APIKey{}, false
		}
		return r.match(org, secret)
	}
	return APIKey{}, false
}

// Context keys set by the auth middleware.
const (
	keyCtx   = "rtk.key"
	appIDCtx = "rtk.app"
)

// requireKey authenticates the request with an API key.
func (s *Server) requireKey(c *gin.Context) {
	k, found := s.keys.authenticate(c.GetHeader("Authorization"))
	if !found {
		c.Header("WWW-Authenticate", `Bearer realm="rtk-sidecar"`)
		abortWith(c, http.StatusUnauthorized, "Unauthorized: a valid API key is required (Authorization: Bearer <key> or Basic <org_id:key>)")
		return
	}
	c.Set(keyCtx, k)
}

func keyOf(c *gin.Context) APIKey {
	k, _ := c.Get(keyCtx)
	return k.(APIKey)
}

// requireAccount checks that the key may act for the :account_id of the path.
func (s *Server) requireAccount(c *gin.Context) {
	if acc := c.Param("account_id"); keyOf(c).AccountID != acc {
		abortWith(c, http.StatusForbidden, fmt.Sprintf("this API key has no access to account %q", acc))
	}
}

// pathApp resolves the :app_id of a Cloudflare path within the key's account.
func (s *Server) pathApp(c *gin.Context) {
	a, err := s.meetings.App(c.Request.Context(), keyOf(c).AccountID, c.Param("app_id"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.Set(appIDCtx, a.ID)
}

// defaultApp resolves the app of a /v2 path: the key's default app.
func (s *Server) defaultApp(c *gin.Context) {
	c.Set(appIDCtx, keyOf(c).AppID)
}

func appOf(c *gin.Context) string { return c.GetString(appIDCtx) }
