#!/bin/sh
# Installs a configured rcgc build into a scratch prefix, then builds and runs
# tests/install/consumer.c outside the tree four ways: pkg-config (rcgc and
# rcgc-static) and find_package(rcgc) (rcgc::rcgc and rcgc::rcgc_static).
# Usage: run.sh BUILD_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
what=install
. "$here/common.sh"
prefix=$scratch/prefix

cmake --install "$build" --prefix "$prefix" >"$log" 2>&1 || fail "cmake --install failed"

pc=$(find "$prefix" -name rcgc.pc)
[ -n "$pc" ] || fail "no rcgc.pc installed"
libdir=$(dirname "$(dirname "$pc")")
# The version as the installed header defines it; the SONAME follows the major.
version_part() {
    sed -n "s/^#define RCGC_VERSION_$1 \([0-9]*\)$/\1/p" "$prefix/include/rcgc.h"
}
major=$(version_part MAJOR)
minor=$(version_part MINOR)
patch=$(version_part PATCH)
[ -n "$major" ] && [ -n "$minor" ] && [ -n "$patch" ] ||
    fail "no RCGC_VERSION_MAJOR/MINOR/PATCH in the installed rcgc.h"
for f in "$prefix/include/rcgc.h" "$prefix/include/rcgc_tools.h" "$prefix/bin/rcgc-report" \
         "$libdir/librcgc.a" "$libdir/librcgc.so" \
         "$libdir/librcgc.so.$major" "$libdir/librcgc.so.$major.$minor.$patch" \
         "$libdir/cmake/rcgc/rcgcConfig.cmake" \
         "$libdir/cmake/rcgc/rcgcConfigVersion.cmake"; do
    [ -e "$f" ] || fail "missing after install: ${f#"$prefix"/}"
done
soname=$(readelf -d "$libdir/librcgc.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
[ "$soname" = "librcgc.so.$major" ] ||
    fail "SONAME of librcgc.so is '$soname', expected librcgc.so.$major"
[ "$(pkg-config --modversion "$pc")" = "$major.$minor.$patch" ] ||
    fail "rcgc.pc says version $(pkg-config --modversion "$pc"), the header $major.$minor.$patch"
"$prefix/bin/rcgc-report" --help >"$log" 2>&1 || fail "the installed rcgc-report does not run"

cd "$scratch"
cp "$here/consumer.c" .
warn="-std=c11 -Wall -Wextra -Wpedantic -Werror"
export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# shellcheck disable=SC2046  # pkg-config output is meant to be split
$CC $warn consumer.c $(pkg-config --cflags --libs rcgc) -o consumer_pc \
    >"$log" 2>&1 || fail "pkg-config shared build failed"
# rcgc-static.pc names the archive and what it needs (mimalloc, libdw).
$CC $warn consumer.c $(pkg-config --cflags --libs rcgc-static) -o consumer_pc_static \
    >"$log" 2>&1 || fail "pkg-config static build (rcgc-static) failed"
# `pkg-config --static rcgc` (for a fully -static link) brings libdw's own
# dependencies too, through Requires.private: libdw.
if grep -q '^Requires.private:.*libdw' "$pc" &&
   ! pkg-config --static --libs rcgc | grep -q -- '-lelf'; then
    echo "pkg-config --static --libs rcgc: $(pkg-config --static --libs rcgc)" >"$log"
    fail "pkg-config --static does not bring libdw's dependencies"
fi
if readelf -d consumer_pc_static | grep -q 'librcgc\.so'; then
    fail "consumer_pc_static still needs librcgc.so"
fi

mkdir cmake-src
cp "$here/consumer.cmake" cmake-src/CMakeLists.txt
cp consumer.c cmake-src/
CC=$CC cmake -S cmake-src -B cmake-build -DCMAKE_PREFIX_PATH="$prefix" \
    -DRCGC_WANTED="$major.$minor" \
    -DCMAKE_C_FLAGS="$warn" >"$log" 2>&1 || fail "find_package(rcgc) configure failed"
grep -q "consumer: rcgc .* from $libdir/cmake/rcgc" "$log" ||
    fail "find_package found rcgc somewhere other than $prefix"
cmake --build cmake-build >"$log" 2>&1 || fail "find_package(rcgc) build failed"

for exe in ./consumer_pc ./consumer_pc_static \
           cmake-build/consumer_shared cmake-build/consumer_static; do
    "$exe" >"$log" 2>&1 || fail "$exe exited with status $?"
    echo "install test: $exe: $(cat "$log")"
done
echo "install test: passed (pkg-config and find_package, shared and static)"
