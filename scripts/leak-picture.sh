#!/bin/sh
# The README's picture: examples/leak_picture's DOT, rendered by Graphviz.
#   scripts/leak-picture.sh [LEAK_PICTURE_BINARY [OUT.svg]]
# The binary defaults to build/examples/leak_picture (scripts/tour.sh builds
# it), OUT to leak.svg in the current directory; regenerate the README's
# picture after changing the example or rcgc_write_dot's style with
#   scripts/leak-picture.sh build/examples/leak_picture docs/leak.svg  CTest runs this as
# example_leak_picture into the build tree.  Fails unless the picture renders
# with its 10 boxes (3 leaked scopes, their closures and variables, the
# cache), its 12 labelled edges and the one holder; exits 77 (skipped)
# without `dot`.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/examples/leak_picture}
out=${2:-leak.svg}
command -v dot >/dev/null 2>&1 || { echo "leak-picture: Graphviz's dot is missing" >&2; exit 77; }
dotfile=$(mktemp)
trap 'rm -f "$dotfile"' EXIT
"$bin" "$dotfile"
dot -Tsvg "$dotfile" -o "$out"
check() {
    n=$(grep -c -- "$1" "$out" || true)
    [ "$n" -eq "$2" ] || { echo "leak-picture: $out has $n lines with '$1', expected $2" >&2; exit 1; }
}
check 'class="node"' 10
check 'class="edge"' 12
check '>scope</text>' 3
check '>closure</text>' 3
check '>held from outside (1 ref)</text>' 1
check '>\[&quot;request [123]&quot;\]</text>' 3
check '>\[&quot;callback&quot;\]</text>' 3
check '>#0</text>' 6
echo "leak-picture: $out renders: 10 boxes, 12 labelled edges, 1 holder"
