#!/bin/sh
# Fails if the shared library exports a symbol outside the rcgc_ namespace
# (internal helpers must stay hidden), or, given the public header, if a
# function or object the header declares RCGC_API is not exported.
# Usage: check-symbols.sh path/to/librcgc.so [path/to/rcgc.h ...]
set -eu
lib=$1
shift
headers="$*"
symbols=$(nm -D --defined-only "$lib" | awk 'NF == 3 { print $3 }')
# Names the linker itself may add to any shared object.
foreign=$(printf '%s\n' "$symbols" |
    grep -v -E '^(rcgc_.*|_init|_fini|_edata|_end|__bss_start)$' || true)
if [ -n "$foreign" ]; then
    echo "check-symbols: $lib exports symbols outside rcgc_*:" >&2
    printf '  %s\n' $foreign >&2
    exit 1
fi
# Internal helpers are spelled rcgc__ and must not leak either.
internal=$(printf '%s\n' "$symbols" | grep -E '^rcgc__' || true)
if [ -n "$internal" ]; then
    echo "check-symbols: $lib exports internal rcgc__ symbols:" >&2
    printf '  %s\n' $internal >&2
    exit 1
fi
count=$(printf '%s\n' "$symbols" | grep -c -E '^rcgc_' || true)
if [ "$count" -eq 0 ]; then
    echo "check-symbols: $lib exports no rcgc_ symbol" >&2
    exit 1
fi
for header in $headers; do
    declared=$(sed -n \
        -e 's/^RCGC_API extern.*[ *]\(rcgc_[a-z0-9_]*\);.*/\1/p' \
        -e 's/^RCGC_API.*[ *]\(rcgc_[a-z0-9_]*\)(.*/\1/p' "$header")
    missing=""
    for name in $declared; do
        printf '%s\n' "$symbols" | grep -q -x "$name" || missing="$missing $name"
    done
    if [ -n "$missing" ]; then
        echo "check-symbols: declared RCGC_API in $header but not exported:" >&2
        printf '  %s\n' $missing >&2
        exit 1
    fi
done
echo "check-symbols: $count symbols exported, all rcgc_*"
