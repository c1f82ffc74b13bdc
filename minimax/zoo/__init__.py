"""Pretrained runs, trained by this project with its own recipes and shipped in the package (docs/zoo.md).

    minimax zoo                                  # the entries: recipe, metrics, size
    minimax sample zoo:ring --n 1000             # any command that reads a run takes zoo:NAME
    minimax zoo get table1-mnist --out mine      # a copy of your own, to report, evaluate or export

    G = minimax.load("zoo:dcgan-mnist")          # the same from Python

An entry is a run directory (``runs/<name>/``: its config, its data card, one players-only checkpoint, its
summary) and ``zoo.json``: the command that trained it, the machine and minutes, the metrics measured on the
shipped weights and how they were stored. ``zoo:NAME`` is unpacked once into the cache
(``$MINIMAX_CACHE/zoo/<name>-<digest>``, :func:`minimax.files.default_cache_dir`), so the files a command writes
(samples, a report, records) land there and the installed package is never written to. Resuming a zoo run is
refused: its checkpoint holds the players only.

This module reads JSON and copies files; it loads no torch (``minimax zoo`` lists at once).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import MinimaxError
from ..files import default_cache_dir, new_folder

RUNS = Path(__file__).resolve().parent / "runs"
PREFIX = "zoo:"
ENTRY = "zoo.json"


def names() -> list[str]:
    """The entries shipped with this installation, sorted."""
    return sorted(p.name for p in RUNS.iterdir() if (p / ENTRY).is_file()) if RUNS.is_dir() else []


def path(name: str) -> Path:
    """The installed (read-only) run directory of entry ``name``."""
    if name not in names():
        raise MinimaxError(f"no zoo entry {name!r}; the entries: {', '.join(names()) or 'none installed'}")
    return RUNS / name


def entry(name: str) -> dict:
    """The entry's ``zoo.json``: title, recipe command, machine and minutes, metrics, how the weights are stored."""
    return json.loads((path(name) / ENTRY).read_text(encoding="utf-8"))


def size(name: str) -> int:
    """Bytes the entry takes on disk."""
    return sum(p.stat().st_size for p in path(name).rglob("*") if p.is_file())


def is_zoo(run) -> bool:
    return isinstance(run, str) and run.startswith(PREFIX)


def resolve(run):
    """``run`` itself, or for ``zoo:NAME`` the entry's copy in the cache (made on first use, by an atomic rename
    so that two processes never see half a copy; a copy whose files differ from the package's is made again)."""
    if not is_zoo(run):
        return run
    name = run[len(PREFIX):]
    source = path(name)
    digest = _digest(source)
    target = default_cache_dir() / "zoo" / f"{name}-{digest[:12]}"
    if target.is_dir() and _digest(target, skip_extra=True) == digest:
        return str(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
        shutil.copytree(source, tmp, dirs_exist_ok=True)
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
    except OSError as e:
        raise MinimaxError(f"cannot unpack zoo entry {name} into {target.parent}: {e.strerror or e} (set "
                           "MINIMAX_CACHE to a writable folder)") from None
    return str(target)


def get(name: str, out: str | Path | None = None) -> Path:
    """A copy of entry ``name`` as the new (or empty) folder ``out`` (default: ./zoo-NAME): a run of your own."""
    source = path(name)
    target = new_folder(out if out is not None else f"zoo-{name}", "--out")
    try:
        shutil.copytree(source, target, dirs_exist_ok=True)
    except OSError as e:
        raise MinimaxError(f"cannot copy zoo entry {name} to {target}: {e.strerror or e}") from None
    return target


def _digest(folder: Path, skip_extra: bool = False) -> str:
    """SHA-256 over the entry's files (names and bytes); in a cached copy, files a command added are skipped."""
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    if skip_extra:
        shipped = (folder / ENTRY).is_file() and json.loads((folder / ENTRY).read_text(encoding="utf-8")).get("files")
        files = [f for f in files if f in (shipped or [])]
    h = hashlib.sha256()
    for f in files:
        h.update(f.encode() + b"\0" + (folder / f).read_bytes())
    return h.hexdigest()
