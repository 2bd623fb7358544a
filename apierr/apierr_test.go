package apierr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/livekit/psrpc"

	"rtk-sidecar/apierr"
	"rtk-sidecar/store"
)

func TestInvalid(t *testing.T) {
	err := apierr.Invalid("ai_config.transcription.language", "must be one of [%s]", "en-US, de")
	var perr psrpc.Error
	if !errors.As(err, &perr) || perr.Code() != psrpc.InvalidArgument {
		t.Fatalf("Invalid = %v, want an InvalidArgument psrpc error", err)
	}
	if want := `"ai_config.transcription.language" must be one of [en-US, de]`; err.Error() != want {
		t.Errorf("Invalid = %q, want %q", err, want)
	}
}

func TestNotFound(t *testing.T) {
	other := errors.New("disk on fire")
	cases := []struct {
		name string
		err  error
		want string // "" for nil
		code psrpc.ErrorCode
	}{
		{"missing", store.ErrNotFound, "meeting m-1 not found", psrpc.NotFound},
		{"wrapped", fmt.Errorf("get meeting: %w", store.ErrNotFound), "meeting m-1 not found", psrpc.NotFound},
		{"other", other, other.Error(), ""},
		{"nil", nil, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := apierr.NotFound("meeting", "m-1", tc.err)
			switch {
			case tc.want == "":
				if err != nil {
					t.Fatalf("NotFound = %v, want nil", err)
				}
				return
			case err == nil || err.Error() != tc.want:
				t.Fatalf("NotFound = %v, want %q", err, tc.want)
			}
			var perr psrpc.Error
			if tc.code != "" && (!errors.As(err, &perr) || perr.Code() != tc.code) {
				t.Errorf("NotFound = %v, want code %s", err, tc.code)
			}
			if tc.code == "" && err != tc.err {
				t.Errorf("NotFound = %v, want the error itself", err)
			}
		})
	}
}
