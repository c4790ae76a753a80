#!/usr/bin/env python3
"""Differential test: random programs run in CPython and in rcgc, logs compared.

  run.py --interp BUILD/tests/conformance/conformance_interp [--mode manual|auto|both]
  run.py --interp ... --long              # 100,000 programs
  run.py --interp ... --seed S            # repeat a run's fresh programs
  run.py --interp ... --program FILE      # one program from a file, diff shown

Ends with "conformance: N passed, N failed"; exit status 1 on any failure.
On a mismatch the program is shrunk (delta debugging over its lines) and the
smallest program still showing a mismatch is printed with both logs.
README.md explains the program format and what is compared.
"""
import argparse
import difflib
import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True   # no __pycache__ in the source tree
import gen  # noqa: E402

INTERP_PY = os.path.join(HERE, 'interp.py')


def find_python(explicit):
    """The CPython that plays the oracle: 3.12 first, then 3.11-3.13."""
    probe = ('import sys; i = sys.implementation; '
             'print(i.name, "%d.%d.%d" % sys.version_info[:3])')
    if explicit:
        candidates = [([explicit], None)]
    else:
        candidates = [(['python3.12'], {'PYENV_VERSION': '3.12.1'})]
        candidates += [([name], None) for name in
                       ('python3.12', 'python3.13', 'python3.11', 'python3')]
    for cmd, extra_env in candidates:
        if not shutil.which(cmd[0]):
            continue
        env = dict(os.environ, **(extra_env or {}))
        try:
            out = subprocess.run(cmd + ['-c', probe], env=env, capture_output=True,
                                 text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        fields = out.stdout.split()
        if out.returncode != 0 or len(fields) != 2 or fields[0] != 'cpython':
            continue
        major, minor = (int(x) for x in fields[1].split('.')[:2])
        if explicit or (major == 3 and 11 <= minor <= 13):
            return cmd, env, fields[1]
    if explicit:
        sys.exit(f'conformance: --python {explicit} is not a working CPython')
    sys.exit('conformance: no CPython 3.11-3.13 found (tried PYENV_VERSION=3.12.1 '
             'python3.12, python3.12, python3.13, python3.11, python3): cannot run')


class Runner:
    def __init__(self, py_cmd, py_env, c_interp, timeout_per_program=2.0):
        self.sides = {'cpython': (py_cmd + [INTERP_PY], py_env),
                      'rcgc': ([c_interp], None)}
        self.timeout_per_program = timeout_per_program

    def run_side(self, side, programs):
        """Logs (one string per program) of one interpreter; a crash or a hang
        becomes the log's last line and the rest run in a new process."""
        cmd, env = self.sides[side]
        logs = []
        while len(logs) < len(programs):
            todo = programs[len(logs):]
            text = ''.join(p + 'end\n' for p in todo)
            timeout = 20 + self.timeout_per_program * len(todo)
            p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env)
            try:
                out, err = p.communicate(text, timeout=timeout)
                trouble = f'exit status {p.returncode}'
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                trouble = f'no answer after {timeout:.0f} s'
            blocks = out.split('end\n')
            done, rest = blocks[:-1], blocks[-1]
            logs += done[:len(todo)]
            if len(logs) < len(programs):
                tail = ' / '.join(err.strip().splitlines()[-3:])
                logs.append(f'{rest}CRASH: {side} interpreter: {trouble}: {tail}\n')
            elif p.returncode not in (0, 3):
                # Every program finished: a failure now is in teardown or exit.
                logs[-1] += f'CRASH: {side} interpreter: {trouble} after the end\n'
        return logs

    def run(self, programs, jobs=1):
        """[(cpython_log, rcgc_log)] for each program, in order."""
        chunks = [programs[i::jobs] for i in range(jobs)] if jobs > 1 else [programs]
        with ThreadPoolExecutor(max_workers=2 * len(chunks)) as pool:
            futures = [(pool.submit(self.run_side, 'cpython', ch),
                        pool.submit(self.run_side, 'rcgc', ch)) for ch in chunks]
            per_chunk = [list(zip(a.result(), b.result())) for a, b in futures]
        result = [None] * len(programs)
        for j, pairs in enumerate(per_chunk):
            for k, pair in enumerate(pairs):
                result[j + k * len(chunks) if jobs > 1 else k] = pair
        return result


def split_program(text):
    head, ops = [], []
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        (head if f[0] in ('mode', '#') or f[0].startswith('#') else ops).append(line)
    return head, ops


def join_program(head, ops):
    return '\n'.join(head + ops) + '\n'


def shrink(runner, program, budget_s=90):
    """Delta debugging (ddmin) over the operation lines: the smallest program
    found that still shows a mismatch.  Each round tests its candidates in one
    batch, so a round costs two interpreter start-ups."""
    head, ops = split_program(program)
    deadline = time.time() + budget_s

    def first_failing(candidates):
        if not candidates:
            return None
        texts = [join_program(head, c) for c in candidates]
        for cand, (a, b) in zip(candidates, runner.run(texts, jobs=2)):
            if a != b:
                return cand
        return None

    n = 2
    while len(ops) >= 2 and time.time() < deadline:
        size = max(1, len(ops) // n)
        chunks = [ops[i:i + size] for i in range(0, len(ops), size)]
        subsets = list(chunks) if n > 2 else []
        complements = [ops[:i * size] + ops[(i + 1) * size:] for i in range(len(chunks))]
        found = first_failing(subsets) or first_failing(complements)
        if found is not None:
            shrunk_to_subset = found in subsets
            ops = found
            n = 2 if shrunk_to_subset else max(n - 1, 2)
        elif size == 1:
            break
        else:
            n = min(len(ops), 2 * n)
    # Then shorten chains and rings, halving their length while it fails.
    for i, line in enumerate(ops):
        f = line.split()
        while f[0] in ('chain', 'ring') and int(f[2]) > 1 and time.time() < deadline:
            shorter = ops[:i] + [' '.join(f[:2] + [str(int(f[2]) // 2)] + f[3:])] + ops[i + 1:]
            if first_failing([shorter]) is None:
                break
            ops = shorter
            f = ops[i].split()
    return join_program(head, ops)


def describe(program, logs, out):
    py_log, c_log = logs
    out.write('--- program (shrunk) ---\n' + program)
    out.write('--- diff: cpython (-) vs rcgc (+) ---\n')
    out.writelines(difflib.unified_diff(py_log.splitlines(True), c_log.splitlines(True),
                                        'cpython', 'rcgc', n=2))
    if len(py_log) + len(c_log) < 6000:
        out.write('--- cpython log ---\n' + py_log + '--- rcgc log ---\n' + c_log)
    out.write('---\n')


def run_suite(runner, programs, names, jobs, max_report, shrink_budget):
    """Runs (program text) list; prints failures; (passed, failed)."""
    failed = []
    batch = 2000
    for start in range(0, len(programs), batch):
        part = programs[start:start + batch]
        results = runner.run(part, jobs=jobs)
        for k, (a, b) in enumerate(results):
            if a != b:
                failed.append(start + k)
        if len(programs) > batch:
            print(f'conformance: {start + len(part)}/{len(programs)} run, '
                  f'{len(failed)} failed so far', flush=True)
    for i in failed[:max_report]:
        print(f'conformance: MISMATCH in {names[i]}; shrinking...', flush=True)
        small = shrink(runner, programs[i], shrink_budget)
        logs = runner.run([small])[0]
        if logs[0] == logs[1]:   # cannot happen unless a side is flaky
            small, logs = programs[i], runner.run([programs[i]])[0]
            print('conformance: (shrinking lost the mismatch; original program)')
        describe(small, logs, sys.stdout)
        sys.stdout.flush()
    if len(failed) > max_report:
        print(f'conformance: {len(failed) - max_report} more mismatches not shown: '
              + ', '.join(names[i] for i in failed[max_report:max_report + 20]))
    return len(programs) - len(failed), len(failed)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--interp', required=True, help='the conformance_interp binary')
    ap.add_argument('--python', help='the CPython to use as the oracle')
    ap.add_argument('--mode', choices=['manual', 'auto', 'both'], default='both')
    ap.add_argument('--count', type=int, help='fixed-seed programs per mode')
    ap.add_argument('--fresh', type=int, help='fresh-seed programs per mode')
    ap.add_argument('--seed', type=int, help='base of the fresh seeds (default: random)')
    ap.add_argument('--long', action='store_true', help='100,000 programs')
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--report', type=int, default=3, help='mismatches to shrink and show')
    ap.add_argument('--shrink-seconds', type=float, default=90)
    ap.add_argument('--program', help='run one program file and show both logs')
    ap.add_argument('--only', help='comma-separated seeds to run (with --mode manual or auto)')
    a = ap.parse_args()

    if not os.access(a.interp, os.X_OK):
        sys.exit(f'conformance: {a.interp} is not an executable')
    py_cmd, py_env, version = find_python(a.python)
    shown = ' '.join(f'{k}={v}' for k, v in py_env.items() if os.environ.get(k) != v)
    print(f'conformance: oracle CPython {version}: {(shown + " ") if shown else ""}'
          f'{" ".join(py_cmd)}', flush=True)
    if not version.startswith('3.12.'):
        print('conformance: warning: not CPython 3.12; counts and orders may differ')
    runner = Runner(py_cmd, py_env, a.interp)

    if a.program:
        text = open(a.program).read()
        logs = runner.run([text])[0]
        describe(text, logs, sys.stdout)
        ok = logs[0] == logs[1]
        print(f'conformance: {int(ok)} passed, {int(not ok)} failed')
        sys.exit(0 if ok else 1)

    fresh_base = a.seed if a.seed is not None else random.SystemRandom().randrange(10**9)
    print(f'conformance: fresh seed {fresh_base} (repeat with --seed {fresh_base})',
          flush=True)
    modes = ['manual', 'auto'] if a.mode == 'both' else [a.mode]
    plan = []   # (mode, seeds, kind)
    for mode in modes:
        share = {'manual': 80000, 'auto': 20000}[mode] if a.long else \
            {'manual': 2200, 'auto': 660}[mode]
        count = a.count if a.count is not None else share * 10 // 11
        fresh = a.fresh if a.fresh is not None else share - share * 10 // 11
        if a.only:
            plan.append((mode, [int(x) for x in a.only.split(',')], 'chosen'))
        else:
            plan += [(mode, range(count), 'fixed'),
                     (mode, range(fresh_base, fresh_base + fresh), 'fresh')]

    start = time.time()
    passed = failed = 0
    for mode, seeds, kind in plan:
        if not seeds:
            continue
        programs = [gen.generate(s, auto=(mode == 'auto')) for s in seeds]
        names = [f'{mode} seed {s}' for s in seeds]
        p, f = run_suite(runner, programs, names, a.jobs, a.report, a.shrink_seconds)
        passed += p
        failed += f
        what = (f'seeds {seeds[0]}..{seeds[-1]}' if isinstance(seeds, range)
                else f'{len(seeds)} seeds')
        print(f'conformance: {mode} {kind} {what}: {p} passed, {f} failed '
              f'({time.time() - start:.1f} s)', flush=True)
    print(f'conformance: {passed} passed, {failed} failed')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
