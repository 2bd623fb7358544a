package recording

import (
	"archive/zip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/livekit/psrpc"
)

// DownloadPath is the path, under the API's public URL, where recordings'
// files are served: {DownloadPath}/{app_id}/{recording_id}/{file name}.
const DownloadPath = "/recordings/files"

// Download errors. An expired link is 403; a link whose signature does not
// match (tampered, or signed with another key) is 403 too, and says so.
var (
	ErrLinkExpired  = psrpc.NewErrorf(psrpc.PermissionDenied, "this download link has expired: fetch the recording (or the session chat) again for a fresh download link")
	ErrLinkInvalid  = psrpc.NewErrorf(psrpc.PermissionDenied, "this download link is not valid: its signature does not match")
	ErrFileNotFound = psrpc.NewErrorf(psrpc.NotFound, "no such recording file")
)

// Signer makes and checks download links: URLs of the sidecar with an
// expiry and an HMAC-SHA256 signature over the link's scope, the app, the
// recording (or other object), the file name and the expiry. The signature
// is the capability: no API key is needed.
type Signer struct {
	key     []byte
	baseURL string // the API's public URL, without a trailing slash
	ttl     time.Duration
	scope   string // what the links are for; a link of one scope is invalid in another
	prefix  string // the path of the links, under baseURL
}

// NewSigner returns a Signer of recording links ({DownloadPath}/...) that
// start with baseURL and stay valid for ttl.
func NewSigner(key []byte, baseURL string, ttl time.Duration) *Signer {
	return &Signer{key: key, baseURL: strings.TrimRight(baseURL, "/"), ttl: ttl,
		scope: "rtk-recording-download", prefix: DownloadPath}
}

// For returns a Signer with the same key, base URL and ttl for links of
// another scope, served under pathPrefix. Links of one scope never pass
// the Check of another.
func (s *Signer) For(scope, pathPrefix string) *Signer {
	c := *s
	c.scope, c.prefix = scope, pathPrefix
	return &c
}

func (s *Signer) mac(appID, recordingID, name string, expires int64) string {
	h := hmac.New(sha256.New, s.key)
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n%d", s.scope, appID, recordingID, name, expires)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// URL returns a link to a recording's file ({prefix}/{app}/{recording}/{name}),
// valid until the returned expiry (now plus the signer's ttl, in whole seconds).
func (s *Signer) URL(appID, recordingID, name string, now time.Time) (string, time.Time) {
	exp := now.Add(s.ttl).Truncate(time.Second)
	q := url.Values{}
	q.Set("expires", strconv.FormatInt(exp.Unix(), 10))
	q.Set("signature", s.mac(appID, recordingID, name, exp.Unix()))
	p := path.Join(s.prefix, url.PathEscape(appID), url.PathEscape(recordingID), url.PathEscape(name))
	return s.baseURL + p + "?" + q.Encode(), exp.UTC()
}

// Check verifies a link's expiry and signature: ErrLinkInvalid if the
// signature does not match (or the expiry is not a number), ErrLinkExpired
// if it matches but the link expired.
func (s *Signer) Check(appID, recordingID, name, expires, signature string, now time.Time) error {
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil {
		return ErrLinkInvalid
	}
	want := s.mac(appID, recordingID, name, exp)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return ErrLinkInvalid
	}
	if now.Unix() > exp {
		return ErrLinkExpired
	}
	return nil
}

// Download is a recording's file, ready to send: either one file on disk
// (Path), or an archive built while it is sent (WriteZip).
type Download struct {
	Name    string // the file name to offer
	Path    string // a single file to send; "" for an archive
	ModTime time.Time
	files   []string // an archive's files, on disk
}

// IsArchive reports whether the download is a zip built on the fly.
func (d Download) IsArchive() bool { return d.Path == "" }

// WriteZip writes the archive of an IsArchive download to w. Media files are
// stored, not compressed: they are compressed already.
func (d Download) WriteZip(w io.Writer) error {
	zw := zip.NewWriter(w)
	for _, f := range d.files {
		if err := addToZip(zw, f); err != nil {
			return err
		}
	}
	return zw.Close()
}

func addToZip(zw *zip.Writer, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr, err := zip.FileInfoHeader(st)
	if err != nil {
		return err
	}
	hdr.Method = zip.Store
	if strings.HasSuffix(file, ".json") {
		hdr.Method = zip.Deflate
	}
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, f)
	return err
}

// localFiles returns the regular files at location: the file itself, or the
// files of a directory (not recursing), sorted, keeping those keep accepts.
// Locations outside root are refused.
func localFiles(root, location string, keep func(name string) bool) ([]string, error) {
	if root == "" || location == "" || !within(root, location) {
		return nil, ErrFileNotFound
	}
	st, err := os.Stat(location)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrFileNotFound
		}
		return nil, err
	}
	if !st.IsDir() {
		if keep(filepath.Base(location)) {
			return []string{location}, nil
		}
		return nil, nil
	}
	entries, err := os.ReadDir(location)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && keep(e.Name()) {
			out = append(out, filepath.Join(location, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// within reports whether p is root or inside it (lexically, after cleaning).
func within(root, p string) bool {
	root, _ = filepath.Abs(root)
	p, _ = filepath.Abs(p)
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func isAudioFile(name string) bool {
	return strings.HasSuffix(name, ".ogg") || strings.HasSuffix(name, ".json")
}

func anyFile(string) bool { return true }
