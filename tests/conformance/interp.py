"""The CPython side of the conformance test: runs programs, prints their logs.

Usage: python3.12 interp.py [FILE]   (programs end with a line "end")

interp.c prints the same log for the same programs with rcgc.  The log must
not depend on this interpreter's own allocations, so while a program runs
this file allocates no object the collector tracks, apart from the nodes and
weakrefs the program asks for: events are strings, the tables are lists made
before the program starts, and nothing raises.  CPython's own hidden tuples
(the arguments of a weakref constructor call, the result of gc.get_count(),
the tuple PyObject_ClearWeakRefs fills) are neutralised by warm_freelists.
"""
import gc
import sys
import weakref

NVARS = 8
NWREFS = 8
SLOTS = ('s0', 's1', 's2')
AUTO_OPS = frozenset(['new', 'link', 'unlink', 'copy', 'drop', 'load', 'wref',
                      'collect', 'chain', 'ring'])


class Node:
    __slots__ = ('s0', 's1', 's2', 'id', '__weakref__')


class FinNode(Node):
    __slots__ = ()

    def __del__(self):
        note_finalizer('F', self.id)


class ResNode(Node):
    __slots__ = ()

    def __del__(self):
        note_finalizer('R', self.id)
        resurrected.append(self)


class SuicideNode(Node):
    """Breaks its own references when finalized (test_finalization's suicide)."""
    __slots__ = ()

    def __del__(self):
        note_finalizer('S', self.id)
        self.s0 = None
        self.s1 = None
        self.s2 = None


NODE_CLASSES = {'p': Node, 'f': FinNode, 'r': ResNode, 's': SuicideNode}
MIXED_KINDS = 'pfrs'   # kind 'm' of chain and ring: node id % 4 picks


class WRef(weakref.ref):
    # A subclass: CPython shares callback-less weakref.ref objects, rcgc never
    # does; subclass instances are never shared.
    __slots__ = ('wid', 'tid')


# Program state, rebuilt by run_program before each program.
vars_ = [None] * NVARS
wrefs = [None] * NWREFS
resurrected = []
events = []
all_events = []        # auto mode: every event of the whole program
finalized = []         # node id -> 1 once its finalizer ran
cb_seq = []            # node id -> callbacks for it so far in this step
cb_touched = []
auto = False
in_collect = False
rc_offset = 0
tuple_pools = []       # lists of spare tuples, one list per size
FREELIST_DEPTH = NVARS + 4


def note_finalizer(tag, nid):
    finalized[nid] = 1
    tok = f'{tag}{nid}'
    events.append(tok)
    if auto:
        all_events.append(tok)


def note_callback(wr):
    tid = wr.tid
    alive = 0
    for i in range(NWREFS):
        w = wrefs[i]
        if w is not None and w is not wr and w.tid == tid and w() is not None:
            alive += 1
    if auto:
        # Only what does not depend on when collections happen.
        tok = f'C{wr.wid}'
        all_events.append(tok if not alive else f'{tok}!{alive}')
        return True
    seq = cb_seq[tid]
    cb_seq[tid] = seq + 1
    cb_touched.append(tid)
    tok = f'C{wr.wid}:n{tid}@{seq}'
    if finalized[tid]:
        tok = tok + 'f'
    if alive:
        tok = f'{tok}!{alive}'
    events.append(tok)
    return True


# The callbacks of kinds c, d, v and g.  One that is not logged (note_callback
# returns False) has no side effect either: rcgc may not have run it at all.

def on_clear(wr):
    note_callback(wr)


def on_clear_drop(wr):
    """Drops its own weakref from the table: freed right after the callback."""
    note_callback(wr)
    for i in range(NWREFS):
        if wrefs[i] is wr:
            wrefs[i] = None


def on_clear_drop_var(wr):
    """Drops a variable, which may free objects in the middle of a collection."""
    if note_callback(wr):
        vars_[wr.wid % NVARS] = None


def on_clear_collect(wr):
    """Asks for a collection while one runs: it must return 0."""
    if note_callback(wr) and in_collect:
        events.append(f'G{wr.wid}:{gc.collect()}')


CALLBACKS = {'n': None, 'c': on_clear, 'd': on_clear_drop, 'v': on_clear_drop_var,
             'g': on_clear_collect}


def warm_freelists():
    # A full collection empties CPython's tuple free lists; the next tuple of a
    # size is then a fresh tracked allocation that bumps the generation-0 count
    # once and for all (freeing it refills the free list without a decrement).
    # Three sizes are at stake: 2 (the arguments of WRef(...)), 3 (the result
    # of gc.get_count()) and 2 * n for n = 2..10 (the tuple in which
    # PyObject_ClearWeakRefs keeps n weakrefs and their callbacks while they
    # run; larger ones are not kept on a free list).  Releasing a tuple made
    # before the program started refills a list at no cost to the count.
    # Callbacks that drop variables nest weakref clearings, each holding its
    # own tuple, at most once per variable: hence a dozen tuples of each size.
    for pool in tuple_pools:
        for _ in range(FREELIST_DEPTH):
            if pool:
                pool.pop()


def node_name(x):
    return 'none' if x is None else f'n{x.id}'


def refcount(v):
    return sys.getrefcount(vars_[v]) - rc_offset


def step(op):
    """Run one parsed operation; the result to log."""
    global in_collect
    name = op[0]
    a = op[1]
    b = op[2]
    c = op[3]
    if auto and name not in AUTO_OPS:
        return 'skip'
    if name == 'new':
        n = NODE_CLASSES[b]()
        n.s0 = None
        n.s1 = None
        n.s2 = None
        n.id = op[4]
        vars_[a] = n
        return f'n{n.id}'
    if name == 'chain' or name == 'ring':
        # first -> first+1 -> ... -> last (-> first for a ring), through s0
        if auto and (c == 'r' or c == 'm'):
            return 'skip'
        first = op[4]
        head = None
        tail = None
        i = first + b - 1
        while i >= first:
            x = NODE_CLASSES[MIXED_KINDS[i % 4] if c == 'm' else c]()
            x.s0 = head
            x.s1 = None
            x.s2 = None
            x.id = i
            if tail is None:
                tail = x
            head = x
            i -= 1
        if name == 'ring':
            tail.s0 = head
        vars_[a] = head
        return f'n{first}..n{first + b - 1}'
    if name == 'link' or name == 'unlink':
        n = vars_[a]
        if n is None or (auto and n.__class__ is ResNode):
            return 'skip'
        setattr(n, SLOTS[b], vars_[c] if name == 'link' else None)
        return 'ok'
    if name == 'copy':
        vars_[b] = vars_[a]
        return 'ok'
    if name == 'drop':
        vars_[a] = None
        return 'ok'
    if name == 'load':
        n = vars_[a]
        if n is None:
            return 'skip'
        x = getattr(n, SLOTS[b])
        if x is not None and not isinstance(x, Node):
            return 'skip'
        vars_[c] = x
        return node_name(x)
    if name == 'wref':
        n = vars_[b]
        if n is None:
            return 'skip'
        if auto and (wrefs[a] is not None or n.__class__ is ResNode or c not in 'nc'):
            return 'skip'
        w = WRef(n, CALLBACKS[c])
        w.wid = op[4]
        w.tid = n.id
        wrefs[a] = w
        return f'w{w.wid}'
    if name == 'wdrop':
        if wrefs[a] is None:
            return 'skip'
        wrefs[a] = None
        return 'ok'
    if name == 'wget' or name == 'wpeek':
        w = wrefs[a]
        if w is None:
            return 'skip'
        x = w()
        if name == 'wget':
            vars_[b] = x
        return node_name(x)
    if name == 'wstore':
        n = vars_[b]
        w = wrefs[a]
        if n is None or w is None:
            return 'skip'
        setattr(n, SLOTS[c], w)
        return 'ok'
    if name == 'wcount':
        n = vars_[a]
        if n is None:
            return 'skip'
        return f'{weakref.getweakrefcount(n)}'
    if name == 'collect':
        in_collect = True
        r = gc.collect(a)
        in_collect = False
        if a == 2:
            warm_freelists()
        return f'{r}'
    if name == 'rc':
        if vars_[a] is None:
            return 'skip'
        return f'{refcount(a)}'
    if name == 'fin':
        n = vars_[a]
        if n is None:
            return 'skip'
        return '1' if gc.is_finalized(n) else '0'
    if name == 'count':
        c0, c1, c2 = gc.get_count()
        return f'{c0},{c1},{c2}'
    if name == 'saveall':
        gc.set_debug(gc.DEBUG_SAVEALL if a else 0)
        return 'ok'
    if name == 'garbage':
        return f'{len(gc.garbage)}'
    if name == 'gclear':
        gc.garbage.clear()
        return 'ok'
    if name == 'rpop':
        if not resurrected:
            return 'skip'
        x = resurrected.pop()
        vars_[a] = x
        return node_name(x)
    if name == 'rclear':
        resurrected.clear()
        return 'ok'
    raise ValueError(f'unknown operation {name!r}')


def end_step(out, label, res):
    events.sort()
    line = f'{label} -> {res}'
    if events:
        line = line + ' | ' + ' '.join(events)
    out.append(line)
    events.clear()
    for t in cb_touched:
        cb_seq[t] = 0
    cb_touched.clear()


INT_ARGS = {'new': 1, 'link': 3, 'unlink': 2, 'copy': 2, 'drop': 1, 'load': 3,
            'wref': 2, 'wdrop': 1, 'wget': 2, 'wpeek': 1, 'wstore': 3,
            'wcount': 1, 'collect': 1, 'rc': 1, 'fin': 1, 'count': 0,
            'saveall': 1, 'garbage': 0, 'gclear': 0, 'rpop': 1, 'rclear': 0,
            'chain': 2, 'ring': 2}
ARG_LIMITS = {'new': (NVARS,), 'link': (NVARS, 3, NVARS), 'unlink': (NVARS, 3),
              'copy': (NVARS, NVARS), 'drop': (NVARS,), 'load': (NVARS, 3, NVARS),
              'wref': (NWREFS, NVARS), 'wdrop': (NWREFS,), 'wget': (NWREFS, NVARS),
              'wpeek': (NWREFS,), 'wstore': (NWREFS, NVARS, 3), 'wcount': (NVARS,),
              'collect': (3,), 'rc': (NVARS,), 'fin': (NVARS,), 'saveall': (2,),
              'rpop': (NVARS,), 'chain': (NVARS, 61), 'ring': (NVARS, 61)}


def parse(lines):
    """(mode fields, [(name, a, b, c, serial, text)]); serial numbers nodes
    and weakrefs in creation order."""
    mode = None
    ops = []
    node_serial = 0
    wref_serial = 0
    for raw in lines:
        f = raw.split()
        if not f or f[0].startswith('#'):
            continue
        if f[0] == 'mode':
            mode = f[1:]
            continue
        name = f[0]
        if name not in INT_ARGS:
            raise ValueError(f'bad line {raw!r}')
        nint = INT_ARGS[name]
        if len(f) != 1 + nint + (name in ('new', 'wref', 'chain', 'ring')):
            raise ValueError(f'bad line {raw!r}')
        args = [int(x) for x in f[1:1 + nint]] + f[1 + nint:]
        limits = ARG_LIMITS.get(name, ())
        for x, lim in zip(args, limits):
            if not 0 <= x < lim:
                raise ValueError(f'argument out of range in {raw!r}')
        if name == 'new' and (len(args) != 2 or args[1] not in NODE_CLASSES):
            raise ValueError(f'bad line {raw!r}')
        if name == 'wref' and (len(args) != 3 or args[2] not in CALLBACKS):
            raise ValueError(f'bad line {raw!r}')
        if name in ('chain', 'ring') and (len(args) != 3 or args[1] < 1 or
                                          args[2] not in 'pfrsm' or len(args[2]) != 1):
            raise ValueError(f'bad line {raw!r}')
        args += [None] * (3 - len(args))
        serial = 0
        if name == 'new':
            node_serial += 1
            serial = node_serial
        elif name in ('chain', 'ring'):
            serial = node_serial + 1
            node_serial += args[1]
        elif name == 'wref':
            wref_serial += 1
            serial = wref_serial
        ops.append((name, args[0], args[1], args[2], serial, ' '.join(f)))
    if mode is None or mode[0] not in ('manual', 'auto'):
        raise ValueError('missing "mode manual" or "mode auto T0 T1 T2" line')
    return mode, ops, node_serial


def gc_stats():
    """gc.get_stats() as [(collections, collected, uncollectable)] per generation."""
    return [(d['collections'], d['collected'], d['uncollectable'])
            for d in gc.get_stats()]


def live_node_ids():
    return sorted(o.id for o in gc.get_objects() if isinstance(o, Node))


def teardown():
    gc.disable()
    gc.set_debug(0)
    # Each round frees one more link of a chain of resurrectors (one node's
    # finalizer stores the next in `resurrected` while that list is cleared).
    for _ in range(10000):
        for i in range(NVARS):
            vars_[i] = None
        for i in range(NWREFS):
            wrefs[i] = None
        resurrected.clear()
        gc.garbage.clear()
        gc.collect()
        if not resurrected and not gc.garbage:
            break
    # Finalizers and callbacks ran during the teardown too: forget them.
    events.clear()
    all_events.clear()
    cb_touched.clear()


def run_program(lines, out):
    global auto, finalized, cb_seq, tuple_pools
    mode, ops, nnodes = parse(lines)
    auto = mode[0] == 'auto'
    finalized = [0] * (nnodes + 1)
    cb_seq = [0] * (nnodes + 1)
    ncollect2 = sum(1 for op in ops if op[0] == 'collect' and op[1] == 2)
    tuple_pools = [[tuple(range(size)) for _ in range((ncollect2 + 2) * FREELIST_DEPTH)]
                   for size in (2, 3, 4, 6, 8, 10, 12, 14, 16, 18, 20)]
    log = []
    nops = len(ops)
    gc.disable()
    gc.set_debug(0)
    gc.set_threshold(700, 10, 10)
    gc.collect()         # the interpreter's garbage, before freezing it
    gc.freeze()          # the interpreter's own objects stay out of the way
    stats_before = gc_stats()
    gc.collect()
    warm_freelists()
    if auto:
        gc.set_threshold(int(mode[1]), int(mode[2]), int(mode[3]))
        gc.enable()
    i = 0
    while i < nops:
        op = ops[i]
        res = step(op)
        i += 1
        if not auto:
            end_step(log, f'{i}: {op[5]}', res)
    gc.disable()
    if auto:
        # Nothing above was logged: compare what all timings agree on.
        gc.collect()
        fins = sorted(t for t in all_events if t[0] != 'C')
        cbs = sorted(t for t in all_events if t[0] == 'C')
        log.append('finalizers: ' + ' '.join(fins))
        log.append('callbacks: ' + ' '.join(cbs))
    else:
        end_step(log, 'final: collect 2', f'{gc.collect()}')
    log.append('alive: ' + ' '.join(f'n{x}' for x in live_node_ids()))
    if not auto:
        log.append('stats: ' + ' '.join(
            ','.join(f'{now - before}' for now, before in zip(g1, g0))
            for g1, g0 in zip(gc_stats(), stats_before)))
    teardown()
    leaked = live_node_ids()
    if leaked:
        log.append('leaked after teardown: ' + ' '.join(f'n{x}' for x in leaked))
    out.write('\n'.join(log) + '\nend\n')
    out.flush()
    if leaked:
        sys.exit(3)   # they would pollute the next program; run.py restarts


def calibrate():
    global rc_offset
    vars_[0] = Node()
    rc_offset = 0
    rc_offset = refcount(0) - 1
    vars_[0] = None


def main():
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    text = src.read()
    calibrate()
    prog = []
    for line in text.split('\n'):
        if line.strip() == 'end':
            run_program(prog, sys.stdout)
            prog = []
        else:
            prog.append(line)
    if any(line.strip() for line in prog):
        run_program(prog, sys.stdout)


if __name__ == '__main__':
    main()
