"""Drawing from trained players: G(z) in data space, D(x) in the game's units, samples of chosen classes.

    x = minimax.sample("runs/cmnist", 10, classes=[3, "7"])   # 10 threes, then 10 sevens, in [0, 1]

The command line's ``minimax sample RUN --class 3,7 --n 10`` is :func:`sample`. :func:`generate` and
:func:`discriminator_output` take anything with :class:`Players`' attributes: a training
:class:`~minimax.algorithm.trainer.Trainer`, or the :class:`~minimax.run.trained.Trained` players of a run loaded
for use (no optimisers, no streams).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from ..config import MAX_NOISE_SEED, TrainConfig
from ..data.prior import latent_path, sample_noise
from ..errors import MinimaxError, check_integer
from ..players import eval_mode
from .resources import check_sample_memory
from .trained import load_trained


class Players(Protocol):
    """What drawing from a run needs: its config, data, device, the players and the game's output units."""

    cfg: TrainConfig
    data: object
    device: torch.device
    D: nn.Module
    objective: object
    conditional: bool

    @property
    def sampler(self) -> nn.Module: ...


@torch.no_grad()
def generate(players: Players, n: int, seed: int, batch: int = 4096, classes: torch.Tensor | None = None
             ) -> torch.Tensor:
    """n samples G(z) in data space from a noise stream of their own (``seed``), so sampling never perturbs
    training. G is put in eval mode (BatchNorm running statistics) meanwhile. Conditional game: sample i is of
    class ``classes[i]`` (default: c ~ p_data(c), drawn after z)."""
    cfg, data, device = players.cfg, players.data, players.device
    rng = torch.Generator(device=device).manual_seed(seed)
    if players.conditional:
        return generate_from(players, *conditional_draw(players, n, rng, classes), batch)
    with eval_mode(players.sampler) as G:
        out = [G(sample_noise(min(batch, n - i), cfg.latent_dim, cfg.prior, rng, device))
               for i in range(0, n, batch)]
    return data.to_data_space(torch.cat(out)) if out else torch.empty(0)


def conditional_draw(players: Players, n: int, rng: torch.Generator, classes: torch.Tensor | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(z, c) for n samples of the conditional game: z ~ p_z, then c ~ p_data(c) (or ``classes``)."""
    cfg, device = players.cfg, players.device
    z = sample_noise(n, cfg.latent_dim, cfg.prior, rng, device)
    c = players.data.sample_labels(n, rng) if classes is None else classes.to(device, torch.int64)
    return z, c


@torch.no_grad()
def generate_from(players: Players, z: torch.Tensor, c: torch.Tensor | None = None, batch: int = 4096
                  ) -> torch.Tensor:
    """G(z) (G(z, c) in the conditional game) in data space for the given noise vectors, in eval mode."""
    z = z.to(players.device)
    if players.conditional:
        n, data = len(z), players.data
        if c is None or len(c) != n or n and not (0 <= int(c.min()) and int(c.max()) < data.n_classes):
            raise ValueError(f"classes: need {n} labels in 0..{data.n_classes - 1}")
        c = c.to(players.device, torch.int64)
    with eval_mode(players.sampler) as G:
        out = [G(z[i:i + batch]) if c is None else G(z[i:i + batch], c[i:i + batch]) for i in range(0, len(z), batch)]
    return players.data.to_data_space(torch.cat(out)) if out else torch.empty(0)


@torch.no_grad()
def discriminator_output(players: Players, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
    """D(x) (D(x, c) in the conditional game) in the game's units (σ(l) for the 2014 game) for points given in
    data space (eval mode)."""
    with eval_mode(players.D) as D:
        x = x.to(players.device)
        return players.objective.output(D(x) if c is None else D(x, c.to(players.device)))


def class_indices(classes: Sequence[int | str] | str, names: Sequence[str], conditional: bool) -> list[int]:
    """The label of each requested class, given by index (``3``, ``"3"``) or by name (``"cat"``); ``"all"`` is
    every class; a string is split at commas unless it is one class's name (``"a,b"``). When a class name is a
    number (folders ``10`` and ``2``), strings are read as names only, never as indices, so ``"2"`` cannot mean
    two things. Refused with a one-line error: classes on an unconditional run, a class the run does not have."""
    if not conditional:
        raise MinimaxError("this run is unconditional (condition 'none'): it cannot sample a class")
    if isinstance(classes, str):
        whole = classes.strip()
        classes = list(range(len(names))) if whole == "all" else [whole] if whole in names else classes.split(",")
    if len(classes) == 0 or any(isinstance(c, str) and not c.strip() for c in classes):
        raise MinimaxError("no class given" if len(classes) == 0 else "an empty class name was given")
    numbered = any(n.strip().isdigit() for n in names) and list(names) != [str(i) for i in range(len(names))]
    out = []
    for c in classes:
        if isinstance(c, str) and c.strip() in names:
            out.append(list(names).index(c.strip()))
            continue
        try:
            k = None if isinstance(c, str) and numbered else int(c)
        except (TypeError, ValueError):
            k = None
        if k is None or isinstance(c, bool) or not 0 <= k < len(names):
            shown = ", ".join(f"{i} {n}" if n != str(i) else n for i, n in enumerate(names[:12]))
            how = "; class names that are numbers are read as names, not indices" if numbered else ""
            raise MinimaxError(f"class {str(c)[:40]!r} is not one of this run's {len(names)} classes "
                               f"({shown}{', ...' if len(names) > 12 else ''}){how}")
        out.append(k)
    return out


def sample(run, n: int, classes: Sequence[int | str] | str | None = None, seed: int = 0) -> torch.Tensor:
    """Samples of a run (a run directory, its loaded :class:`~minimax.run.trained.Trained` players or a training
    :class:`~minimax.algorithm.trainer.Trainer`) in data space, on the CPU.

    Without ``classes``: n samples (in the conditional game with c ~ p_data(c)). With ``classes``: n samples of
    each requested class, class after class (``[n·len(classes), ...]``)."""
    if isinstance(run, (str, Path)):
        run = load_trained(run)
    return draw(run, n, classes, seed).cpu()


def class_count(classes) -> int:
    """How many classes ``classes`` asks for (1 for None: the unconditional draw, or c ~ p_data(c)); a value that is
    neither class indices nor names (a list, or a comma-separated str) is a one-line error."""
    if classes is None:
        return 1
    if isinstance(classes, bool) or not isinstance(classes, (str, Sequence)):
        raise MinimaxError(f"classes must be class indices or names (a list, or a comma-separated str), got "
                           f"{type(classes).__name__}")
    return len(classes.split(",")) if isinstance(classes, str) else len(classes)


def check_draw(n, seed, shape, classes=None) -> None:
    """What a draw of n samples (n of each of ``classes``) of ``shape`` from noise stream ``seed`` needs: n ≥ 1, the
    seed in [0, 2^63 − 1], and arrays that fit in memory; else the one-line error ``minimax sample`` gives."""
    check_integer("n", n, 1)
    check_integer("seed", seed, 0, MAX_NOISE_SEED)
    check_sample_memory(n * class_count(classes), shape, "n")


def draw(players: Players, n: int, classes: Sequence[int | str] | str | None = None, seed: int = 0) -> torch.Tensor:
    """:func:`sample`'s samples on the players' device: n (c ~ p_data(c) in the conditional game), or n of each of
    ``classes``, class after class."""
    if classes is None:
        return generate(players, n, seed=seed)
    labels = class_indices(classes, players.cfg.class_names, players.conditional)
    return generate(players, n * len(labels), seed=seed, classes=torch.tensor(labels).repeat_interleave(n))


def interpolate(run, paths: int, steps: int, path: str = "auto", seed: int = 0,
                classes: Sequence[int | str] | str | None = None) -> torch.Tensor:
    """G along straight or great-circle paths in noise space: ``paths`` pairs of endpoints z₀, z₁ ~ p_z (from
    ``seed``), ``steps`` points from one to the other (:func:`~minimax.data.prior.latent_path`), in data space:
    [paths, steps, ...]. A smooth change of G(z) along the path says G maps nearby noise to nearby data; jumps
    and repeated images show the modes it covers. Conditional game: path i is of class ``classes[i % len]``
    (default: each path's class drawn from p_data(c))."""
    if isinstance(run, (str, Path)):
        run = load_trained(run)
    cfg, device = run.cfg, run.device
    rng = torch.Generator(device=device).manual_seed(seed)
    ends = sample_noise(2 * paths, cfg.latent_dim, cfg.prior, rng, device)
    z = latent_path(ends[:paths], ends[paths:], steps, path, cfg.prior)  # [paths, steps, latent]
    c = None
    if classes is not None:
        labels = torch.tensor(class_indices(classes, cfg.class_names, run.conditional))
        c = labels.repeat(paths // len(labels) + 1)[:paths].repeat_interleave(steps)
    elif run.conditional:
        c = run.data.sample_labels(paths, rng).cpu().repeat_interleave(steps)
    x = generate_from(run, z.reshape(paths * steps, -1), c).cpu()
    return x.reshape(paths, steps, *x.shape[1:])
