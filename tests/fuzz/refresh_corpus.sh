#!/usr/bin/env bash
# Rebuild tests/fuzz/corpus, small, from fuzzing output:
#     tests/fuzz/refresh_corpus.sh FUZZ_API_BINARY DIR...
# The seeds of gen_seeds.py come first, then libFuzzer's merge (-merge=1) adds
# the smallest inputs that reach a coverage edge the corpus does not reach
# yet.  Edges only (-use_counters=0): merging by every counter feature keeps
# thousands of inputs; the 60-second CI run gets the counters back in seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { echo "usage: $0 FUZZ_API_BINARY DIR..." >&2; exit 2; }
binary=$1
shift
new=$(mktemp -d)
trap 'rm -rf "$new"' EXIT
python3 "$here/gen_seeds.py" "$new" >/dev/null
"$binary" -merge=1 -use_counters=0 "$new" "$@" 2>&1 | grep '^MERGE-OUTER: .* new files' || true
rm -rf "$here/corpus"
mkdir "$here/corpus"
cp "$new"/* "$here/corpus/"
echo "corpus: $(ls "$here/corpus" | wc -l) inputs, $(cat "$here/corpus"/* | wc -c) bytes"
