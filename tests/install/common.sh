# Sourced by run.sh and package.sh after setting `what` (the test's name in
# messages): the build directory from $1, this directory, a scratch directory
# removed at exit, its log, and fail, which shows the log.
build=$(cd "$1" && pwd)
CC=${CC:-cc}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/rcgc-$what.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
log=$scratch/log

fail() {
    echo "$what test: $*" >&2
    [ -s "$log" ] && sed 's/^/  | /' "$log" >&2
    exit 1
}
