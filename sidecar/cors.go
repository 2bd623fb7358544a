package sidecar

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// CORS: pages of the origins in Deps.CORSOrigins may call the participant
// API (/client/v1/..., the event stream included) and load the browser SDK
// (/sdk/...) from another origin. Nothing else of the API answers other
// origins: the REST API is for servers.

// corsPaths are the path prefixes that answer other origins.
var corsPaths = []string{"/client/v1/", "/sdk/"}

// Preflight answers: what a page may send. The participant token travels in
// Authorization, so requests carry no cookies (no Allow-Credentials).
const (
	corsMethods       = "GET, POST, PATCH, DELETE"
	corsHeaders       = "Authorization, Content-Type, Accept, X-Request-Id"
	corsExposeHeaders = "X-Request-Id"
	corsMaxAge        = "600"
)

// cors answers preflights and marks the answers to allowed origins. A
// preflight from an origin that is not allowed gets 403; other requests
// from it are served without CORS headers, so that the browser withholds
// the answer from the page.
func (s *Server) cors(c *gin.Context) {
	origin := c.GetHeader("Origin")
	if origin == "" || !slices.ContainsFunc(corsPaths, func(p string) bool { return strings.HasPrefix(c.Request.URL.Path, p) }) {
		return
	}
	h := c.Writer.Header()
	h.Add("Vary", "Origin")
	preflight := c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != ""
	if !s.originAllowed(origin) {
		if preflight {
			abortWith(c, http.StatusForbidden, fmt.Sprintf("origin %s may not call this API (http.cors_origins)", origin))
		}
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if preflight {
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
}

// originAllowed reports whether Deps.CORSOrigins lets origin in: "*" lets
// every origin in; otherwise origins compare case-insensitively.
func (s *Server) originAllowed(origin string) bool {
	for _, o := range s.CORSOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}
