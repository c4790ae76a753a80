#!/usr/bin/env python3
"""Opens rcgc-report's timeline and flame graph pages in headless Chromium.

Usage: check_report_pages.py WORKLOAD_PROGRAM RCGC_REPORT WORK_DIR

Makes a capture with the workload program, renders both pages with
rcgc-report, then for each: a screenshot (check_page.py's Chromium flags and
PNG decoder) that must not be blank, and the DOM (--dump-dom), which must
hold the chart and the labels the capture implies.  Exits 77 (CTest:
skipped) when no chromium is installed.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_page import chromium_or_skip, decode_png, fail, run_chromium  # noqa: E402

PAGES = {
    "timeline": ['<svg id="timeline"', 'data-type="memory in use"', 'data-type="word"',
                 'data-type="paragraph"', '<line class="collection gen2"',
                 '<line class="collection gen0"', '<rect class="pause"', "full collections"],
    "flamegraph": ['<svg id="flamegraph"', "Memory at the peak:", "make_paragraph (",
                   "<title>word:", "<title>paragraph:"],
}
# The frames above the allocating call, when the build unwinds (the capture's
# tracebacks then have more than one frame).
UNWOUND = ["build_document", "main ("]


def main():
    workload, report, work = sys.argv[1], sys.argv[2], sys.argv[3]
    chromium = chromium_or_skip()
    os.makedirs(work, exist_ok=True)
    capture = os.path.join(work, "workload.capture")
    subprocess.run([workload, capture], check=True)
    top = subprocess.run([report, "stats", "--by", "traceback", "-n", "1", capture],
                         check=True, capture_output=True, encoding="utf-8").stdout
    if sum(line.startswith("  ") for line in top.splitlines()) > 1:
        PAGES["flamegraph"] += UNWOUND
    else:
        print("note: one frame a traceback (no unwinding): frames above the site not checked")
    for name, needles in PAGES.items():
        page = os.path.join(work, name + ".html")
        shot = os.path.join(work, name + ".png")
        for path in (page, shot):
            if os.path.exists(path):
                os.remove(path)
        subprocess.run([report, name, capture, "-o", page], check=True)
        url = "file://" + os.path.abspath(page)
        r = run_chromium(chromium, ["--screenshot=" + shot], url)
        if not os.path.exists(shot):
            fail("%s: no screenshot (exit %d): %s" % (name, r.returncode, r.stderr[-2000:]))
        width, height, rows = decode_png(shot)
        colours, non_white = set(), 0
        for row in rows:
            for px in row:
                colours.add(px)
                non_white += px != (255, 255, 255)
        print("%s: screenshot %dx%d, %d colours, %.1f %% not white"
              % (name, width, height, len(colours), 100.0 * non_white / (width * height)))
        if len(colours) < 16 or non_white < width * height // 50:
            fail("%s: the screenshot is blank or nearly" % name)
        dom = run_chromium(chromium, ["--dump-dom"], url).stdout
        for needle in needles:
            if needle not in dom:
                fail("%s: the DOM lacks %r: %s" % (name, needle, dom[-2000:]))
    print("ok: both pages rendered; their DOMs hold the charts and labels")


if __name__ == "__main__":
    main()
