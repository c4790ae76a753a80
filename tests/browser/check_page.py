#!/usr/bin/env python3
"""Opens the monitor's page in headless Chromium and checks that it rendered.

Usage: check_page.py MONITOR_PAGE_PROGRAM WORK_DIR

Writes WORK_DIR/monitor.html with the program, then runs Chromium twice (a
fresh profile each time, nothing fetched: the page is self-contained):
--screenshot, whose PNG (decoded here with zlib) must not be blank and must
show the suspect's red line, and --dump-dom, which must hold both charts'
<svg>, the series and the suspect's name.  Exits 77 (CTest: skipped) when
no chromium is installed.  Python 3 standard library only.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1200,800",
]


def fail(why):
    print("FAIL: " + why)
    sys.exit(1)


def run_chromium(chromium, args, url):
    profile = tempfile.mkdtemp(prefix="rcgc-chromium-")
    try:
        return subprocess.run([chromium] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile]
                              + args + [url], capture_output=True, encoding="utf-8",
                              errors="replace", timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def chromium_or_skip():
    """The chromium program; exits 77 (CTest: skipped) when there is none."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("skip: chromium is not installed (scripts/install-deps.sh installs it)")
        sys.exit(77)
    return chromium


def decode_png(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(path + " is not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        fail("unexpected PNG format: depth %d, colour type %d" % (depth, colour))
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, rows


def main():
    program, work = sys.argv[1], sys.argv[2]
    chromium = chromium_or_skip()
    os.makedirs(work, exist_ok=True)
    page = os.path.join(work, "monitor.html")
    shot = os.path.join(work, "monitor.png")
    for path in (page, shot):
        if os.path.exists(path):
            os.remove(path)
    subprocess.run([program, page], check=True)
    url = "file://" + os.path.abspath(page)

    r = run_chromium(chromium, ["--screenshot=" + shot], url)
    if not os.path.exists(shot):
        fail("no screenshot (exit %d): %s" % (r.returncode, r.stderr[-2000:]))
    width, height, rows = decode_png(shot)
    pixels = width * height
    colours, non_white, red = set(), 0, 0
    for row in rows:
        for px in row:
            colours.add(px)
            if px != (255, 255, 255):
                non_white += 1
            if px[0] > 180 and px[1] < 90 and px[2] < 90:
                red += 1
    print("screenshot %dx%d: %d colours, %.1f %% not white, %d red pixels"
          % (width, height, len(colours), 100.0 * non_white / pixels, red))
    if (width, height) != (1200, 800):
        fail("screenshot is %dx%d, not 1200x800" % (width, height))
    if len(colours) < 16 or non_white < pixels // 50:
        fail("the screenshot is blank or nearly")
    if red < 300:
        fail("the suspect's red line is not on the screenshot")

    r = run_chromium(chromium, ["--dump-dom"], url)
    dom = r.stdout
    for needle in ('<svg id="memory"', '<svg id="types"',
                   '<polyline class="series" data-type="memory in use"',
                   '<polyline class="series suspect" data-type="closure"',
                   '<strong class="suspects">Suspect: closure</strong>',
                   'closure (60) — suspect, +1.0 per sample',
                   '<line class="collection full"'):
        if needle not in dom:
            fail("the DOM lacks %r (exit %d): %s" % (needle, r.returncode,
                                                     (dom or r.stderr)[-2000:]))
    print("ok: the page rendered; the DOM holds the charts and names the suspect")


if __name__ == "__main__":
    main()
