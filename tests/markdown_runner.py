"""Run a documentation page as a test: its commands and snippets in order, their output against what the page
shows, and its hidden checks of the numbers quoted in the prose.

A page is read as a sequence of fenced blocks and comments:

* ```` ```bash ```` — one command per line, ``minimax ...`` or ``python ...``, run in a fresh process in the page's
  working folder; ```` ```sh ```` blocks are shown only (installation).
* ```` ```python ```` — executed in one namespace shared by the whole page.
* ```` ```text ```` right after one of those — the output the page shows. The run's output must read the same:
  the same words, every whole number equal, and every decimal within one unit of its last printed digit (0.880:
  ±0.001): a wrong optimum, a mode count off by one or a shape fails; a value that rounds the other way on
  another CPU passes.
* ``<!-- tolerance: LABEL ±X, LABEL ±X -->`` — in the next output block, the numbers printed right after LABEL
  (``high quality 25.7%``: label ``high quality``) may differ from the shown ones by X (absolute). For numbers of
  a training run that depend on the CPU's last bits (another vector unit or thread count rounds differently and
  a chaotic run drifts): the page states them beside the block, measured (tests/test_markdown_runner.py says
  how), and ties its claims down with checks. Every other number of the block stays strict. ``* ±X`` names
  every number of the block (samples' coordinates, which no label names; a check states what they must show).
* ``<!-- check: EXPR -->`` — a Python expression evaluated in the page's namespace (with ``json`` and ``math``)
  after the blocks above it; it must be true. The prose's numbers are tied to the run this way.
* ``<!-- figure: RUN_FILE -> DOCS_FILE -->`` — the picture shown (DOCS_FILE, beside the page) is the run's file
  RUN_FILE: the same size, and a change (picture_change) of at most FIGURE_TOL: a blank picture, an erased panel
  or a plot of another run changes more. ``<!-- figure: RUN_FILE -> DOCS_FILE ±X -->`` states a larger bound for
  the picture of a chaotic run (its data is then tied down by checks).
  ``MINIMAX_RECORD=1`` copies it over DOCS_FILE and rewrites every ```` ```text ```` block with the output of
  this run (how the page's outputs are made).
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

FIGURE_TOL = 0.1  # picture_change allowed by default (measured: 0.00-0.04 between thread counts; see the docs)
NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?")  # (numpy prints 1.0 as "1.")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\n|<!-- (check|figure|tolerance): (.*?) -->", re.S | re.M)
WORDS = lambda line: "".join(NUMBER.sub("#", line).split())  # noqa: E731 - the words, spacing aside
ENTRY = re.compile(r"^(.+?)\s*±\s*(\d+(?:\.\d+)?)$")


@dataclass
class Piece:
    kind: str  # bash, sh, python, text, check, figure, other
    body: str
    span: tuple[int, int]


def pieces(page: str) -> list[Piece]:
    out = []
    for m in BLOCK.finditer(page):
        if m.group(3):
            out.append(Piece(m.group(3), m.group(4).strip(), m.span()))
        else:
            out.append(Piece(m.group(1) or "other", m.group(2), m.span(2)))
    return out


def tolerances(body: str) -> dict[str, float]:
    """``"high quality ±8, reverse KL ±0.3"`` -> ``{"high quality": 8.0, "reverse KL": 0.3}``."""
    out = {}
    for entry in body.split(","):
        m = ENTRY.match(entry.strip())
        if m is None:
            raise ValueError(f"a tolerance reads 'LABEL ±X', got {entry.strip()!r} in <!-- tolerance: {body} -->")
        out[m.group(1)] = float(m.group(2))
    return out


def labelled_numbers(line: str) -> list[tuple[str, str]]:
    """(label, number) for each number of the line; the label is the text since the previous number, without the
    punctuation that joins it to the number (``", D(G(z)) 0.125"`` -> ``"D(G(z))"`` is its last word)."""
    out, end = [], 0
    for m in NUMBER.finditer(line):
        out.append((line[end:m.start()].rstrip(" :=(").strip(), m.group()))
        end = m.end()
    return out


def allowed(label: str, shown: str, tol: dict[str, float]) -> float:
    """How far a number may move: the block's tolerance for its label (the longest name that ends the label:
    "non-saturating" before "saturating"), else one unit of its last printed digit (none for a whole number)."""
    names = [name for name in tol if name == "*" or re.search(r"(?:^|[^\w-])" + re.escape(name) + "$", label)]
    if names:
        return tol[max(names, key=len)]
    mantissa, _, exponent = shown.lower().partition("e")
    if "." not in mantissa and not exponent:
        return 0.0
    return 1.0001 * 10.0 ** (int(exponent or 0) - len(mantissa.partition(".")[2]))  # (1.0001: float rounding)


def same_output(shown: str, produced: str, tol: dict[str, float] | None = None,
                drift: list | None = None) -> str | None:
    """None when ``produced`` reads as ``shown`` (words equal, numbers within their tolerance), else what differs.
    ``drift`` collects (label, shown, produced) for every number that moved (how the tolerances are measured)."""
    a, b = shown.strip().splitlines(), produced.strip().splitlines()
    if len(a) != len(b):
        return f"{len(b)} lines of output, the page shows {len(a)}:\n{produced}"
    problem = None
    for line_a, line_b in zip(a, b):
        if WORDS(line_a) != WORDS(line_b):
            return problem or f"the page shows\n  {line_a}\nthe run printed\n  {line_b}"
        for (label, x), (_, y) in zip(labelled_numbers(line_a), labelled_numbers(line_b)):
            if drift is not None and x != y:
                drift.append((label, x, y))
            if problem is None and abs(float(x) - float(y)) > allowed(label, x, tol or {}):
                problem = f"{y} where the page shows {x}, in\n  {line_b}"
    return problem


def picture_change(shown: Path, produced: Path, cell: int = 12) -> float:
    """How much the run's picture differs from the page's: both in grey, averaged over cells of cell x cell
    pixels (a curve that moves by a few pixels stays in its cell), the sum of |difference| over the sum of the
    page's ink (1 − grey). 0: the same picture; about 1: a blank one; 1 for pictures of different sizes."""
    a, b = (np.asarray(Image.open(p).convert("L"), dtype=np.float64) / 255 for p in (shown, produced))
    if a.shape != b.shape:
        return 1.0
    h, w = a.shape[0] // cell * cell, a.shape[1] // cell * cell
    a, b = (x[:h, :w].reshape(h // cell, cell, w // cell, cell).mean(axis=(1, 3)) for x in (a, b))
    return float(np.abs(a - b).sum() / max((1 - a).sum(), 1e-9))


def same_picture(shown: Path, produced: Path, tol: float = FIGURE_TOL) -> str | None:
    """None when the run's PNG is the page's picture: the same size and a change (picture_change) of at most
    ``tol``; else what differs."""
    a, b = (Image.open(p).size for p in (shown, produced))
    if a != b:
        return f"{produced.name} is {b[0]}x{b[1]} pixels, the page's {shown.name} {a[0]}x{a[1]}"
    change = picture_change(shown, produced)
    if change > tol:
        return f"{produced.name} differs from the page's {shown.name} by {change:.2f} of its ink (> {tol})"
    return None


def run_bash(body: str, cwd: Path) -> str:
    out = []
    for line in body.strip().splitlines():
        line = line.split("  #")[0].strip()
        if not line or line.startswith("#"):
            continue
        argv = shlex.split(line)
        if argv[0] == "minimax":
            argv = [sys.executable, "-m", "minimax", *argv[1:]]
        elif argv[0] == "python":
            argv = [sys.executable, *argv[1:]]
        else:
            raise AssertionError(f"a ```bash block runs minimax or python only: {line}")
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if done.returncode != 0:
            raise AssertionError(f"{line!r} exited {done.returncode}:\n{done.stderr[-2000:]}")
        out.append(done.stdout)
    return "".join(out)


def run_python(body: str, namespace: dict, cwd: Path) -> str:
    buf = io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(buf):
            exec(compile(body, "<page snippet>", "exec"), namespace)  # noqa: S102 - the page is ours
    finally:
        os.chdir(old)
    return buf.getvalue()


def run_page(page_path: Path, cwd: Path, record: bool = False, drift: list | None = None) -> list[str]:
    """Run every piece of the page in ``cwd``; returns the problems found (empty: the page is right). With
    ``record``, rewrites the page's outputs and figures from this run instead of comparing; ``drift`` collects
    (where, label, shown, produced) for every number that moved."""
    page = page_path.read_text()
    namespace: dict = {"__name__": "__page__"}
    problems, last_output, edits, tol = [], None, [], {}
    for piece in pieces(page):
        where = f"{page_path.name}:{page.count(chr(10), 0, piece.span[0]) + 1}"
        if piece.kind in ("bash", "python"):
            last_output = (run_bash(piece.body, cwd) if piece.kind == "bash"
                           else run_python(piece.body, namespace, cwd))
        elif piece.kind == "text" and last_output is not None:
            if record:
                edits.append((piece.span, last_output if last_output.endswith("\n") else last_output + "\n"))
            elif (why := same_output(piece.body, last_output, tol, moved := [])) is not None:
                problems.append(f"{where}: {why}")
            if drift is not None and not record:
                drift.extend((where, *m) for m in moved)
            last_output, tol = None, {}
        elif piece.kind == "tolerance":
            tol = tolerances(piece.body)
        elif piece.kind == "check":
            old = Path.cwd()
            os.chdir(cwd)
            try:
                ok = eval(piece.body, {"json": json, "math": math, **namespace})  # noqa: S307 - the page is ours
            finally:
                os.chdir(old)
            if not ok:
                problems.append(f"{where}: check failed: {piece.body}")
        elif piece.kind == "figure":
            source, target = (s.strip() for s in piece.body.split("->"))
            target, _, bound = target.partition(" ±")
            bound = float(bound) if bound else FIGURE_TOL
            if not (cwd / source).is_file():
                problems.append(f"{where}: the run wrote no {source}")
            elif record:
                shutil.copyfile(cwd / source, page_path.parent / target)
            elif not (page_path.parent / target).is_file():
                problems.append(f"{where}: the page's picture {target} is missing")
            elif (why := same_picture(page_path.parent / target, cwd / source, bound)) is not None:
                problems.append(f"{where}: {why}")
    if record and edits:
        for (start, end), text in sorted(edits, reverse=True):
            page = page[:start] + text + page[end:]
        page_path.write_text(page)
    return problems
