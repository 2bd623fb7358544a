package sidecar

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/livekit/psrpc"
)

// SDKPath is where the browser SDK's files are served: the ES module is
// SDKPath + "rtk-client.js".
const SDKPath = "/sdk/"

// sdkRoutes serves the files of the sdk folder of Deps.Web at SDKPath,
// without authentication: they are public.
func (s *Server) sdkRoutes(r *gin.Engine) {
	if s.Web == nil {
		return
	}
	r.GET(SDKPath+"*file", handle(s.sdkFile))
	r.HEAD(SDKPath+"*file", handle(s.sdkFile))
}

// asset is a served file: its content and its ETag.
type asset struct {
	content []byte
	etag    string
}

// assets reads the files of Deps.Web once each and keeps them.
type assets struct {
	mu    sync.Mutex
	files map[string]*asset
}

// get returns the file at name, a slash-separated path in fsys.
func (a *assets) get(fsys fs.FS, name string) (*asset, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if f, ok := a.files[name]; ok {
		return f, nil
	}
	if st, err := fs.Stat(fsys, name); err != nil {
		return nil, err
	} else if st.IsDir() {
		return nil, fs.ErrNotExist
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	f := &asset{content: b, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	if a.files == nil {
		a.files = map[string]*asset{}
	}
	a.files[name] = f
	return f, nil
}

// sdkFile handles GET and HEAD /sdk/{file}: a file of the browser SDK. The
// path is stable across versions, so caches must revalidate (ETag).
func (s *Server) sdkFile(c *gin.Context) error {
	return s.serveUnder(c, "sdk")
}

// serveUnder serves the file the route's *file parameter names under dir
// of Deps.Web; a name that is empty, unclean or a directory is 404.
func (s *Server) serveUnder(c *gin.Context, dir string) error {
	name := strings.TrimPrefix(c.Param("file"), "/")
	if name == "" || path.Clean(name) != name || !fs.ValidPath(name) || strings.HasSuffix(name, "/") {
		return errNoFile(c)
	}
	return s.serveAsset(c, path.Join(dir, name))
}

// serveAsset serves the file name of Deps.Web, revalidated by ETag.
func (s *Server) serveAsset(c *gin.Context, name string) error {
	f, err := s.assets.get(s.Web, name)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return errNoFile(c)
	}
	if err != nil {
		return err
	}
	h := c.Writer.Header()
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		h.Set("Content-Type", ct)
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	if path.Ext(name) == ".html" {
		// The page carries a participant token in its URL: keep it out of
		// other sites' Referer headers.
		h.Set("Referrer-Policy", "no-referrer")
	}
	http.ServeContent(c.Writer, c.Request, path.Base(name), time.Time{}, bytes.NewReader(f.content))
	return nil
}

func errNoFile(c *gin.Context) error {
	return psrpc.NewErrorf(psrpc.NotFound, "no such file: %s", c.Request.URL.Path)
}
