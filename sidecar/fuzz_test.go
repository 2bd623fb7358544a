package sidecar

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"unicode/utf8"

	"rtk-sidecar/meetings"
	"rtk-sidecar/protocol"
)

// FuzzRequestBody runs request bodies through what every one goes through (checkBody's
// checkJSON) and then the decoding of request types: nothing panics, every refusal is a 400,
// and every body the check lets through is one JSON object in valid UTF-8.
// Seeds: testdata/fuzz/FuzzRequestBody.
func FuzzRequestBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkJSON(b)
		if err != nil {
			if s := statusOf(err); s != http.StatusBadRequest {
				t.Fatalf("checkJSON(%q) = %v: status %d, want 400", b, err, s)
			}
			return
		}
		if len(bytes.TrimSpace(b)) == 0 {
			b = []byte("{}")
		}
		var obj map[string]any
		if !utf8.Valid(b) || json.Unmarshal(b, &obj) != nil || obj == nil {
			t.Fatalf("checkJSON let %q through: not one JSON object in UTF-8", b)
		}
		for _, dst := range []any{
			&meetings.MeetingInput{}, &meetings.MeetingPatch{}, &meetings.ParticipantInput{}, &meetings.ParticipantPatch{},
			&protocol.CreateMeetingsRequest{}, &protocol.UpdateMeetingsRequest{}, &protocol.DeleteMeetingsRequest{},
			&protocol.MoveParticipantsRequest{}, &map[string]any{},
		} {
			if err := decodeJSON(b, dst); err != nil && statusOf(err) != http.StatusBadRequest {
				t.Fatalf("decodeJSON(%q) into %T = %v: status %d, want 400", b, dst, err, statusOf(err))
			}
		}
	})
}
