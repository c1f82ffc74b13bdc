"""Plots that explain the game, drawn from a run directory's files (matplotlib, no display).

* ``samples.png``       (1-D and 2-D data) generated samples over the true density at several points of
                        training; image data get ``samples/grid-XXXXXXXX.png`` instead
* ``losses.png``        L_D, L_G, total loss, penalties, and V̂ with its value at the game's optimum
                        (-log 4 for the 2014 game)
* ``discriminator.png`` mean D(x) and D(G(z)) with their value at the optimum (1/2 for the 2014 game)
* ``gradients.png``     ‖∇_θg L_G‖ under the game's generator losses (for the 2014 game both: the
                        saturation diagnostic)
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from .errors import MinimaxError  # noqa: E402
from .games import make_objective  # noqa: E402
from .objective import MinimaxObjective  # noqa: E402
from .rundir import CURVE_PLOTS, SAMPLES, SAMPLES_PLOT, grid_name, load_run_config, snapshot_files  # noqa: E402
from .runlog import game_records  # noqa: E402


def _series(records: list[dict], key: str):
    pts = [(r["step"], r[key]) for r in records if r.get(key) is not None]
    return ([p[0] for p in pts], [p[1] for p in pts]) if pts else ([], [])


LABELS = {"d_loss": "$L_D$", "g_loss": "$L_G$", "total_loss": "total = $L_D - \\log D(G(z))$",
          "gradient_penalty": "gradient penalty $E(\\|\\nabla D(\\hat x)\\| - 1)^2$",
          "r1_penalty": "R1 $E\\|\\nabla_x D(x)\\|^2$",
          "g_grad_norm_saturating": "saturating (the game as written)",
          "g_grad_norm_non_saturating": "non-saturating (the heuristic)", "g_grad_norm": "$L_G$"}
MINIMAX_LABELS = {"g_grad_norm_saturating": "saturating: $\\log(1-D(G(z)))$",
                  "g_grad_norm_non_saturating": "non-saturating: $-\\log D(G(z))$"}


MINIMAX_OPTIMA = {"value": "$-\\log 4$ (optimum)", "d_real": "1/2 (equilibrium)"}


def _reference(ax, game, key: str, label: str) -> None:
    """The statistic's value at the game's optimum p_g = p_data, dashed, where the theory gives one."""
    if key in game.equilibrium:
        v = game.equilibrium[key]
        text = MINIMAX_OPTIMA[key] if game.name == "minimax" else f"{label} = {v:.3g}"
        ax.axhline(v, color="k", ls="--", lw=1, label=text)


def plot_losses(records: list[dict], path: Path, game=None) -> None:
    """L_D, L_G (and the total loss, the penalties) on the left; on the right V̂ (or L_D for the games
    without a value) with its value at the optimum (-log 4 for the 2014 game)."""
    game = game or MinimaxObjective()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for key in ("d_loss", "g_loss", "total_loss", "gradient_penalty", "r1_penalty"):
        if any(key in r for r in records):
            ax[0].plot(*_series(records, key), label=LABELS[key])
    ax[0].set_xlabel("iteration")
    ax[0].set_title("losses")
    ax[0].legend()
    key = "value" if "value" in game.statistics_names else "d_loss"
    ax[1].plot(*_series(records, key), label="$\\hat V$" if key == "value" else "$L_D$")
    _reference(ax[1], game, key, "optimum")
    ax[1].set_xlabel("iteration")
    ax[1].set_title(f"{game.name}: value of the game" if key == "value" else f"{game.name}: D's loss")
    ax[1].legend()
    _save(fig, path)


def plot_discriminator(records: list[dict], path: Path, game=None) -> None:
    """Mean D(x) and D(G(z)) in the game's units, with their value at the optimum (1/2 for the 2014 game)."""
    game = game or MinimaxObjective()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(*_series(records, "d_real"), label="mean $D(x)$")
    ax.plot(*_series(records, "d_fake"), label="mean $D(G(z))$")
    _reference(ax, game, "d_real", "equilibrium")
    if game.output_range:
        lo, hi = game.output_range
        ax.set_ylim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
    ax.set_xlabel("iteration")
    ax.legend()
    _save(fig, path)


def plot_gradients(records: list[dict], path: Path, game=None) -> None:
    """‖∇_θg L‖ for each of the game's diagnostic generator losses (for the 2014 game, §3's two)."""
    game = game or MinimaxObjective()
    labels = MINIMAX_LABELS if game.name == "minimax" else LABELS
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in game.diagnostic_names:
        s, v = _series(records, key)
        ax.plot(s, np.maximum(v, 1e-12) if v else v, label=labels[key])
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_title("generator gradient norm $\\|\\nabla_{\\theta_g} L_G\\|$")
    ax.legend()
    _save(fig, path)


def plot_samples_2d(snapshots: list[tuple[int, np.ndarray]], data, path: Path, conditional: bool = False) -> None:
    """The samples over the data density at each snapshot; a conditional run's samples coloured by their class
    (sample i of a snapshot is of class i mod K, see train.save_snapshot)."""
    n = len(snapshots)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.4), squeeze=False)
    c = data.centres.numpy()
    lo, hi = c.min(0) - 0.5 - 6 * data.std, c.max(0) + 0.5 + 6 * data.std
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1)).float()
    density = data.log_prob(grid).exp().reshape(gx.shape).numpy()
    for ax, (step, x) in zip(axes[0], snapshots):
        ax.contourf(gx, gy, density, levels=20, cmap="Greys")
        if conditional:
            ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5, c=np.arange(len(x)) % len(c), cmap="tab20",
                       vmin=0, vmax=max(len(c) - 1, 1))
        else:
            ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5, color="tab:orange")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        ax.set_title(f"step {step}")
        ax.set_xticks([])
        ax.set_yticks([])
    _save(fig, path)


def plot_samples_1d(snapshots: list[tuple[int, np.ndarray]], data, path: Path, conditional: bool = False) -> None:
    n = len(snapshots)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3), squeeze=False, sharey=True)
    mu, sd = float(data.centres.min()), data.std
    lo = min(mu - 4 * sd, min(float(x.min()) for _, x in snapshots))
    hi = max(float(data.centres.max()) + 4 * sd, max(float(x.max()) for _, x in snapshots))
    xs = torch.linspace(lo, hi, 400)[:, None]
    for ax, (step, x) in zip(axes[0], snapshots):
        ax.plot(xs[:, 0], data.log_prob(xs).exp(), color="k", label="$p_{data}$")
        ax.hist(x[:, 0], bins=60, range=(lo, hi), density=True, alpha=0.6, color="tab:orange", label="$p_g$")
        ax.set_title(f"step {step}")
    axes[0][0].legend()
    _save(fig, path)


def load_snapshots(run_dir: Path) -> list[tuple[int, np.ndarray]]:
    out = []
    for step, f in snapshot_files(run_dir):
        try:
            out.append((step, np.load(f, allow_pickle=False)))
        except ValueError as e:  # object arrays (pickles) are refused, and so is anything else malformed
            raise MinimaxError(f"{f} is not a plain sample array ({str(e).splitlines()[0][:120]}); "
                               "minimax never unpickles files") from None
    return out


def plot_run(run_dir: str | Path) -> list[Path]:
    """Draw every plot of a run; returns the files written."""
    from .data import load_dataset

    run_dir = Path(run_dir)
    records = game_records(run_dir)
    cfg = load_run_config(run_dir)
    game = make_objective(cfg)
    written = []
    for name, fn in zip(CURVE_PLOTS, (plot_losses, plot_discriminator, plot_gradients)):
        fn(records, run_dir / name, game)
        written.append(run_dir / name)
    snaps = load_snapshots(run_dir)
    if snaps and snaps[0][1].ndim == 4:  # images [n, C, H, W] in [0, 1]
        for step, x in snaps:
            save_image_grid(x, run_dir / SAMPLES / grid_name(step))
        written.append(run_dir / SAMPLES / grid_name(snaps[-1][0]))
    elif snaps:
        data = load_dataset(cfg)
        path = run_dir / SAMPLES_PLOT
        (plot_samples_2d if data.dim == 2 else plot_samples_1d)(snaps, data, path, cfg.condition != "none")
        written.append(path)
    return written


def image_grid_png(images: np.ndarray, pad: int = 2, cols: int | None = None) -> bytes:
    """Tile images [n, C, H, W] with values in [0, 1] into one PNG (bytes), ``cols`` (default ⌈√n⌉) per row."""
    from PIL import Image

    x = np.clip(np.asarray(images, dtype=np.float32), 0, 1)
    n, c, h, w = x.shape
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    canvas = np.ones((c, rows * (h + pad) + pad, cols * (w + pad) + pad), dtype=np.float32)
    for i in range(n):
        r, q = divmod(i, cols)
        canvas[:, pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = x[i]
    pixels = (canvas * 255 + 0.5).astype(np.uint8)
    img = Image.fromarray(pixels[0] if c == 1 else pixels.transpose(1, 2, 0))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def save_image_grid(images: np.ndarray, path: Path, cols: int | None = None) -> None:
    """The image grid of :func:`image_grid_png`, written atomically to ``path``."""
    from .checkpoint import atomic_write_bytes

    atomic_write_bytes(Path(path), image_grid_png(images, cols=cols))


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
