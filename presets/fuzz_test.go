package presets_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/livekit/psrpc"

	"rtk-sidecar/presets"
)

// checkDecoded checks what Decode or Patch returned for body: a refusal is InvalidArgument (a
// 400, the client's fault), and an accepted preset survives the store: its Body restores it
// (FromBody) as it was.
func checkDecoded(t *testing.T, body []byte, p presets.Preset, err error) {
	t.Helper()
	var perr psrpc.Error
	if err != nil {
		if !errors.As(err, &perr) || perr.Code() != psrpc.InvalidArgument {
			t.Fatalf("%q refused with %v, want InvalidArgument", body, err)
		}
		return
	}
	stored, err := p.Body()
	if err != nil {
		t.Fatalf("%q: Body: %v", body, err)
	}
	back, err := presets.FromBody(p.Name, stored)
	if err != nil {
		t.Fatalf("%q: the stored preset does not load: %v", body, err)
	}
	again, err := back.Body()
	if err != nil || !bytes.Equal(again, stored) || !reflect.DeepEqual(back.Permissions, p.Permissions) {
		t.Fatalf("%q: the stored preset changed on the way back:\n%s\n%s", body, stored, again)
	}
}

// FuzzDecode: the decoder of create and replace requests. Seeds: testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := presets.Decode(body)
		checkDecoded(t, body, p, err)
	})
}

// FuzzPatch: the decoder of PATCH requests, over a default preset. Seeds:
// testdata/fuzz/FuzzPatch.
func FuzzPatch(f *testing.F) {
	base := presets.Defaults()[0]
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := base.Patch(body)
		checkDecoded(t, body, p, err)
	})
}
