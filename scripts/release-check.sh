#!/usr/bin/env bash
# make release-check: the commit checked out here builds a byte-identical
# linux/amd64 release binary twice (docs/releases.md). Each build runs
# scripts/release.sh in its own clone of the commit, at a different
# absolute path, with its own HOME and TMPDIR; the two binaries (and their
# SBOMs) must have the same SHA-256.
#
# By default (RELEASE_CHECK_CACHE=separate) each build has its own empty
# GOCACHE, so nothing one compiled is reused by the other: two cold builds,
# about 1.5 to 2.5 minutes each on a 2-core machine. RELEASE_CHECK_CACHE=shared
# uses the usual GOCACHE for both: seconds once it is warm, but then the
# binary is assembled from one set of compiled packages, so only paths,
# environment and the cache keys are compared.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
mode=${RELEASE_CHECK_CACHE:-separate}
case $mode in shared | separate) ;; *)
  echo "release-check: RELEASE_CHECK_CACHE is shared or separate, not $mode" >&2
  exit 2
  ;;
esac
commit=$(git rev-parse HEAD)
# Read before HOME changes: where modules are (so neither build needs the
# network) and the usual cache.
gopath=$("$GO" env GOPATH)
gomodcache=$("$GO" env GOMODCACHE)
gocache=$("$GO" env GOCACHE)
goproxy=$("$GO" env GOPROXY)
gotoolchain=$("$GO" env GOTOOLCHAIN)

work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-release-check.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

build() { # build NAME: clone at $work/NAME/..., build, print the binary's path
  local n=$1 src=$work/$1/a-longer-path-$1/sluice
  mkdir -p "$work/$n/home" "$work/$n/tmp" "$(dirname "$src")"
  # A local clone shares the object store, so a detached HEAD's commit is
  # there too.
  git clone -q --no-checkout . "$src"
  git -C "$src" checkout -q --detach "$commit"
  local cache=$gocache
  if [ "$mode" = separate ]; then cache=$work/$n/gocache; fi
  (cd "$src" && env HOME="$work/$n/home" TMPDIR="$work/$n/tmp" GOPATH="$gopath" \
    GOMODCACHE="$gomodcache" GOCACHE="$cache" GOPROXY="$goproxy" GOTOOLCHAIN="$gotoolchain" \
    DIST=dist PLATFORMS=linux/amd64 GO="$GO" scripts/release.sh >&2)
  echo "$src/dist"
}

start=$(date +%s)
a=$(build one)
mid=$(date +%s)
b=$(build two)
end=$(date +%s)
echo "release-check: builds took $((mid - start)) s and $((end - mid)) s (GOCACHE $mode)"

diff "$a/SHA256SUMS" "$b/SHA256SUMS" && same=1 || same=0
if [ "$same" = 1 ] && cmp -s "$a"/sluice-*-linux-amd64 "$b"/sluice-*-linux-amd64; then
  echo "release-check: commit $commit builds the same linux/amd64 binary twice:"
  cat "$a/SHA256SUMS"
  exit 0
fi
echo "release-check: commit $commit built two different binaries; go version -m of each:" >&2
diff <("$GO" version -m "$a"/sluice-*-linux-amd64) <("$GO" version -m "$b"/sluice-*-linux-amd64) >&2 || true
exit 1
