"""CPython 3.12's tracemalloc on bench/trace_bench.c's work: binary trees of
depth 4..12 built and dropped (a __slots__ class), untraced and traced with
1 and 10 frames (tracemalloc's default maximum); and tracemalloc's own bytes
per traced object (get_tracemalloc_memory) with a tree of 2^16 nodes kept.
usage: trace_bench.py [runs]"""
import gc
import statistics
import sys
import time
import tracemalloc


class Tree:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left = left
        self.right = right


def build(depth):
    if depth == 0:
        return Tree(None, None)
    return Tree(build(depth - 1), build(depth - 1))


def run():
    nodes = 0
    t0 = time.perf_counter()
    for depth in range(4, 13, 2):
        for _ in range(1 << (14 - depth)):
            build(depth)
            nodes += (2 << depth) - 1
    return (time.perf_counter() - t0) * 1e9 / nodes


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    gc.disable()
    run()
    off = statistics.median(run() for _ in range(runs))
    print("RESULT trace_untraced cpython ns_per_node %.2f" % off)
    for frames in (1, 10):
        tracemalloc.start(frames)
        on = statistics.median(run() for _ in range(runs))
        print("RESULT trace_%d_frames cpython ns_per_node %.2f" % (frames, on))
        print("RESULT trace_%d_frames_ratio cpython x %.2f" % (frames, on / off))
        kept = build(15)
        print("RESULT trace_%d_frames_bytes cpython bytes_per_object %.2f"
              % (frames, tracemalloc.get_tracemalloc_memory() / ((2 << 15) - 1)))
        del kept
        tracemalloc.stop()


main()
