#!/usr/bin/env bash
# Builds kwok (sigs.k8s.io/kwok, which plays kubelet for fake nodes) from
# the Go module proxy, once per machine, into the cache of
# .ci/kube-apiserver.sh, outside the repo, and prints its path. The
# Kubernetes tests of node loss run it (internal/kubetest kwok.go). Cold,
# the build takes about 4.5 minutes on a loaded 2-core machine; with the
# cache it is free. Nothing of it enters the repo: `go install` runs
# outside any module, into a temp dir.
#
#   bash .ci/kwok.sh                        # builds or reuses the cached binary
#   SLIPWAY_KUBE_CACHE=DIR KWOK_VERSION=0.7.0 bash .ci/kwok.sh
set -euo pipefail
ver=${KWOK_VERSION:-0.7.0}
cache=${SLIPWAY_KUBE_CACHE:-/var/cache/slipway-kube}
bin=$cache/kwok-v$ver
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Outside any module, so that the repo's go.mod and go.sum are left as
# they are.
(cd "$work" && GOBIN="$work/bin" GOWORK=off GOFLAGS= go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@v$ver")
mv "$work/bin/kwok" "$bin"
echo "$bin"
