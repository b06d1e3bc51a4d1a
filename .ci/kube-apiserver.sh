#!/usr/bin/env bash
# Builds kube-apiserver (or another Kubernetes server) from the Go module proxy, once per machine, into
# a cache outside the repo, and prints its path. Kubernetes publishes no
# module that builds it as is: k8s.io/kubernetes points its k8s.io/*
# libraries at ./staging with replace lines, which this rewrites to the
# published k8s.io/* modules of the same release. Cold, the build takes
# about half an hour on a loaded 2-core machine; with the cache it is
# free. Nothing of it enters the repo.
#
# The same script builds the controller manager (Deployments, ReplicaSets,
# Jobs, CronJobs, garbage collection) and the scheduler, which the
# Kubernetes tests run beside the API server; they share most of the
# build, so each after the first takes minutes.
#
#   bash .ci/kube-apiserver.sh             # builds or reuses the cached binary
#   bash .ci/kube-apiserver.sh kube-controller-manager
#   SLIPWAY_KUBE_CACHE=DIR KUBE_VERSION=1.37.2 bash .ci/kube-apiserver.sh
set -euo pipefail
cmd=${1:-kube-apiserver}
case $cmd in
kube-apiserver | kube-controller-manager | kube-scheduler) ;;
*) echo "usage: $0 [kube-apiserver|kube-controller-manager|kube-scheduler]" >&2; exit 2 ;;
esac
ver=${KUBE_VERSION:-1.37.2}
cache=${SLIPWAY_KUBE_CACHE:-/var/cache/slipway-kube}
bin=$cache/$cmd-v$ver
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$cache"
lib=v0.${ver#1.}
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
# Outside any module, so that the repo's go.sum is left as it is.
src=$(cd "$work" && GOFLAGS= go mod download -json "k8s.io/kubernetes@v$ver" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
cp -r "$src" "$work/k" && chmod -R u+w "$work/k"
cd "$work/k"
# Each ./staging/src/k8s.io/NAME becomes k8s.io/NAME at the release's
# library version; the sample programs, which are not served, go.
sed -i -E '/staging\/src\/k8s\.io\/sample-/d; /^\s*k8s\.io\/sample-[a-z-]+ v0\.0\.0/d' go.mod
sed -i -E "s#=> \./staging/src/(k8s\.io/[A-Za-z0-9._-]+)#=> \1 $lib#" go.mod
rm -f go.work go.work.sum
# The version the API server reports (discovery, kubectl, kwok), as
# Kubernetes' own build stamps it.
v=k8s.io/component-base/version
minor=${ver#1.}
minor=${minor%%.*}
ldflags="-X $v.gitVersion=v$ver -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=v$ver"
GOWORK=off GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" "./cmd/$cmd"
mv "$bin.tmp" "$bin"
echo "$bin"
