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
	name := strings.TrimPrefix(c.Param("file"), "/")
	clean := path.Clean(name)
	if name == "" || clean != name || !fs.ValidPath(name) || strings.HasSuffix(name, "/") {
		return errNoFile(c)
	}
	f, err := s.assets.get(s.Web, path.Join("sdk", name))
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
	http.ServeContent(c.Writer, c.Request, name, time.Time{}, bytes.NewReader(f.content))
	return nil
}

func errNoFile(c *gin.Context) error {
	return psrpc.NewErrorf(psrpc.NotFound, "no such file: %s", c.Request.URL.Path)
}
