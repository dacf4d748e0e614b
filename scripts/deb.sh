#!/bin/sh
# `make deb`: build the Debian packages libnginx-mod-http-skip and skipctl
# from the checkout, then run lintian on them.
#
# The tree (tracked files plus new, not ignored ones; local edits included)
# is copied into build/deb/ngx-skip/, debian/changelog is written there
# from the one version string (src/core/version.h), and dpkg-buildpackage -b
# runs in the copy, so the checkout stays clean and the .deb files land in
# build/deb/.  The copy keeps its build/ and the files' times, so the next
# run only recompiles what changed.  Details: docs/packaging.md.
#
# Environment: DEB_OUT (default build/deb), DEB_JOBS (default 2),
# DEB_LINTIAN=0 to skip lintian.
set -eu
cd "$(dirname "$0")/.."
# Run from `make test` or `make SANITIZE=1 ...`, the outer make's variables
# would reach the package build's make through MAKEFLAGS (debian/rules also
# says SANITIZE=0: command-line variables are exported too).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
ROOT=$(pwd)

VERSION=$(sed -n 's/^#define SK_VERSION "\(.*\)"$/\1/p' src/core/version.h)
[ -n "$VERSION" ] || { echo "deb: no SK_VERSION in src/core/version.h" >&2; exit 1; }
OUT=${DEB_OUT:-$ROOT/build/deb}
SRC=$OUT/ngx-skip
mkdir -p "$SRC"

# The files of the tree: git's view when this is a checkout.
files() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -co --exclude-standard | while IFS= read -r f; do
            [ -f "$f" ] && printf '%s\n' "$f"
        done
    else
        find . \( -name 'build*' -o -name .git -o -name demo-out -o -name run \) \
            -prune -o -type f -print | sed 's|^\./||'
    fi
}
find "$SRC" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} +
# The copy's build/ holds nginx's configured sources: start afresh when
# nginx-dev (the nginx the module must match) is not the one it was made of.
ngx=$(dpkg-query -W -f='${Version}' nginx-dev 2>/dev/null || true)
if [ "$(cat "$SRC/build/.nginx-dev" 2>/dev/null)" != "$ngx" ]; then
    rm -rf "$SRC/build"
    mkdir -p "$SRC/build"
    echo "$ngx" > "$SRC/build/.nginx-dev"
fi
files | tar -cf - -T - | tar -xf - -C "$SRC"

# debian/changelog from src/core/version.h: the version has one home.
if git rev-parse --verify -q HEAD >/dev/null 2>&1; then
    commit=$(git rev-parse --short HEAD)
    date=$(git log -1 --format=%aD HEAD)
    git diff --quiet HEAD -- 2>/dev/null || commit="$commit plus local changes"
else
    commit="an unversioned tree"
    date=$(date -R)
fi
maint=$(sed -n 's/^Maintainer: //p' debian/control)
cat > "$SRC/debian/changelog" <<CHANGELOG
ngx-skip ($VERSION) unstable; urgency=medium

  * ngx_skip $VERSION, built by \`make deb\` from $commit.

 -- $maint  $date
CHANGELOG

rm -f "$OUT"/*.deb "$OUT"/*.changes "$OUT"/*.buildinfo
(cd "$SRC" && dpkg-buildpackage -b -us -uc -j"${DEB_JOBS:-2}") \
    > "$OUT/build.log" 2>&1 || {
    tail -40 "$OUT/build.log" >&2
    echo "deb: dpkg-buildpackage failed; the whole log: $OUT/build.log" >&2
    exit 1
}
changes=$(ls "$OUT"/ngx-skip_"$VERSION"_*.changes)
ls -1 "$OUT"/*.deb

if [ "${DEB_LINTIAN:-1}" = 0 ]; then
    exit 0
fi
if ! command -v lintian >/dev/null 2>&1; then
    echo "deb: lintian is not installed (apt-get install lintian); not checked" >&2
    exit 0
fi
# Errors fail the build; warnings are printed (docs/packaging.md says why
# the ones left are expected).
lintian --fail-on error --display-info "$changes" | tee "$OUT/lintian.log"
echo "deb: lintian: $(grep -c '^E:' "$OUT/lintian.log" || true) errors," \
     "$(grep -c '^W:' "$OUT/lintian.log" || true) warnings" \
     "($OUT/lintian.log)"
