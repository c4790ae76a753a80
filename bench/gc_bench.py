"""CPython 3.12's side of bench/gc_bench.c: the same two graphs, the same timing.

The shuffled chain's order comes from a different random generator than
rcgc's: the graphs are alike in kind (every link leads somewhere unpredictable),
not node for node.

Nodes are instances of a __slots__ class (no per-instance dict, so one node is
one tracked object, as in rcgc).  Automatic collection is off; only the
gc.collect() call is timed; the figure is the median over runs.

usage: PYENV_VERSION=3.12.1 python3.12 bench/gc_bench.py [objects] [runs]
"""
import gc
import os
import random
import statistics
import sys
import time


class Node:
    __slots__ = ("next",)


def result(workload, unit, value):
    print(f"RESULT {workload} cpython {unit} {value:.2f}", flush=True)


def build_chain(count):
    head = tail = Node()
    tail.next = None
    for _ in range(count - 1):
        node = Node()
        node.next = None
        tail.next = node
        tail = node
    return head


def build_shuffled_chain(count):
    """The same chain, but the node that follows each one is chosen at random."""
    nodes = [Node() for _ in range(count)]
    random.Random(1).shuffle(nodes)
    for i in range(count - 1):
        nodes[i].next = nodes[i + 1]
    nodes[-1].next = None
    return nodes[0]


def build_garbage_pairs(pairs):
    for _ in range(pairs):
        a = Node()
        b = Node()
        a.next = b
        b.next = a


def time_collect_live_chain(count, runs, shuffled=False, first=None):
    """The median per object; first (a list) gets the first timed run's."""
    head = build_shuffled_chain(count) if shuffled else build_chain(count)
    gc.collect()  # untimed: moves the young objects to the oldest generation
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        gc.collect()
        times.append(time.perf_counter_ns() - start)
    del head
    gc.collect()
    if first is not None:
        first.append(times[0] / count)
    return statistics.median(times) / count


def time_collect_garbage_pairs(count, runs):
    times = []
    for _ in range(runs):
        build_garbage_pairs(count // 2)
        start = time.perf_counter_ns()
        found = gc.collect()
        times.append(time.perf_counter_ns() - start)
        if found < count // 2 * 2:
            sys.exit(f"gc_bench.py: gc.collect() returned {found}, expected {count}")
    return statistics.median(times) / count


def main():
    objects = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    gc.disable()
    gc.collect()
    # First, before freed nodes leave memory the process could reuse.
    result("rss_per_object", "bytes", rss_growth_per_object(objects))
    result("collect_live_chain", "ns_per_object", time_collect_live_chain(objects, runs))
    first = []
    result("collect_live_shuffled", "ns_per_object",
           time_collect_live_chain(objects, runs, shuffled=True, first=first))
    result("collect_live_shuffled_first", "ns_per_object", first[0])
    result("collect_garbage_pairs", "ns_per_object",
           time_collect_garbage_pairs(objects, runs))
    # sys.getsizeof counts PyGC_Head (2 words) and PyObject_HEAD (refcount,
    # type) besides the slots.
    body = 8 * len(Node.__slots__)
    result("header_bytes", "bytes", sys.getsizeof(Node()) - body)
    result("body_bytes", "bytes", body)


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_growth_per_object(count):
    """What the process really pays per node, allocator rounding included."""
    before = resident_bytes()
    head = build_chain(count)
    grown = resident_bytes() - before
    del head
    return grown / count

if __name__ == "__main__":
    main()
