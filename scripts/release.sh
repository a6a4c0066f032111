#!/usr/bin/env bash
# make release: static sluice binaries for each platform, a CycloneDX SBOM
# for each and SHA256SUMS, in $DIST (docs/releases.md).
#
# Environment: VERSION (default: git describe), DIST (default: dist),
# PLATFORMS (default: linux/amd64 linux/arm64 darwin/arm64), GO (default:
# go), ALLOW_DIRTY=1 to build from a tree with changes not committed (such
# binaries say "modified tree" and are no release).
#
# Everything that reaches the binary is fixed here, not taken from the
# builder's environment: no cgo, -trimpath (no paths of this machine),
# an empty build id, GOFLAGS cleared, the baseline GOAMD64 and GOARM64.
# The same commit and Go version therefore give the same bytes anywhere;
# scripts/release-check.sh proves it.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
DIST=${DIST:-dist}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/arm64}

if [ -n "$(git status --porcelain)" ]; then
  if [ "${ALLOW_DIRTY:-}" != 1 ]; then
    echo "release: the tree has changes not committed; commit or stash them (ALLOW_DIRTY=1 builds anyway, not as a release):" >&2
    git status --short >&2
    exit 1
  fi
  echo "release: ALLOW_DIRTY=1: building from a modified tree; this is not a release" >&2
fi
# Go stamps the commit (vcs.revision, vcs.modified) only where .git is a
# directory: a git worktree, whose .git is a file, gets no stamp at all.
if [ ! -d .git ]; then
  echo "release: $(pwd)/.git is not a directory (a git worktree?); go build would not stamp the commit. Build from a clone." >&2
  exit 1
fi
VERSION=${VERSION:-$(git describe --tags --always --dirty)}
commit=$(git rev-parse HEAD)

sum() { if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi; }

mkdir -p "$DIST"
rm -f "$DIST"/sluice-* "$DIST"/SHA256SUMS
built=()
for p in $PLATFORMS; do
  os=${p%/*} arch=${p#*/}
  bin=sluice-$VERSION-$os-$arch
  echo "release: building $DIST/$bin"
  env GOFLAGS= CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" GOAMD64=v1 GOARM64=v8.0 \
    "$GO" build -trimpath -buildvcs=true -ldflags "-s -w -buildid= -X main.version=$VERSION" \
    -o "$DIST/$bin" ./cmd/sluice
  # The stamp must name this commit; a build without it is no release.
  if ! "$GO" version -m "$DIST/$bin" | grep -q "vcs.revision=$commit"; then
    echo "release: $DIST/$bin does not carry vcs.revision=$commit:" >&2
    "$GO" version -m "$DIST/$bin" | grep -v '^	dep' >&2
    exit 1
  fi
  "$GO" run ./tools/sbom --version "$VERSION" "$DIST/$bin" >"$DIST/$bin.cdx.json"
  built+=("$bin" "$bin.cdx.json")
done
(cd "$DIST" && sum "${built[@]}" >SHA256SUMS)

echo "release: sluice $VERSION, commit $commit, $("$GO" env GOVERSION), in $DIST/:"
(cd "$DIST" && ls -l "${built[@]}" SHA256SUMS && cat SHA256SUMS)
