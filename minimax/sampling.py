"""Drawing samples from a trained run, of chosen classes in the conditional game.

    x = minimax.sample("runs/cmnist", 10, classes=[3, "7"])   # 10 threes, then 10 sevens, in [0, 1]

The command line's ``minimax sample RUN --class 3,7 --n 10`` is this function.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from .errors import MinimaxError


def class_indices(classes: Sequence[int | str] | str, names: Sequence[str], conditional: bool) -> list[int]:
    """The label of each requested class, given by index (``3``, ``"3"``) or by name (``"cat"``); ``"all"`` is
    every class. Refused with a one-line error: classes on an unconditional run, a class the run does not have."""
    if not conditional:
        raise MinimaxError("this run is unconditional (condition 'none'): it cannot sample a class")
    if isinstance(classes, str):
        classes = list(range(len(names))) if classes == "all" else classes.split(",")
    if len(classes) == 0:
        raise MinimaxError("no class given")
    out = []
    for c in classes:
        if isinstance(c, str) and c.strip() in names:
            out.append(list(names).index(c.strip()))
            continue
        try:
            k = int(c)
        except (TypeError, ValueError):
            k = None
        if k is None or isinstance(c, bool) or not 0 <= k < len(names):
            shown = ", ".join(f"{i} {n}" if n != str(i) else n for i, n in enumerate(names[:12]))
            raise MinimaxError(f"class {str(c)[:40]!r} is not one of this run's {len(names)} classes "
                               f"({shown}{', ...' if len(names) > 12 else ''})")
        out.append(k)
    return out


def sample(run, n: int, classes: Sequence[int | str] | str | None = None, seed: int = 0) -> torch.Tensor:
    """Samples of a run (a run directory or a :class:`~minimax.game.Game`) in data space, on the CPU.

    Without ``classes``: n samples (in the conditional game with c ~ p_data(c)). With ``classes``: n samples of
    each requested class, class after class (``[n·len(classes), ...]``)."""
    if isinstance(run, (str, Path)):
        from .train import load_run

        run = load_run(run)
    if classes is None:
        return run.generate(n, seed=seed).cpu()
    labels = class_indices(classes, run.cfg.class_names, run.conditional)
    c = torch.tensor(labels).repeat_interleave(n)
    return run.generate(len(c), seed=seed, classes=c).cpu()
