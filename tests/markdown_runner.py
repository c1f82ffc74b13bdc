"""Run a documentation page as a test: its commands and snippets in order, their output against what the page
shows, and its hidden checks of the numbers quoted in the prose.

A page is read as a sequence of fenced blocks and comments:

* ```` ```bash ```` — one command per line, ``minimax ...`` or ``python ...``, run in a fresh process in the page's
  working folder; ```` ```sh ```` blocks are shown only (installation).
* ```` ```python ```` — executed in one namespace shared by the whole page.
* ```` ```text ```` right after one of those — the output the page shows. The run's output must read the same:
  the same words, and every number within ``max(ABS_TOL, REL_TOL·|shown|)`` of the one shown (a training run on
  another CPU differs in the last bits and drifts a little; the words and the orders of magnitude may not).
* ``<!-- tolerance: REL -->`` — the next output block's numbers may differ by REL·|shown| (training runs,
  whose numbers on another CPU drift further; their claims are tied down by checks).
* ``<!-- check: EXPR -->`` — a Python expression evaluated in the page's namespace (with ``json`` and ``math``)
  after the blocks above it; it must be true. The prose's numbers are tied to the run this way.
* ``<!-- figure: RUN_FILE -> DOCS_FILE -->`` — the picture shown (DOCS_FILE, beside the page) is the run's file
  RUN_FILE; the run must have written it. ``MINIMAX_RECORD=1`` copies it over DOCS_FILE and rewrites every
  ```` ```text ```` block with the output of this run (how the page's outputs are made).
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

ABS_TOL, REL_TOL = 0.02, 0.05
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\n|<!-- (check|figure|tolerance): (.*?) -->", re.S | re.M)


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


def same_output(shown: str, produced: str, rel_tol: float = REL_TOL) -> str | None:
    """None when ``produced`` reads as ``shown`` (words equal, numbers within tolerance), else what differs."""
    a, b = shown.strip().splitlines(), produced.strip().splitlines()
    if len(a) != len(b):
        return f"{len(b)} lines of output, the page shows {len(a)}:\n{produced}"
    for line_a, line_b in zip(a, b):
        if NUMBER.sub("#", line_a).rstrip() != NUMBER.sub("#", line_b).rstrip():
            return f"the page shows\n  {line_a}\nthe run printed\n  {line_b}"
        for x, y in zip(NUMBER.findall(line_a), NUMBER.findall(line_b)):
            if abs(float(x) - float(y)) > max(ABS_TOL, rel_tol * abs(float(x))):
                return f"{y} where the page shows {x}, in\n  {line_b}"
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


def run_page(page_path: Path, cwd: Path, record: bool = False) -> list[str]:
    """Run every piece of the page in ``cwd``; returns the problems found (empty: the page is right). With
    ``record``, rewrites the page's outputs and figures from this run instead of comparing."""
    page = page_path.read_text()
    namespace: dict = {"__name__": "__page__"}
    problems, last_output, edits, rel_tol = [], None, [], REL_TOL
    for piece in pieces(page):
        where = f"{page_path.name}:{page.count(chr(10), 0, piece.span[0]) + 1}"
        if piece.kind in ("bash", "python"):
            last_output = (run_bash(piece.body, cwd) if piece.kind == "bash"
                           else run_python(piece.body, namespace, cwd))
        elif piece.kind == "text" and last_output is not None:
            if record:
                edits.append((piece.span, last_output if last_output.endswith("\n") else last_output + "\n"))
            elif (why := same_output(piece.body, last_output, rel_tol)) is not None:
                problems.append(f"{where}: {why}")
            last_output, rel_tol = None, REL_TOL
        elif piece.kind == "tolerance":
            rel_tol = float(piece.body)
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
            if not (cwd / source).is_file():
                problems.append(f"{where}: the run wrote no {source}")
            elif record:
                shutil.copyfile(cwd / source, page_path.parent / target)
            elif not (page_path.parent / target).is_file():
                problems.append(f"{where}: the page's picture {target} is missing")
    if record and edits:
        for (start, end), text in sorted(edits, reverse=True):
            page = page[:start] + text + page[end:]
        page_path.write_text(page)
    return problems
