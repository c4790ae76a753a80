"""CPython 3.12's side of bench/trees.c: the same binary-trees work, with the
default (automatic) collector, nodes of a __slots__ class.

usage: PYENV_VERSION=3.12.1 python3.12 bench/trees.py [max depth] [runs] [cyclic]

With "cyclic", every node also holds its parent (trees.c's TREES_CYCLIC):
every tree is a cycle that only the collector frees.
"""
import gc
import statistics
import sys
import time

from bench_util import CollectionTimer, rss_mib

CYCLIC = len(sys.argv) > 3 and sys.argv[3] == "cyclic"
IMPL = "cpython_cyclic" if CYCLIC else "cpython"


class Tree:
    __slots__ = ("left", "right", "parent") if CYCLIC else ("left", "right")

    def __init__(self, left, right):
        self.left = left
        self.right = right
        if CYCLIC and left is not None:
            left.parent = self
            right.parent = self


nodes_made = 0
timer = CollectionTimer()   # where the time goes


def bottom_up_tree(depth):
    global nodes_made
    nodes_made += 1
    if depth <= 0:
        return Tree(None, None)
    left = bottom_up_tree(depth - 1)
    return Tree(left, bottom_up_tree(depth - 1))


def item_check(t):
    return 1 + item_check(t.left) + item_check(t.right) if t.left else 1


def binary_trees(max_depth):
    min_depth = 4
    checks = item_check(bottom_up_tree(max_depth + 1))
    long_lived = bottom_up_tree(max_depth)
    for depth in range(min_depth, max_depth + 1, 2):
        for _ in range(1 << (max_depth - depth + min_depth)):
            checks += item_check(bottom_up_tree(depth))
    return checks + item_check(long_lived)


def main():
    global nodes_made
    max_depth = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    times = []
    gc.callbacks.append(timer)
    for _ in range(runs):
        nodes_made = 0
        start = time.perf_counter_ns()
        checks = binary_trees(max_depth)
        times.append(time.perf_counter_ns() - start)
    median = statistics.median(times)
    print(f"RESULT trees_nodes {IMPL} count {nodes_made:.2f}")
    print(f"RESULT trees_checksum {IMPL} sum {checks:.2f}")
    print(f"RESULT trees_total {IMPL} ms {median / 1e6:.2f}")
    print(f"RESULT trees {IMPL} ns_per_node {median / nodes_made:.2f}")
    print(f"RESULT trees_peak_rss {IMPL} MiB {rss_mib('VmHWM'):.2f}")
    timer.report("trees", IMPL, runs)


if __name__ == "__main__":
    main()
