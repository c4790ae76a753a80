"""What the Python benchmarks share with bench/bench_util.h."""


def rss_mib(field):
    """Resident memory from /proc/self/status (Linux), in MiB: "VmHWM" the
    peak, "VmRSS" the current; -1 where it cannot be read."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return -1
