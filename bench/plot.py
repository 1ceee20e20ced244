#!/usr/bin/env python3
"""Draws bench/results/streams.json as a PNG: the added p99 time to first chunk and the added
p99 gap between chunks (each path's figure minus the direct one of the same level) against
the number of concurrent streams, nginx and Atelier, log scales, with the issue's targets.

  plot.py [streams.json] [streams.png]

Standard library only (zlib + struct, a built-in 5x7 bitmap font): it runs on a fresh
Debian 12 without matplotlib.
"""
import json
import math
import struct
import sys
import zlib

# ---- a 5x7 bitmap font (g, j, p, q, y reach two rows below the baseline) -----------------------------------------------------------------------
_FONT = {
    " ": ["     "] * 7,
    "0": [" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "],
    "1": ["  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
    "2": [" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"],
    "3": ["#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "],
    "4": ["   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "],
    "5": ["#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "],
    "6": ["  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "],
    "7": ["#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "],
    "8": [" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "],
    "9": [" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "],
    "A": [" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"],
    "B": ["#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### "],
    "C": [" ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### "],
    "D": ["#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "],
    "E": ["#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"],
    "F": ["#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#    "],
    "G": [" ### ", "#   #", "#    ", "# ###", "#   #", "#   #", " ####"],
    "H": ["#   #", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"],
    "I": [" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
    "J": ["  ###", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  "],
    "K": ["#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #"],
    "L": ["#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"],
    "M": ["#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #"],
    "N": ["#   #", "#   #", "##  #", "# # #", "#  ##", "#   #", "#   #"],
    "O": [" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "],
    "P": ["#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "],
    "Q": [" ### ", "#   #", "#   #", "#   #", "# # #", "#  # ", " ## #"],
    "R": ["#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"],
    "S": [" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "],
    "T": ["#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "],
    "U": ["#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "],
    "V": ["#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  "],
    "W": ["#   #", "#   #", "#   #", "# # #", "# # #", "# # #", " # # "],
    "X": ["#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #"],
    "Y": ["#   #", "#   #", " # # ", "  #  ", "  #  ", "  #  ", "  #  "],
    "Z": ["#####", "    #", "   # ", "  #  ", " #   ", "#    ", "#####"],
    "a": ["     ", "     ", " ### ", "    #", " ####", "#   #", " ####"],
    "b": ["#    ", "#    ", "# ## ", "##  #", "#   #", "#   #", "#### "],
    "c": ["     ", "     ", " ### ", "#    ", "#    ", "#   #", " ### "],
    "d": ["    #", "    #", " ## #", "#  ##", "#   #", "#   #", " ####"],
    "e": ["     ", "     ", " ### ", "#   #", "#####", "#    ", " ### "],
    "f": ["  ## ", " #  #", " #   ", "###  ", " #   ", " #   ", " #   "],
    "g": ["     ", "     ", " ####", "#   #", "#   #", "#   #", " ####", "    #", " ### "],
    "h": ["#    ", "#    ", "# ## ", "##  #", "#   #", "#   #", "#   #"],
    "i": ["  #  ", "     ", " ##  ", "  #  ", "  #  ", "  #  ", " ### "],
    "j": ["   # ", "     ", "  ## ", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  "],
    "k": ["#    ", "#    ", "#  # ", "# #  ", "##   ", "# #  ", "#  # "],
    "l": [" ##  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "],
    "m": ["     ", "     ", "## # ", "# # #", "# # #", "#   #", "#   #"],
    "n": ["     ", "     ", "# ## ", "##  #", "#   #", "#   #", "#   #"],
    "o": ["     ", "     ", " ### ", "#   #", "#   #", "#   #", " ### "],
    "p": ["     ", "     ", "#### ", "#   #", "#   #", "#   #", "#### ", "#    ", "#    "],
    "q": ["     ", "     ", " ####", "#   #", "#   #", "#   #", " ####", "    #", "    #"],
    "r": ["     ", "     ", "# ## ", "##  #", "#    ", "#    ", "#    "],
    "s": ["     ", "     ", " ### ", "#    ", " ### ", "    #", "#### "],
    "t": [" #   ", " #   ", "###  ", " #   ", " #   ", " #  #", "  ## "],
    "u": ["     ", "     ", "#   #", "#   #", "#   #", "#  ##", " ## #"],
    "v": ["     ", "     ", "#   #", "#   #", "#   #", " # # ", "  #  "],
    "w": ["     ", "     ", "#   #", "#   #", "# # #", "# # #", " # # "],
    "x": ["     ", "     ", "#   #", " # # ", "  #  ", " # # ", "#   #"],
    "y": ["     ", "     ", "#   #", "#   #", "#   #", "#   #", " ####", "    #", " ### "],
    "z": ["     ", "     ", "#####", "   # ", "  #  ", " #   ", "#####"],
    ".": ["     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "],
    ",": ["     ", "     ", "     ", "     ", " ##  ", "  #  ", " #   "],
    ":": ["     ", " ##  ", " ##  ", "     ", " ##  ", " ##  ", "     "],
    ";": ["     ", " ##  ", " ##  ", "     ", " ##  ", "  #  ", " #   "],
    "(": ["   # ", "  #  ", " #   ", " #   ", " #   ", "  #  ", "   # "],
    ")": [" #   ", "  #  ", "   # ", "   # ", "   # ", "  #  ", " #   "],
    "[": [" ### ", " #   ", " #   ", " #   ", " #   ", " #   ", " ### "],
    "]": [" ### ", "   # ", "   # ", "   # ", "   # ", "   # ", " ### "],
    "-": ["     ", "     ", "     ", "#####", "     ", "     ", "     "],
    "+": ["     ", "  #  ", "  #  ", "#####", "  #  ", "  #  ", "     "],
    "=": ["     ", "     ", "#####", "     ", "#####", "     ", "     "],
    "/": ["     ", "    #", "   # ", "  #  ", " #   ", "#    ", "     "],
    "<": ["   # ", "  #  ", " #   ", "#    ", " #   ", "  #  ", "   # "],
    ">": [" #   ", "  #  ", "   # ", "    #", "   # ", "  #  ", " #   "],
    "_": ["     ", "     ", "     ", "     ", "     ", "     ", "#####"],
    "%": ["##   ", "##  #", "   # ", "  #  ", " #   ", "#  ##", "   ##"],
    "'": ["  #  ", "  #  ", " #   ", "     ", "     ", "     ", "     "],
    "\"": [" # # ", " # # ", "     ", "     ", "     ", "     ", "     "],
    "*": ["     ", "  #  ", "# # #", " ### ", "# # #", "  #  ", "     "],
    "@": [" ### ", "#   #", "# ###", "# # #", "# ###", "#    ", " ####"],
    "#": [" # # ", " # # ", "#####", " # # ", "#####", " # # ", " # # "],
    "?": [" ### ", "#   #", "    #", "   # ", "  #  ", "     ", "  #  "],
    "!": ["  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "     ", "  #  "],
    "~": ["     ", "     ", " #   ", "# # #", "   # ", "     ", "     "],
    "|": ["  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "],
}


class Canvas:
    def __init__(self, w, h, bg=(255, 255, 255)):
        self.w, self.h = w, h
        self.px = bytearray(bytes(bg) * (w * h))

    def set(self, x, y, c):
        x, y = int(round(x)), int(round(y))
        if 0 <= x < self.w and 0 <= y < self.h:
            i = (y * self.w + x) * 3
            self.px[i:i + 3] = bytes(c)

    def rect(self, x0, y0, x1, y1, c):
        for y in range(int(y0), int(y1) + 1):
            for x in range(int(x0), int(x1) + 1):
                self.set(x, y, c)

    def line(self, x0, y0, x1, y1, c, width=1, dash=0):
        n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        for i in range(n + 1):
            if dash and (i // dash) % 2 == 1:
                continue
            t = i / n
            x, y = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
            for dx in range(-(width // 2), width - width // 2):
                for dy in range(-(width // 2), width - width // 2):
                    self.set(x + dx, y + dy, c)

    def marker(self, x, y, c, hollow=False, r=5):
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                d = dx * dx + dy * dy
                if d <= r * r and (not hollow or d >= (r - 2) * (r - 2)):
                    self.set(x + dx, y + dy, c)

    def text(self, x, y, s, c=(0, 0, 0), scale=2, anchor="left"):
        width = len(s) * 6 * scale
        if anchor == "center":
            x -= width / 2
        elif anchor == "right":
            x -= width
        for k, ch in enumerate(s):
            g = _FONT.get(ch, _FONT["?"])
            for gy, row in enumerate(g):
                for gx, bit in enumerate(row):
                    if bit == "#":
                        for sy in range(scale):
                            for sx in range(scale):
                                self.set(x + (k * 6 + gx) * scale + sx, y + gy * scale + sy, c)
        return width

    def png(self, path):
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3]) for y in range(self.h))

        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n")
            f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)))
            f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
            f.write(chunk(b"IEND", b""))


COLORS = {"nginx": (31, 119, 180), "atelier": (214, 39, 40)}
GREY, LIGHT, BLACK = (120, 120, 120), (225, 225, 225), (0, 0, 0)
FLOOR = 0.01  # ms: values at or below (and negative ones) are drawn here, hollow


def fmt(v):
    if v >= 1:
        return f"{v:g}"
    return f"{v:.2f}".rstrip("0") if v >= 0.01 else f"{v:g}"


def panel(cv, x0, y0, w, h, title, series, levels, targets):
    """series: {name: [(level, value or None)]}; log x over levels, log y in ms."""
    cv.text(x0 + w / 2, y0 - 34, title, anchor="center")
    values = [v for pts in series.values() for _, v in pts if v is not None] + [t[1] for t in targets]
    top = max([FLOOR * 10] + [v for v in values if v > 0])
    ymin, ymax = math.log10(FLOOR), math.ceil(math.log10(top * 1.2))
    xmin, xmax = math.log10(min(levels)), math.log10(max(levels))
    if xmax == xmin:
        xmin, xmax = xmin - 0.5, xmax + 0.5
    pad = 24

    def X(level):
        return x0 + pad + (math.log10(level) - xmin) / (xmax - xmin) * (w - 2 * pad)

    def Y(v):
        v = max(v, FLOOR)
        return y0 + h - (math.log10(v) - ymin) / (ymax - ymin) * h

    # Grid, axes and ticks.
    for e in range(int(ymin), int(ymax) + 1):
        y = Y(10 ** e)
        cv.line(x0, y, x0 + w, y, LIGHT)
        cv.text(x0 - 8, y - 7, fmt(10 ** e), GREY, anchor="right")
    for lv in levels:
        cv.line(X(lv), y0, X(lv), y0 + h, LIGHT)
        cv.text(X(lv), y0 + h + 10, f"{lv:,}", GREY, anchor="center")
    cv.line(x0, y0, x0, y0 + h, BLACK)
    cv.line(x0, y0 + h, x0 + w, y0 + h, BLACK)
    cv.text(x0 + w / 2, y0 + h + 34, "concurrent streams (log)", GREY, anchor="center")
    # Targets: dashed, labelled.
    for label, value, at in targets:
        y = Y(value)
        if at is None:
            cv.line(x0, y, x0 + w, y, GREY, dash=6)
            cv.text(x0 + w - 4, y - 20, label, GREY, anchor="right")
        elif at in levels:
            cv.line(X(at) - 30, y, X(at) + 30, y, GREY, width=2, dash=4)
            cv.text(X(at) - 30, y - 20, label, GREY)
    # Lines.
    for name, pts in series.items():
        c = COLORS[name]
        pts = [(lv, v) for lv, v in pts if v is not None]
        for (a, va), (b, vb) in zip(pts, pts[1:]):
            cv.line(X(a), Y(va), X(b), Y(vb), c, width=2)
        for lv, v in pts:
            cv.marker(X(lv), Y(v), c, hollow=v <= FLOOR)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "bench/results/streams.json"
    dst = sys.argv[2] if len(sys.argv) > 2 else "bench/results/streams.png"
    data = json.load(open(src))
    levels = sorted(int(k) for k in data["levels"])

    def series(metric):
        out = {}
        for p in ("nginx", "atelier"):
            out[p] = [(lv, data["levels"][str(lv)].get("added_vs_direct_ms", {}).get(p, {}).get(metric))
                      for lv in levels]
        return out
    W, H = 1400, 720
    cv = Canvas(W, H)
    m = data.get("machine", {})
    cv.text(W / 2, 16, "Added latency over the direct path, p99 (ms, log) - bench/run streams", anchor="center", scale=3)
    pw, ph, top = 540, 460, 120
    panel(cv, 110, top, pw, ph, "time to first chunk", series("ttfc_p99"), levels,
          [("1 ms @ 100", 1.0, 100), ("5 ms @ 1,000", 5.0, 1000)])
    panel(cv, 110 + pw + 130, top, pw, ph, "gap between chunks", series("gap_p99"), levels,
          [("target 1 ms", 1.0, None)])
    # Legend and provenance.
    lx, ly = 110, top + ph + 70
    for name in ("nginx", "atelier"):
        cv.line(lx, ly + 7, lx + 40, ly + 7, COLORS[name], width=3)
        cv.marker(lx + 20, ly + 7, COLORS[name])
        lx += 50 + cv.text(lx + 50, ly, name) + 30
    cv.text(lx + 10, ly, f"hollow: <= {FLOOR} ms (or below direct)", GREY)
    cpu = str(m.get("cpu", "?")).replace("(R)", "").replace("(TM)", "")
    info = f"{data.get('date', '?')}  {cpu}, {m.get('cores', '?')} cores, kernel {m.get('kernel', '?')}"
    cv.text(110, ly + 30, info[:110], GREY)
    cv.text(110, ly + 52, ("command: " + data.get("command", "?"))[:110], GREY)
    cv.png(dst)


if __name__ == "__main__":
    main()
