# The sidecar image for docker-compose.yml (production shape: external LiveKit).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sidecar ./cmd/sidecar

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sidecar /usr/local/bin/sidecar
COPY configs /etc/rtk-sidecar
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sidecar", "-config", "/etc/rtk-sidecar/production.yaml"]
