"""CPython 3.12's side of bench/interp.c, with Python's own closures: for
each of N iterations an environment (a dict of variables, a list of
arguments) and a closure over it, stored into that environment (the
closure's cell holds the dict, the dict holds the closure: a cycle that only
the collector frees), called once, and dropped.  The closure computes what
interp.c's bytecode does, (x + y) * n + k + self.code, k a global; the
checksum is the same.

usage: PYENV_VERSION=3.12.1 python3.12 bench/interp.py [closures] [runs]
"""
import gc
import statistics
import sys
import time

from bench_util import CollectionTimer, rss_mib

k = 7
timer = CollectionTimer()


def make_closure(slots, variables, code):
    def closure():
        return (slots[0] + slots[1]) * variables["n"] + k + variables["self"].code
    closure.code = code
    variables["self"] = closure   # the environment holds its closure
    return closure


def interpret(closures):
    checksum = 0
    for i in range(closures):
        checksum += make_closure([i, i % 7], {"n": i & 1023}, i % 5)()
    return checksum


def main():
    closures = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    gc.callbacks.append(timer)
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        checksum = interpret(closures)
        times.append(time.perf_counter_ns() - start)
    median = statistics.median(times)
    print(f"RESULT interp_closures cpython count {closures:.2f}")
    print(f"RESULT interp_checksum cpython sum {checksum:.2f}")
    print(f"RESULT interp_total cpython ms {median / 1e6:.2f}")
    print(f"RESULT interp cpython ns_per_closure {median / closures:.2f}")
    print(f"RESULT interp_peak_rss cpython MiB {rss_mib('VmHWM'):.2f}")
    print(f"RESULT interp_collections cpython per_run {sum(timer.count) / runs:.2f}")
    print(f"RESULT interp_collection_ms cpython ms_per_run {timer.total_ns / 1e6 / runs:.2f}")


if __name__ == "__main__":
    main()
