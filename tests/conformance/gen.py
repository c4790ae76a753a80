"""Seeded generator of random conformance programs (the format is in README.md).

The generator keeps a rough shadow of the program's structure (which variable
holds which node, what each slot points to) only to pick operations that do
something: it does not model liveness, and the interpreters never rely on it,
since every operation is defined for every state (a meaningless one is "skip").
"""
import random
import sys

NVARS = 8
NWREFS = 8
NSLOTS = 3

# Thresholds for auto mode, small so that automatic collections happen often
# within a program of a few hundred operations.
AUTO_THRESHOLDS = [(10, 5, 5), (5, 2, 2), (20, 3, 3), (1, 1, 1), (50, 10, 10)]

MANUAL_WEIGHTS = {
    'new': 14, 'link': 20, 'unlink': 4, 'copy': 5, 'drop': 10, 'load': 6,
    'wref': 9, 'wdrop': 3, 'wget': 3, 'wpeek': 3, 'wstore': 5, 'wcount': 2,
    'collect': 8, 'rc': 5, 'fin': 2, 'count': 4, 'saveall': 1.5,
    'garbage': 1.5, 'gclear': 1.5, 'rpop': 2, 'rclear': 1.5,
    'chain': 1.2, 'ring': 1.2,
}

# Auto mode leaves out every operation whose effect or log depends on when the
# automatic collections happen (README.md, "Auto mode").
AUTO_WEIGHTS = {
    'new': 16, 'link': 22, 'unlink': 4, 'copy': 5, 'drop': 10, 'load': 6,
    'wref': 6, 'collect': 3, 'chain': 1, 'ring': 1,
}

NODE_KINDS = [('p', 40), ('f', 30), ('r', 18), ('s', 12)]
WREF_KINDS = [('n', 30), ('c', 40), ('d', 15), ('v', 10), ('g', 5)]


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for item, w in pairs:
        x -= w
        if x < 0:
            return item
    return pairs[-1][0]


class Shadow:
    """What the generator believes the program state is (approximate)."""

    def __init__(self):
        self.vars = [None] * NVARS      # node id or None
        self.kind = {}                  # node id -> kind letter
        self.slots = {}                 # node id -> [node id | 'w' | None]
        self.wrefs = [False] * NWREFS   # does the table entry hold a weakref
        self.next_id = 1

    def full_vars(self):
        return [v for v in range(NVARS) if self.vars[v] is not None]


class Generator:
    def __init__(self, seed, auto):
        self.rng = random.Random(seed)
        self.auto = auto
        self.st = Shadow()
        self.recent = []    # variables written lately: linking them makes cycles
        # Each program leans its own way (cycle-heavy, weakref-heavy, ...):
        # every weight is scaled by a factor between 1/4 and 4.
        base = AUTO_WEIGHTS if auto else MANUAL_WEIGHTS
        self.weights = [(name, w * 4 ** self.rng.uniform(-1, 1))
                        for name, w in base.items()]

    def pick_var(self, full=True):
        rng, st = self.rng, self.st
        cands = st.full_vars() if full else list(range(NVARS))
        if not cands:
            return rng.randrange(NVARS)
        if self.recent and rng.random() < 0.4:
            v = rng.choice(self.recent[-3:])
            if v in cands:
                return v
        return rng.choice(cands)

    def touch(self, v):
        self.recent.append(v)
        del self.recent[:-6]

    def op(self):
        name = weighted(self.rng, self.weights)
        return getattr(self, 'op_' + name)()

    def op_new(self):
        st = self.st
        v = self.rng.randrange(NVARS)
        k = weighted(self.rng, NODE_KINDS)
        nid = st.next_id
        st.next_id += 1
        st.kind[nid] = k
        st.slots[nid] = [None] * NSLOTS
        st.vars[v] = nid
        self.touch(v)
        return f'new {v} {k}'

    def op_chain(self, ring=False):
        rng, st = self.rng, self.st
        v = rng.randrange(NVARS)
        n = int(2 ** rng.uniform(0, 5.9))          # 1..59, mostly short
        kinds = NODE_KINDS + [('m', 25)]
        if self.auto:   # see op_link: no links from resurrectors in auto mode
            kinds = [kw for kw in kinds if kw[0] not in 'rm']
        k = weighted(rng, kinds)
        first = st.next_id
        st.next_id += n
        for i in range(first, first + n):
            st.kind[i] = 'pfrs'[i % 4] if k == 'm' else k
            nxt = i + 1 if i + 1 < first + n else (first if ring else None)
            st.slots[i] = [nxt, None, None]
        st.vars[v] = first
        self.touch(v)
        return f'{"ring" if ring else "chain"} {v} {n} {k}'

    def op_ring(self):
        return self.op_chain(ring=True)

    def op_link(self):
        rng, st = self.rng, self.st
        v = self.pick_var()
        s = rng.randrange(NSLOTS)
        r = rng.random()
        w = v if r < 0.15 else self.pick_var()
        n = st.vars[v]
        if n is not None and not (self.auto and st.kind[n] == 'r'):
            st.slots[n][s] = st.vars[w]
        self.touch(w)
        return f'link {v} {s} {w}'

    def op_unlink(self):
        v = self.pick_var()
        s = self.rng.randrange(NSLOTS)
        n = self.st.vars[v]
        if n is not None:
            self.st.slots[n][s] = None
        return f'unlink {v} {s}'

    def op_copy(self):
        v = self.pick_var()
        w = self.rng.randrange(NVARS)
        self.st.vars[w] = self.st.vars[v]
        self.touch(w)
        return f'copy {v} {w}'

    def op_drop(self):
        v = self.pick_var()
        self.st.vars[v] = None
        return f'drop {v}'

    def op_load(self):
        st = self.st
        v = self.pick_var()
        s = self.rng.randrange(NSLOTS)
        w = self.rng.randrange(NVARS)
        n = st.vars[v]
        if n is not None:
            x = st.slots[n][s]
            if x != 'w':
                st.vars[w] = x
                self.touch(w)
        return f'load {v} {s} {w}'

    def free_wref_slot(self):
        st = self.st
        empty = [r for r in range(NWREFS) if not st.wrefs[r]]
        if self.auto or (empty and self.rng.random() < 0.7):
            return self.rng.choice(empty) if empty else 0
        return self.rng.randrange(NWREFS)

    def op_wref(self):
        st = self.st
        r = self.free_wref_slot()
        v = self.pick_var()
        k = weighted(self.rng, WREF_KINDS[:2] if self.auto else WREF_KINDS)
        if st.vars[v] is not None:
            st.wrefs[r] = True
        return f'wref {r} {v} {k}'

    def pick_wref(self):
        full = [r for r in range(NWREFS) if self.st.wrefs[r]]
        if full and self.rng.random() < 0.85:
            return self.rng.choice(full)
        return self.rng.randrange(NWREFS)

    def op_wdrop(self):
        r = self.pick_wref()
        self.st.wrefs[r] = False
        return f'wdrop {r}'

    def op_wget(self):
        st = self.st
        r = self.pick_wref()
        v = self.rng.randrange(NVARS)
        if st.wrefs[r]:
            # The referent may be dead by now; the shadow guesses it is not.
            st.vars[v] = st.next_id - 1 if st.next_id > 1 else None
            self.touch(v)
        return f'wget {r} {v}'

    def op_wpeek(self):
        return f'wpeek {self.pick_wref()}'

    def op_wstore(self):
        st = self.st
        r = self.pick_wref()
        v = self.pick_var()
        s = self.rng.randrange(NSLOTS)
        n = st.vars[v]
        if n is not None:
            st.slots[n][s] = 'w' if st.wrefs[r] else None
        return f'wstore {r} {v} {s}'

    def op_wcount(self):
        return f'wcount {self.pick_var()}'

    def op_collect(self):
        g = weighted(self.rng, [(0, 40), (1, 25), (2, 35)])
        return f'collect {g}'

    def op_rc(self):
        return f'rc {self.pick_var()}'

    def op_fin(self):
        return f'fin {self.pick_var()}'

    def op_count(self):
        return 'count'

    def op_saveall(self):
        return f'saveall {self.rng.randrange(2)}'

    def op_garbage(self):
        return 'garbage'

    def op_gclear(self):
        return 'gclear'

    def op_rpop(self):
        v = self.rng.randrange(NVARS)
        self.st.vars[v] = None   # unknown: a resurrected node, or nothing
        return f'rpop {v}'

    def op_rclear(self):
        return 'rclear'


def generate(seed, auto=False, length=None):
    """The text of one program (header line and operations, no 'end')."""
    gen = Generator(seed, auto)
    rng = gen.rng
    if length is None:
        length = rng.randint(20, 200) if not auto else rng.randint(60, 300)
    if auto:
        t = rng.choice(AUTO_THRESHOLDS)
        head = f'mode auto {t[0]} {t[1]} {t[2]}'
    else:
        head = 'mode manual'
    lines = [f'# seed {seed}', head]
    lines += [gen.op() for _ in range(length)]
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    import argparse
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('seed', type=int)
    ap.add_argument('--auto', action='store_true')
    ap.add_argument('--length', type=int)
    a = ap.parse_args()
    sys.stdout.write(generate(a.seed, a.auto, a.length))
