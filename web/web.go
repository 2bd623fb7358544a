// Package web holds the browser files the sidecar serves, embedded in its
// binary: dist/sdk/rtk-client.js, the TypeScript client SDK built from src/
// (an ES module with livekit-client inside, served at /sdk/rtk-client.js;
// README.md). The npm package around it builds and tests it; Go only
// embeds what it built, which is committed, so that a Go build needs no
// Node.js.
package web

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Files returns the tree of built files: sdk/ holds the SDK.
func Files() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("web: " + err.Error()) // dist is embedded: it cannot be missing
	}
	return sub
}
