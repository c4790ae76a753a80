"""What objgraph-style leak hunting costs in CPython 3.12 on the heap of
bench/tools_bench.c: a chain of N objects held by one list.  objgraph is not
installed here (no PyPI); its functions are a few lines over the gc module,
written out below the way objgraph does them:
  census  = objgraph.typestats(): count type names over gc.get_objects()
  why     = objgraph.find_ref_chain(tail, is_root): breadth-first search
            over gc.get_referents from the root (find_backref_chain, over
            gc.get_referrers, is quadratic on a chain and never finishes).
usage: tools_bench.py [objects] [runs]"""
import gc
import statistics
import sys
import time


class Link:
    __slots__ = ("next",)

    def __init__(self):
        self.next = None


def typestats():
    stats = {}
    for o in gc.get_objects():
        name = type(o).__name__
        stats[name] = stats.get(name, 0) + 1
    return stats


def find_ref_chain(root, target):
    parent = {id(root): None}
    queue = [root]
    head = 0
    while head < len(queue):
        obj = queue[head]
        head += 1
        if obj is target:
            chain = []
            while obj is not None:
                chain.append(obj)
                obj = parent[id(obj)]
            return chain[::-1]
        for ref in gc.get_referents(obj):
            if id(ref) not in parent:
                parent[id(ref)] = obj
                queue.append(ref)
    return None


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    gc.disable()
    root = [Link()]
    tail = root[0]
    for _ in range(n - 1):
        tail.next = Link()
        tail = tail.next
    census, why = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        typestats()
        t1 = time.perf_counter()
        chain = find_ref_chain(root, tail)
        t2 = time.perf_counter()
        assert chain is not None and len(chain) == n + 1
        census.append((t1 - t0) * 1e6)
        why.append((t2 - t1) * 1e3)
    print("RESULT tools_census cpython us %.2f" % statistics.median(census))
    print("RESULT tools_why_alive cpython ms %.2f" % statistics.median(why))


main()
