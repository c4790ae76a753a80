#!/usr/bin/env bash
# Replays the README's first-hour path on a copy of this tree, in the order
# written, as a newcomer would type it: the tour, install, the example with
# pkg-config, find_package.  What to replay is marked in README.md by an HTML
# comment before a fenced block:
#     <!-- replay: run -->          the block's lines run in one bash session
#                                   (cd and export carry over), from the
#                                   copy's top directory
#     <!-- replay: file PATH -->    the block is saved as PATH (~ is $HOME)
#     <!-- replay: output CMD -->   the block is exactly what CMD prints
#     <!-- replay: output-masked CMD -->  the same with every 0x... address
#                                   masked in both (they differ run to run)
# The session has a scratch $HOME and a clean environment (no PKG_CONFIG_PATH,
# LD_LIBRARY_PATH, ...), so nothing of this machine's setup helps it along.
# One line is not replayed: scripts/check.sh, which runs this replay; it builds
# in build/check-* only, so skipping it leaves build/ as a newcomer has it.
# Usage: replay.sh [REPO]   (default: the tree this script is in)
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/rcgc-readme.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
repo=$scratch/repo
home=$scratch/home
mkdir -p "$repo" "$home"

# The tree as it is (uncommitted changes included), without build trees:
# git's files if it is a checkout of its own (not a copy inside another's).
if [ "$(git -C "$root" rev-parse --show-toplevel 2>/dev/null)" = "$root" ]; then
    (cd "$root" && git ls-files -z -c -o --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -xf - -C "$repo"
else
    (cd "$root" && tar --exclude='./build' --exclude='./build-*' -cf - .) | tar -xf - -C "$repo"
fi

# README.md -> one bash script.
awk -v q="'" '
    BEGIN { print "set -euo pipefail" }
    /^<!-- replay: / {
        line = $0; sub(/^<!-- replay: /, "", line); sub(/ *-->$/, "", line)
        kind = line; sub(/ .*/, "", kind)
        arg = line; if (arg == kind) arg = ""; else sub(/^[^ ]+ /, "", arg)
        sub(/^~/, "$HOME", arg)
        pending = kind; blocks++; next
    }
    /^```/ && !inside && pending != "" {
        inside = 1; kind = pending; pending = ""; n++
        if (kind == "file") {
            print "mkdir -p \"$(dirname \"" arg "\")\""
            print "cat >\"" arg "\" <<" q "README_BLOCK" q
        } else if (kind == "output" || kind == "output-masked") {
            print "cat >\"$REPLAY_DIR/expected." n "\" <<" q "README_BLOCK" q
        } else if (kind != "run") {
            print "replay: unknown kind \"" kind "\"" >"/dev/stderr"; exit 2
        }
        next
    }
    /^```/ && inside {
        inside = 0
        if (kind == "file") print "README_BLOCK"
        if (kind == "output" || kind == "output-masked") {
            print "README_BLOCK"
            print "echo \"readme$ " arg "   # output compared with the README\""
            print arg " >\"$REPLAY_DIR/actual." n "\""
            if (kind == "output-masked")
                print "sed -i " q "s/0x[0-9a-f]\\+/0x.../g" q " \"$REPLAY_DIR/expected." n "\" \"$REPLAY_DIR/actual." n "\""
            print "diff -u \"$REPLAY_DIR/expected." n "\" \"$REPLAY_DIR/actual." n "\" ||"
            print "    { echo \"replay: the README shows other output for: " arg "\"; exit 1; }"
        }
        next
    }
    inside && kind == "run" {
        if ($0 ~ /^[ \t]*(#|$)/) next
        if ($0 ~ /^scripts\/check\.sh/) { print ": skipped: scripts/check.sh, which runs this replay"; next }
        cmd = $0; gsub(q, q "\\" q q, cmd)
        print "echo " q "readme$ " cmd q
        print $0
        next
    }
    inside { print; next }
    END { if (inside || pending != "") { print "replay: unterminated block" >"/dev/stderr"; exit 2 } }
' "$repo/README.md" >"$scratch/replay.bash"

# The path must be there: a README that lost its markers replays nothing.
for step in scripts/tour.sh 'cmake --install build' 'pkg-config --cflags --libs rcgc' \
            'find_package(rcgc' './cycle >' 'build/cycle'; do
    if ! grep -qF -- "$step" "$scratch/replay.bash"; then
        echo "replay: README.md no longer replays '$step' (see the <!-- replay: ... --> markers)" >&2
        exit 1
    fi
done

mkdir "$scratch/out"
log=$scratch/log
start=$SECONDS
if ! (cd "$repo" && env -i PATH="$PATH" HOME="$home" LANG=C.UTF-8 TERM=dumb \
        REPLAY_DIR="$scratch/out" bash "$scratch/replay.bash") >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "replay: FAILED: the README's path breaks at the last 'readme\$' command above"
    exit 1
fi
grep '^readme\$ ' "$log"
echo "replay: the README's path works in order ($(grep -c '^readme\$ ' "$log") commands, $((SECONDS - start)) s)"
