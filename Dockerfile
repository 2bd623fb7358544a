# The sidecar image for docker-compose.yml (production shape: external LiveKit).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sidecar ./cmd/sidecar && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/rtkctl ./cmd/rtkctl && \
    mkdir -p /out/state/recordings

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sidecar /out/rtkctl /usr/local/bin/
COPY configs /etc/rtk-sidecar
# The state directory, owned by nonroot (65532). An empty named volume mounted
# here is filled from the image at its first mount, owner included; a bind
# mount is not, nor a volume that another container mounted first (see the
# volume-init service of docker-compose.yml).
COPY --from=build --chown=65532:65532 /out/state /var/lib/rtk-sidecar
USER nonroot
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --retries=3 CMD ["/usr/local/bin/sidecar", "-check", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/sidecar", "-config", "/etc/rtk-sidecar/production.yaml"]
