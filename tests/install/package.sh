#!/bin/sh
# The packages from a configured and built tree (cpack): the .deb and the
# source tarball.  The .deb's files, unpacked into a scratch root (dpkg-deb -x:
# no root needed), must build and run tests/install/consumer.c through
# pkg-config, shared and static; the tarball, unpacked, must configure and
# build (library and tools; its tests and examples off, to keep this to
# seconds) and pass the install test (its own tests/install/run.sh).
# Usage: package.sh BUILD_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
what=package
. "$here/common.sh"

mkdir "$scratch/out"
(cd "$build" && cpack -G DEB -B "$scratch/out" &&
    cpack --config CPackSourceConfig.cmake -B "$scratch/out") >"$log" 2>&1 ||
    fail "cpack failed"
deb=$(find "$scratch/out" -maxdepth 1 -name 'rcgc_*.deb')
tarball=$(find "$scratch/out" -maxdepth 1 -name 'rcgc-*.tar.gz')
[ -n "$deb" ] || fail "no .deb made"
[ -n "$tarball" ] || fail "no source tarball made"
depends=$(dpkg-deb -f "$deb" Depends)
echo "package test: ${deb##*/}, Depends: $depends"
# dpkg-shlibdeps (dpkg-dev) names the shared libraries rcgc links.
case $depends in
    *libc6*) ;;
    *) fail "the .deb's Depends has no libc6 (is dpkg-dev installed?)" ;;
esac

# --- the .deb ---------------------------------------------------------------
root=$scratch/root
dpkg-deb -x "$deb" "$root" >"$log" 2>&1 || fail "dpkg-deb -x failed"
for f in usr/include/rcgc.h usr/include/rcgc_tools.h usr/bin/rcgc-report \
         usr/lib/librcgc.a usr/lib/librcgc.so.1 usr/lib/pkgconfig/rcgc.pc \
         usr/lib/pkgconfig/rcgc-static.pc usr/lib/cmake/rcgc/rcgcConfig.cmake \
         usr/share/doc/rcgc/LICENSE; do
    [ -e "$root/$f" ] || fail "missing from the .deb: /$f"
done
cd "$scratch"
cp "$here/consumer.c" .
warn="-std=c11 -Wall -Wextra -Wpedantic -Werror"
# shellcheck disable=SC2046  # pkg-config output is meant to be split
PKG_CONFIG_PATH=$root/usr/lib/pkgconfig \
    $CC $warn consumer.c $(PKG_CONFIG_PATH=$root/usr/lib/pkgconfig pkg-config --cflags --libs rcgc) \
    -Wl,-rpath,"$root/usr/lib" -o consumer_deb >"$log" 2>&1 ||
    fail "building against the .deb's rcgc.pc failed"
# shellcheck disable=SC2046
$CC $warn consumer.c $(PKG_CONFIG_PATH=$root/usr/lib/pkgconfig pkg-config --cflags --libs rcgc-static) \
    -o consumer_deb_static >"$log" 2>&1 ||
    fail "building against the .deb's rcgc-static.pc failed"
if readelf -d consumer_deb_static | grep -q 'librcgc\.so'; then
    fail "consumer_deb_static still needs librcgc.so"
fi
for exe in ./consumer_deb ./consumer_deb_static; do
    "$exe" >"$log" 2>&1 || fail "$exe exited with status $?"
    echo "package test: $exe: $(cat "$log")"
done

# --- the source tarball -------------------------------------------------------
tar -xzf "$tarball" -C "$scratch" >"$log" 2>&1 || fail "could not unpack ${tarball##*/}"
src=$scratch/$(basename "$tarball" .tar.gz)
[ -f "$src/CMakeLists.txt" ] || fail "no CMakeLists.txt at the top of ${tarball##*/}"
if find "$src" -name '.git' -o -name 'CMakeCache.txt' | grep -q .; then
    fail "${tarball##*/} holds a build tree or git's files"
fi
{ CC=$CC cmake -S "$src" -B "$scratch/src-build" -DCMAKE_BUILD_TYPE=Release \
      -DRCGC_WERROR=ON -DRCGC_BUILD_TESTS=OFF -DRCGC_BUILD_EXAMPLES=OFF &&
  cmake --build "$scratch/src-build" -j2; } >"$log" 2>&1 ||
    fail "the source tarball does not build"
sh "$src/tests/install/run.sh" "$scratch/src-build" || fail "the tarball's build fails the install test"
echo "package test: passed (.deb: pkg-config shared and static; source tarball: builds, installs)"
