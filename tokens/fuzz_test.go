package tokens

import (
	"errors"
	"testing"
	"time"
)

// FuzzVerify: the participant-token parser. Whatever it is given, Verify does not panic, and
// either refuses with ErrInvalid (a 401) or returns every claim a join needs. A token the
// issuer signed is among the seeds, so that the fuzzer mutates real ones; more seeds are in
// testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	is := NewIssuer(newKey(f), time.Hour)
	tok, err := is.Issue(sample)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Fuzz(func(t *testing.T, token string) {
		c, err := is.Verify(token)
		switch {
		case err != nil && !errors.Is(err, ErrInvalid):
			t.Fatalf("Verify(%q) = %v, want ErrInvalid", token, err)
		case err == nil && (c.AppID == "" || c.MeetingID == "" || c.ParticipantID == "" || c.PresetID == ""):
			t.Fatalf("Verify(%q) accepted claims %+v", token, c)
		}
	})
}
