# slipway: git push to deploy. Multi-stage: build the binary with cgo (for
# SQLite), then a runtime image with git, ssh and the toolchains the builder
# supports (Go, Node.js, Python).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" -o /out/slipway ./cmd/slipway

FROM golang:1.26-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client nodejs npm python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/slipway /usr/local/bin/slipway
ENV SLIPWAY_DATA=/data \
    SLIPWAY_SSH_ADDR=:2222 \
    SLIPWAY_HTTP_ADDR=:80 \
    SLIPWAY_HTTPS_ADDR=:443 \
    SLIPWAY_ADMIN_ADDR=:8090 \
    SLIPWAY_REGISTRY_ADDR=127.0.0.1:5000
VOLUME /data
EXPOSE 2222 80 443 8090
ENTRYPOINT ["slipway"]
CMD ["serve"]
