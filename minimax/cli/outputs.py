"""Where a command writes the files it names itself: beside the run (RUN_DIR/NAME), or for a pretrained run
(``zoo:NAME``, whose copy lives in the cache) in the current folder as ENTRY-NAME, where the user finds them."""
from __future__ import annotations

from pathlib import Path

from .. import zoo as pretrained


def resolve_run(args, attr: str = "run_dir") -> None:
    """``args.<attr>`` (a run, or a list of runs) with each ``zoo:NAME`` replaced by its unpacked copy; the first
    entry's name is kept as ``args.zoo_entry`` (None when the first run is a directory)."""
    runs = getattr(args, attr, None)
    if not runs:
        return
    first = runs[0] if isinstance(runs, list) else runs
    args.zoo_entry = first[len(pretrained.PREFIX):] if pretrained.is_zoo(first) else None
    resolved = [pretrained.resolve(r) for r in runs] if isinstance(runs, list) else pretrained.resolve(runs)
    setattr(args, attr, resolved)


def default_output(args, run_dir, name: str) -> str:
    """The path of a file the command names itself: RUN_DIR/name, or ./ENTRY-name for a zoo run."""
    entry = getattr(args, "zoo_entry", None)
    return f"{entry}-{name}" if entry else str(Path(run_dir) / name)
