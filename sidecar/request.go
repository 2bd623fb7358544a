package sidecar

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/livekit/psrpc"

	"rtk-sidecar/store"
)

// Bounds of request bodies (checkBody); RealtimeKit documents are small.
const (
	// maxBody is the largest body a request may have.
	maxBody = 1 << 20
	// maxDrain is how much of a larger body the server reads, and throws
	// away, before it answers 413: a client still sending its body when
	// the answer comes, and the server closes the connection, gets a reset
	// connection instead of the answer.
	maxDrain = 64 << 20
	// maxDepth bounds the nesting of objects and arrays in a body.
	maxDepth = 64
)

// errBodyTooLarge is the answer to a body over maxBody; statusOf maps it
// to 413.
var errBodyTooLarge = psrpc.NewErrorf(psrpc.InvalidArgument, "request body is larger than %d bytes", maxBody)

// checkBody reads every request body before the handlers see it, and lets
// the request through only if its body is empty or one JSON object, valid
// UTF-8, at most maxBody bytes and nested at most maxDepth deep (every body
// of the API is such an object). Anything else is answered here: 413 for a
// body too large (read to the end first, up to maxDrain, so that the
// answer arrives), 400 otherwise.
func (s *Server) checkBody(c *gin.Context) {
	body := c.Request.Body
	if body == nil || body == http.NoBody {
		c.Next()
		return
	}
	b, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		writeError(c, invalidArgument("could not read the request body: %v", err))
		return
	}
	if len(b) > maxBody {
		if n, _ := io.CopyN(io.Discard, body, maxDrain); n == maxDrain {
			c.Header("Connection", "close") // the rest is still coming
		}
		writeError(c, errBodyTooLarge)
		return
	}
	if err := checkJSON(b); err != nil {
		writeError(c, err)
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(b))
	c.Next()
}

// checkJSON checks a request body: empty, or one JSON object in valid
// UTF-8, nested at most maxDepth deep.
func checkJSON(b []byte) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if !utf8.Valid(b) {
		return invalidArgument("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	depth := 0
	for first := true; first || depth > 0; first = false {
		tok, err := dec.Token()
		if err != nil {
			return invalidArgument("request body is not valid JSON: %v", err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if depth++; depth > maxDepth {
				return invalidArgument("request body is nested more than %d deep", maxDepth)
			}
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if first && tok != json.Delim('{') {
			return invalidArgument("request body must be a JSON object")
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidArgument("request body must hold a single JSON object")
	}
	return nil
}

// readBody returns the request body (checkBody has checked it), or "{}"
// when it is empty, so that endpoints whose fields are all optional accept
// a bare POST.
func readBody(c *gin.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, invalidArgument("could not read the request body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return []byte("{}"), nil
	}
	return b, nil
}

// bindJSON decodes the request body into dst, a pointer to a struct, and
// names the offending field when a value has the wrong type.
func bindJSON(c *gin.Context, dst any) error {
	b, err := readBody(c)
	if err != nil {
		return err
	}
	return decodeJSON(b, dst)
}

func decodeJSON(b []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field == "":
			return invalidArgument("request body must be a JSON object")
		case errors.As(err, &typeErr):
			return invalidArgument("%q must be %s", typeErr.Field, jsonKind(typeErr.Type))
		case errors.As(err, &syntaxErr):
			return invalidArgument("request body is not valid JSON (offset %d): %v", syntaxErr.Offset, err)
		default:
			return invalidArgument("request body is not valid JSON: %v", err)
		}
	}
	if dec.More() {
		return invalidArgument("request body must hold a single JSON object")
	}
	return nil
}

// jsonKind names the JSON type a Go type decodes from, with its article.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	default:
		return "of another type"
	}
}

// Paging of list endpoints.
const (
	defaultPerPage = 20
	maxPerPage     = 100
)

// paging is the "paging" block of list responses. Offsets are 1-based and
// inclusive, as in RealtimeKit; an empty page has start_offset 0.
type paging struct {
	TotalCount  int `json:"total_count"`
	StartOffset int `json:"start_offset"`
	EndOffset   int `json:"end_offset"`
}

// pageOf reads page_no and per_page from the query.
func pageOf(c *gin.Context) (store.Page, error) {
	pageNo, err := queryInt(c, "page_no", 1, 1, math.MaxInt32)
	if err != nil {
		return store.Page{}, err
	}
	perPage, err := queryInt(c, "per_page", defaultPerPage, 1, maxPerPage)
	if err != nil {
		return store.Page{}, err
	}
	return store.Page{Offset: (pageNo - 1) * perPage, Limit: perPage}, nil
}

func pagingOf(p store.Page, n, total int) paging {
	if n == 0 {
		return paging{TotalCount: total}
	}
	return paging{TotalCount: total, StartOffset: p.Offset + 1, EndOffset: p.Offset + n}
}

// queryInt reads an integer query parameter in [lo, hi]; absent means def.
// Whole numbers written as floats ("2.0", as some SDKs send) are accepted.
func queryInt(c *gin.Context, name string, def, lo, hi int) (int, error) {
	s, ok := c.GetQuery(name)
	if !ok || s == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, invalidArgument("%q must be a whole number between %d and %d", name, lo, hi)
	}
	return int(f), nil
}

// queryTime reads an ISO-8601 (RFC 3339) time query parameter; absent is zero.
func queryTime(c *gin.Context, name string) (time.Time, error) {
	s := c.Query(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalidArgument("%q must be an ISO-8601 time such as 2026-01-02T15:04:05Z", name)
	}
	return t, nil
}

// queryWindow reads the start_time and end_time of a list query.
func queryWindow(c *gin.Context) (after, before time.Time, err error) {
	if after, err = queryTime(c, "start_time"); err != nil {
		return
	}
	before, err = queryTime(c, "end_time")
	return
}

// iso formats a time as RealtimeKit does (UTC, milliseconds, Z).
func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// nullable renders "" as JSON null.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ok writes a success envelope.
func ok(c *gin.Context, status int, data any) {
	c.JSON(status, gin.H{"success": true, "data": data})
}

// okPage writes a success envelope with paging.
func okPage(c *gin.Context, data any, p paging) {
	c.JSON(200, gin.H{"success": true, "data": data, "paging": p})
}

// requireParam returns a path parameter; gin guarantees presence, so an
// empty one only comes from a malformed URL.
func requireParam(c *gin.Context, name string) (string, error) {
	v := c.Param(name)
	if v == "" {
		return "", invalidArgument("%s is required in the path", name)
	}
	return v, nil
}
