"""CPython 3.12's side of bench/retain.c: build a retained list of N
one-item lists (root.append([i])) with the automatic collector on; the time
inside collections through gc.callbacks, its share of the building time, the
longest single pause, peak RSS (VmHWM), and the resident memory the first
build added, per container.

usage: PYENV_VERSION=3.12.1 python3.12 bench/retain.py [containers] [runs] [nogc]

With "nogc", automatic collection is off (gc.disable()): the floor.
"""
import gc
import statistics
import sys
import time

from bench_util import CollectionTimer, rss_mib

NOGC = len(sys.argv) > 3 and sys.argv[3] == "nogc"
IMPL = "cpython_nogc" if NOGC else "cpython"

timer = CollectionTimer()


def build(count):
    root = []
    for i in range(count):
        root.append([i])
    return root


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    gc.callbacks.append(timer)
    if NOGC:
        gc.disable()
    rss_before = rss_mib("VmRSS")
    totals, in_collections = [], []
    for _ in range(runs):
        collected_before = timer.total_ns
        start = time.perf_counter_ns()
        root = build(count)
        totals.append(time.perf_counter_ns() - start)
        in_collections.append(timer.total_ns - collected_before)
        if len(totals) == 1:
            rss_built = rss_mib("VmRSS")
        checksum = sum(item[0] for item in root)
        del root
    peak = rss_mib("VmHWM")
    total = statistics.median(totals)
    spent = statistics.median(in_collections)
    print(f"RESULT retain_checksum {IMPL} sum {checksum:.2f}")
    print(f"RESULT retain_total {IMPL} ms {total / 1e6:.2f}")
    print(f"RESULT retain {IMPL} ns_per_container {total / count:.2f}")
    print(f"RESULT retain_collection_ms {IMPL} ms {spent / 1e6:.2f}")
    print(f"RESULT retain_share {IMPL} percent {100 * spent / total:.2f}")
    print(f"RESULT retain_longest_pause {IMPL} ms {timer.longest_ns / 1e6:.2f}")
    print(f"RESULT retain_peak_rss {IMPL} MiB {peak:.2f}")
    print(f"RESULT retain_bytes_per_container {IMPL} bytes {(rss_built - rss_before) * 1048576 / count:.2f}")
    timer.report("retain", IMPL, runs)


if __name__ == "__main__":
    main()
