// Command sidecar runs rtk-sidecar: RealtimeKit's REST API and connected
// meetings in front of a LiveKit SFU (bundled or external).
//
//	sidecar -config configs/dev.yaml
//
// SIGINT or SIGTERM stops it gracefully (the API drains, then the bundled
// SFU stops); a second signal exits at once.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gin-gonic/gin"

	"rtk-sidecar/configs"
	"rtk-sidecar/service"
)

func main() {
	path := flag.String("config", "", "path to the YAML configuration (defaults and SIDECAR_* environment variables apply)")
	flag.Parse()

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

func newLogger(c configs.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
