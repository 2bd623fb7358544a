// Command sidecar runs rtk-sidecar: RealtimeKit's REST API and connected
// meetings in front of a LiveKit SFU (bundled or external).
//
//	sidecar -config configs/dev.yaml
//
// SIGINT or SIGTERM stops it gracefully (the API drains, then the bundled
// SFU stops); a second signal exits at once.
//
//	sidecar -check http://127.0.0.1:8080/readyz
//
// serves nothing: it asks the URL and exits 0 if it answers 200, 1 otherwise
// (a container healthcheck for an image without curl).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/configs"
	"rtk-sidecar/service"
)

func main() {
	path := flag.String("config", "", "path to the YAML configuration (defaults and SIDECAR_* environment variables apply)")
	check := flag.String("check", "", "instead of serving, GET this URL and exit 0 if it answers 200 (a healthcheck)")
	flag.Parse()
	if *check != "" {
		os.Exit(healthcheck(*check))
	}

	cfg, err := configs.Load(*path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := newLogger(cfg.Log)
	gin.SetMode(gin.ReleaseMode)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // restore default handling: a second signal kills
	}()
	if err := service.Run(ctx, cfg, log); err != nil {
		log.Error("sidecar stopped", "err", err)
		os.Exit(1)
	}
	log.Info("sidecar stopped")
}

// healthcheck asks url and returns the exit status: 0 for a 200 answer.
func healthcheck(url string) int {
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sidecar: check:", err)
		return 1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "sidecar: check: %s: %s\n", res.Status, body)
		return 1
	}
	return 0
}

func newLogger(c configs.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
