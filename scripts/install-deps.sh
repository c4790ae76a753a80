#!/usr/bin/env bash
# Installs with apt-get what building, testing and benchmarking rcgc needs on
# Debian 12.  Does nothing (and prints nothing) when all of it is present.
#     install-deps.sh          everything scripts/check.sh and bench/ use
#     install-deps.sh build    only what building rcgc, its examples and a
#                              program against it needs (scripts/tour.sh)
set -euo pipefail

build_packages=(
    cmake make gcc libc6-dev binutils pkg-config
    libmimalloc-dev         # the fast allocator rcgc uses when present
    libdw-dev               # elfutils: file:line of traced frames (src/unwind.c; optional)
)
packages=(
    "${build_packages[@]}"
    clang libclang-rt-dev   # clang's sanitizer runtimes are only recommended
    valgrind
    dpkg-dev                # dpkg-shlibdeps: the .deb's dependencies on shared libraries (cpack)
    libgc-dev               # Boehm GC, a peer in the benchmarks
    libunwind-dev           # a peer of the frame-pointer walk in bench/unwind_bench.c
    graphviz                # dot: tests/test_dot.c renders rcgc_write_dot's pictures to SVG
    chromium                # headless, to check the monitor's page renders (tests/browser)
)
case ${1:-all} in
    all) ;;
    build) packages=("${build_packages[@]}") ;;
    *) echo "install-deps: unknown set '$1' (all, build)" >&2; exit 2 ;;
esac

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed'; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
    echo "install-deps: no apt-get here; install these yourself: ${missing[*]}" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=(env)
elif command -v sudo >/dev/null; then
    as_root=(sudo env)
else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
