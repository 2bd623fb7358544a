// Package redact keeps secrets out of logs. It replaces, in text bound for
// a log, JWTs (LiveKit access tokens, participant tokens), Authorization
// header values, PEM private keys, the values of fields named like secrets
// (token, secret, api_key, password, ...), key-shaped strings (32 or more
// letters, digits, '_' and '-' with upper and lower case and a digit, as
// API secrets are) and the secrets it is given, with Marker. The sidecar's
// logger goes through Handler, and package sfu passes the bundled SFU's
// output through a Redactor before it is written anywhere.
//
// It works on shapes, so it may hide a harmless string of that shape; it
// never lets a token of these shapes through.
package redact

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"unicode"
)

// Marker replaces what is redacted.
const Marker = "[REDACTED]"

// minSecret is the shortest secret that String replaces wherever it
// appears: shorter ones would take ordinary words with them.
const minSecret = 8

var (
	jwt    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
	pem    = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.*?)(-----END [A-Z ]*PRIVATE KEY-----|$)`)
	scheme = regexp.MustCompile(`(?i)\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]+`)
	// A field named like a secret, in JSON (possibly escaped inside a
	// string), YAML, a query string or key=value text, and its value.
	field = regexp.MustCompile(`(?i)((?:[a-z_-]*(?:token|secret|password|passwd|signature|api_?key|apikey|authorization|private_?key))(?:\\?")?\s*[:=]\s*(?:\\?")?)([^"\\\s,;&}]+)`)
	key   = regexp.MustCompile(`[A-Za-z0-9_-]{32,}`)
)

// Redactor removes secrets from text. The zero value removes the shapes
// only. It is safe for concurrent use.
type Redactor struct {
	secrets []string
}

// New returns a Redactor that also removes the given secrets (API keys and
// secrets) wherever they appear; those shorter than 8 bytes are ignored.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if len(s) >= minSecret {
			r.secrets = append(r.secrets, s)
		}
	}
	return r
}

// String returns s with every secret it finds replaced by Marker.
func (r *Redactor) String(s string) string {
	if r != nil {
		for _, sec := range r.secrets {
			s = strings.ReplaceAll(s, sec, Marker)
		}
	}
	// Each pattern runs only on text that holds what it cannot match
	// without (most log text holds none): the same result, without
	// scanning every line five times.
	folded := fold(s)
	if strings.Contains(s, "-----BEGIN ") {
		s = pem.ReplaceAllString(s, Marker)
	}
	if strings.Contains(s, "eyJ") {
		s = jwt.ReplaceAllString(s, Marker)
	}
	if strings.Contains(folded, "bearer") || strings.Contains(folded, "basic") {
		s = scheme.ReplaceAllString(s, "${1}${2}"+Marker)
	}
	if !containsAny(folded, fieldWords) {
		return keys(s)
	}
	s = field.ReplaceAllStringFunc(s, func(m string) string {
		sub := field.FindStringSubmatch(m)
		if sub[2] == Marker || strings.HasPrefix(sub[2], Marker) {
			return m
		}
		return sub[1] + Marker
	})
	return keys(s)
}

// keys replaces the key-shaped runs of s.
func keys(s string) string {
	if len(s) < 32 { // key's shortest match
		return s
	}
	return key.ReplaceAllStringFunc(s, func(m string) string {
		if keyShaped(m) {
			return Marker
		}
		return m
	})
}

// fieldWords are the words of field's names, one of which a match holds.
var fieldWords = []string{"token", "secret", "passw", "signature", "apikey", "api_key", "authorization", "privatekey", "private_key"}

// fold lower-cases s as the patterns' (?i) matches ASCII letters: their
// non-ASCII case variants, the Kelvin sign and the long s, become k and s.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 'ſ' {
			return 's'
		}
		return unicode.ToLower(r)
	}, s)
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// keyShaped reports whether a long run of letters, digits, '_' and '-'
// looks like a generated secret: upper and lower case letters and digits
// mixed. Identifiers (UUIDs, hex digests) are lower case or upper case.
func keyShaped(s string) bool {
	var upper, lower, digit bool
	for _, c := range s {
		switch {
		case unicode.IsUpper(c):
			upper = true
		case unicode.IsLower(c):
			lower = true
		case unicode.IsDigit(c):
			digit = true
		}
	}
	return upper && lower && digit
}

// Handler returns a slog.Handler that passes every record to h with its
// message and attribute values redacted by r (nil: shapes only).
func Handler(h slog.Handler, r *Redactor) slog.Handler {
	return &handler{next: h, r: r}
}

type handler struct {
	next slog.Handler
	r    *Redactor
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &handler{next: h.next.WithAttrs(clean), r: h.r}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name), r: h.r}
}

// attr redacts an attribute's value: strings, errors and anything else
// whose printed form holds a secret become redacted strings.
func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]slog.Attr, len(g))
		for i, x := range g {
			clean[i] = h.attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(clean...)}
	case slog.KindAny:
		var text string
		if err, ok := v.Any().(error); ok {
			text = err.Error()
		} else {
			text = fmt.Sprintf("%+v", v.Any())
		}
		if clean := h.r.String(text); clean != text {
			return slog.String(a.Key, clean)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
