r"""What a run records of itself as it trains, at ``--snapshots`` evenly spaced steps.

Samples from fixed evaluation noise (``samples/step-XXXXXXXX.npy``) and, on 1-D or 2-D data, the
**discriminator field**: D (in the game's units) on a fixed grid over the data, and on 1-D data the **map**
z ↦ x = G(z) on a grid of quantiles of the noise — along the one noise coordinate, or with several along the
direction in which G varies most — everything Figure 1 of Goodfellow et al. (2014) draws
(``samples/field-XXXXXXXX.npz``; a conditional run records class 0's). The report draws its replay, Figure 1
and D beside D* from these files (:mod:`minimax.viz`).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from ..data import KnownDensity
from ..errors import MinimaxError
from ..files import atomic_write_bytes, read_bytes
from ..players import eval_mode
from .rundir import SAMPLES, field_files, field_name, snapshot_name
from .runlog import TensorBoardLog
from .sampling import Players, discriminator_output, generate

EVAL_SEED_OFFSET = 7919  # evaluation noise is a separate stream from training noise
MAX_GRID_CLASSES = 16  # a conditional run's snapshot grid has one row per class up to this many classes


def snapshot_steps(steps: int, n: int) -> set[int]:
    """n points of training, evenly spaced from the start (step 0) to the end."""
    if n == 1:
        return {steps}
    return {round(i * steps / (n - 1)) for i in range(n)}


def save_snapshot(run_dir: Path, trainer: Players, tb: TensorBoardLog | None = None) -> None:
    """Generated samples at this step (from the fixed evaluation noise) for the plots. A conditional image run
    with K ≤ 16 classes draws K samples of each class in class order (the grid's row r is class r)."""
    n = min(trainer.cfg.eval_samples, 2500) if len(trainer.data.shape) == 1 else 64
    classes = None
    if trainer.conditional:
        k = trainer.data.n_classes
        if len(trainer.data.shape) > 1 and k <= MAX_GRID_CLASSES:
            n = k * k
        classes = torch.arange(k).repeat_interleave(k) if n == k * k else torch.arange(n) % k
    x = generate(trainer, n, seed=trainer.cfg.seed + EVAL_SEED_OFFSET, classes=classes).cpu().numpy().astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, x)
    atomic_write_bytes(run_dir / SAMPLES / snapshot_name(trainer.step), buf.getvalue(), inside=run_dir)
    if isinstance(trainer.data, KnownDensity) and trainer.data.dim <= 2:  # D's surface (and G's map): replay, Figure 1
        save_field(run_dir, trainer)
    if tb:
        tb.samples(trainer.step, x)


FIELD_POINTS_1D = 400
FIELD_SIDE_2D = 90
MAP_LINES = 21
MAP_SEED = 2014


def field_extent(data) -> tuple[np.ndarray, np.ndarray]:
    """The box the field covers: the data's modes ± (0.5 + 6σ)."""
    c = data.centres.numpy()
    pad = 0.5 + 6 * data.std
    return c.min(0) - pad, c.max(0) + pad


def field_grid(data) -> torch.Tensor:
    """The points D is recorded at: a line of FIELD_POINTS_1D points, or a FIELD_SIDE_2D² grid (x fastest)."""
    lo, hi = field_extent(data)
    if data.dim == 1:
        return torch.linspace(float(lo[0]), float(hi[0]), FIELD_POINTS_1D)[:, None]
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], FIELD_SIDE_2D), np.linspace(lo[1], hi[1], FIELD_SIDE_2D))
    return torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1)).float()


def prior_quantiles(prior: str, n: int) -> torch.Tensor:
    """n evenly spaced quantiles (i + ½)/n of one coordinate of p_z."""
    q = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return (2 * q - 1 if prior == "uniform" else torch.special.ndtri(q)).float()


def map_direction(trainer, n: int = 1024) -> torch.Tensor:
    """The unit direction ŵ of noise space along which G's output varies most, to first order: the
    least-squares fit x ≈ a + wᵀz over n fixed noise samples. With one noise coordinate, ŵ = 1."""
    if trainer.cfg.latent_dim == 1:
        return torch.ones(1)
    z = torch.randn(n, trainer.cfg.latent_dim, generator=torch.Generator().manual_seed(MAP_SEED))
    with eval_mode(trainer.sampler) as G:
        x = _g(trainer, G, z)
    design = torch.cat([z, torch.ones(n, 1)], 1).double()
    w = torch.linalg.lstsq(design, x.double()[:, None]).solution[:-1, 0]
    return (w / w.norm().clamp_min(1e-12)).float()


def _g(trainer, G, z: torch.Tensor) -> torch.Tensor:
    """G(z) in data space, flattened to one coordinate (class 0 in a conditional run)."""
    c = torch.zeros(len(z), dtype=torch.long, device=trainer.device) if trainer.conditional else None
    z = z.to(trainer.device)
    return trainer.data.to_data_space(G(z) if c is None else G(z, c)).reshape(len(z)).cpu().float()


@torch.no_grad()
def discriminator_field(trainer) -> dict[str, np.ndarray]:
    """D on :func:`field_grid` (not for a packed D, which has no pointwise value); for 1-D data also the map
    z → G(z) along the line through a typical z₀ on which
    ŵ·z = t, t the prior's quantiles (i + ½)/n (normal prior: ŵ·z ~ N(0, 1), as each coordinate of z is; uniform
    prior: ŵ = the first coordinate)."""
    grid = field_grid(trainer.data)
    label = torch.zeros(len(grid), dtype=torch.long) if trainer.conditional else None
    out = {"grid": grid.numpy()}
    if trainer.cfg.pack == 1:  # a packed D (PacGAN) judges p samples jointly: it has no value at one point
        out["d"] = discriminator_output(trainer, grid, label).cpu().float().numpy()
    if trainer.data.dim == 1:
        t = prior_quantiles(trainer.cfg.prior, MAP_LINES)
        direction = map_direction(trainer) if trainer.cfg.prior == "normal" else torch.eye(trainer.cfg.latent_dim)[0]
        # through a typical noise vector z₀ (not through 0, which is far from where p_z has its mass in many
        # dimensions): z = z₀ + (t − ŵ·z₀) ŵ, so that ŵ·z = t
        z0 = torch.randn(trainer.cfg.latent_dim, generator=torch.Generator().manual_seed(MAP_SEED + 1))
        if trainer.cfg.prior == "uniform":
            z0 = z0.clamp(-1, 1)
        z = z0[None, :] + (t - direction @ z0)[:, None] * direction[None, :]
        with eval_mode(trainer.sampler) as G:
            gz = _g(trainer, G, z)
        out.update(u=t.numpy(), gz=gz.numpy(), latent=np.zeros(trainer.cfg.latent_dim, np.float32))
    return out


def save_field(run_dir: Path, trainer) -> None:
    buf = io.BytesIO()
    np.savez(buf, **discriminator_field(trainer))
    atomic_write_bytes(Path(run_dir) / SAMPLES / field_name(trainer.step), buf.getvalue(), inside=run_dir)


def load_fields(run_dir: Path) -> dict[int, dict[str, np.ndarray]]:
    """{step: field} of a run (plain arrays only: a file that needs unpickling is skipped)."""
    fields = {step: load_field(path) for step, path in field_files(run_dir).items()}
    return {step: field for step, field in fields.items() if field is not None}


def load_field(path: Path) -> dict[str, np.ndarray] | None:
    """One snapshot's field (plain arrays only), or None for a file that needs unpickling or cannot be read (a FIFO
    or a device: never read)."""
    try:
        with np.load(io.BytesIO(read_bytes(path)), allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (ValueError, OSError, MinimaxError):
        return None
