// Package apierr makes the errors that the domain packages report about a
// request: a bad field, a missing record. They carry their class as a
// psrpc code, which sidecar.statusOf turns into the HTTP status (400, 404),
// and their text is RealtimeKit's.
package apierr

import (
	"errors"
	"fmt"

	"github.com/livekit/psrpc"

	"rtk-sidecar/store"
)

// Invalid returns an InvalidArgument error about one field, in RealtimeKit's
// style: "ai_config.transcription.language" must be one of [...].
func Invalid(field, format string, args ...any) error {
	return psrpc.NewErrorf(psrpc.InvalidArgument, "%q %s", field, fmt.Sprintf(format, args...))
}

// NotFound reports a missing record of a kind by id ("meeting m-1 not
// found", NotFound) when err is store.ErrNotFound, possibly wrapped; it
// returns any other error, and nil, as it is.
func NotFound(kind, id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return psrpc.NewErrorf(psrpc.NotFound, "%s %s not found", kind, id)
	}
	return err
}
