package sidecar

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/livekit/psrpc"
)

// errorBody is RealtimeKit's error envelope. The code is the HTTP status, as
// in RealtimeKit's (Dyte's) API; "errors" repeats it in the Cloudflare v4
// shape, which Cloudflare's SDKs read.
type errorBody struct {
	Success bool        `json:"success"`
	Error   errorDetail `json:"error"`
	Errors  []cfError   `json:"errors"`
}

type errorDetail struct {
	Code      int    `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
	// Version and State are the current version and state of the connected
	// meetings that a stale change (409) was refused against.
	Version *int64 `json:"version,omitempty"`
	State   any    `json:"state,omitempty"`
}

type cfError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// statusOf maps an error to its HTTP status. It is the only place that does:
// errors carry their class as a psrpc code, wrapped with %w.
func statusOf(err error) int {
	var perr psrpc.Error
	switch {
	case errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &perr):
		return perr.ToHttp()
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// staleError is a refused stale change (409) with the current version and
// state of what it was refused against, which its envelope shows.
type staleError struct {
	err     error
	version int64
	state   any
}

func (e *staleError) Error() string { return e.err.Error() }
func (e *staleError) Unwrap() error { return e.err }

// writeError renders err in the error envelope. A 5xx tells the client only
// the status text; the error itself goes to the log (via c.Error).
func writeError(c *gin.Context, err error) {
	status := statusOf(err)
	d := errorDetail{Code: status, Message: err.Error()}
	if status >= 500 {
		d.Message = http.StatusText(status)
	}
	var stale *staleError
	if errors.As(err, &stale) {
		d.Version, d.State = &stale.version, stale.state
	}
	_ = c.Error(err)
	abortWithDetail(c, status, d)
}

// abortWith ends the request with an error envelope.
func abortWith(c *gin.Context, status int, msg string) {
	abortWithDetail(c, status, errorDetail{Code: status, Message: msg})
}

func abortWithDetail(c *gin.Context, status int, d errorDetail) {
	d.RequestID = c.GetString(requestIDKey)
	c.AbortWithStatusJSON(status, errorBody{Error: d, Errors: []cfError{{Code: status, Message: d.Message}}})
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(c *gin.Context) error

// handle adapts a handlerFunc to gin: a returned error becomes the envelope.
func handle(h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			writeError(c, err)
		}
	}
}

// invalidArgument wraps a request problem as a 400.
func invalidArgument(format string, args ...any) error {
	return psrpc.NewErrorf(psrpc.InvalidArgument, format, args...)
}
