"""What the Python benchmarks share with bench/bench_util.h and bench_gc.h."""

import time


def rss_mib(field):
    """Resident memory from /proc/self/status (Linux), in MiB: "VmHWM" the
    peak, "VmRSS" the current; -1 where it cannot be read."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return -1


class CollectionTimer:
    """Time inside collections through gc.callbacks (bench/bench_gc.h's
    counterpart): in all, the longest pause, and per generation."""

    def __init__(self):
        self.started = 0
        self.total_ns = 0
        self.longest_ns = 0
        self.ns = [0, 0, 0]
        self.count = [0, 0, 0]

    def __call__(self, phase, info):
        if phase == "start":
            self.started = time.perf_counter_ns()
            return
        pause = time.perf_counter_ns() - self.started
        self.total_ns += pause
        self.longest_ns = max(self.longest_ns, pause)
        self.ns[info["generation"]] += pause
        self.count[info["generation"]] += 1

    def report(self, workload, impl, runs):
        """<workload>_gen<g> collections_per_run and _ms ms_per_run lines."""
        for g in range(3):
            print(f"RESULT {workload}_gen{g} {impl} collections_per_run {self.count[g] / runs:.2f}")
            print(f"RESULT {workload}_gen{g}_ms {impl} ms_per_run {self.ns[g] / 1e6 / runs:.2f}")
