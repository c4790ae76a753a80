#!/usr/bin/env bash
# Builds rcgc (Release, in build/: the tour, the README's other examples,
# and what `cmake --install build` installs) and runs the guided tour: the
# classic Python memory-management examples replayed in C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RCGC_BUILD_DIR:-$root/build}

# Only what building needs: the full set (clang, valgrind, chromium, ...) is
# scripts/check.sh's, and takes minutes more to install.
bash "$root/scripts/install-deps.sh" build
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "tour: building rcgc (Release) in $build ..."
if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release &&
       cmake --build "$build" --target tour rcgc rcgc_static rcgc-report leak_hunt leak_picture profile \
           heaps scene_graph weak_cache -j2; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "tour: build failed" >&2
    exit 1
fi
echo
exec "$build/examples/tour"
