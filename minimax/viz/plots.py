"""Plots that explain the game, drawn from a run directory's files (matplotlib, no display).

* ``samples.png``       (1-D and 2-D data) generated samples over the true density at several points of
                        training; image data get ``samples/grid-XXXXXXXX.png`` instead
* ``figure1.png``       (1-D data) Figure 1 of Goodfellow et al. (2014) from the run: p_data, p_g, D, D*
                        and the map x = G(z) at four snapshots
* ``losses.png``        L_D, L_G, total loss, penalties, and V̂ with its value at the game's optimum
                        (-log 4 for the 2014 game)
* ``discriminator.png`` mean D(x) and D(G(z)) with their value at the optimum (1/2 for the 2014 game)
* ``gradients.png``     ‖∇_θg L_G‖ under the game's generator losses (for the 2014 game both: the
                        saturation diagnostic)

and the replay's frames (:func:`replay_frame`). One module for every PNG of a run: the panels
share their axes, references to the optimum and labels, which a split would pass around.
"""
from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ..catalogue import PENALTIES, STATISTICS  # noqa: E402
from ..data import load_dataset  # noqa: E402
from ..data.density import kernel_density  # noqa: E402
from ..errors import MinimaxError  # noqa: E402
from ..files import read_bytes  # noqa: E402
from ..games import make_objective  # noqa: E402
from ..games.minimax import MinimaxObjective  # noqa: E402
from ..run.rundir import (  # noqa: E402
    CURVE_PLOTS,
    FIGURE1,
    SAMPLES,
    SAMPLES_PLOT,
    grid_name,
    load_run_config,
    snapshot_files,
)
from ..run.runlog import game_records  # noqa: E402
from ..run.snapshots import load_fields  # noqa: E402
from .grids import image_grid_array, save_image_grid  # noqa: E402

# Every figure is made at the resolution it is saved at: a layout pass at another one (matplotlib's default 100
# dpi) would measure, and parse the mathtext of, every label twice.
DPI = 90
FRAME_DPI = 72  # the replay's frames


def _series(records: list[dict], key: str):
    pts = [(r["step"], r[key]) for r in records if r.get(key) is not None]
    return ([p[0] for p in pts], [p[1] for p in pts]) if pts else ([], [])


LABELS = {key: label for key, (label, _) in STATISTICS.items()}  # each statistic's legend (minimax.catalogue)


def _reference(ax, objective, key: str, label: str) -> None:
    """The statistic's value at the game's optimum p_g = p_data, dashed, where the theory gives one."""
    if key in objective.equilibrium:
        v = objective.equilibrium[key]
        text = objective.optimum_labels.get(key, f"{label} = {v:.3g}")
        ax.axhline(v, color="k", ls="--", lw=1, label=text)


def plot_losses(records: list[dict], path: Path, objective=None) -> None:
    """L_D, L_G (and the total loss, the penalties) on the left; on the right V̂ (or L_D for the games
    without a value) with its value at the optimum (-log 4 for the 2014 game)."""
    objective = objective or MinimaxObjective()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4), dpi=DPI)
    for key in ("d_loss", "g_loss", "total_loss", *PENALTIES):
        if any(key in r for r in records):
            ax[0].plot(*_series(records, key), label=LABELS[key])
    ax[0].set_xlabel("iteration")
    ax[0].set_title("losses")
    if ax[0].get_legend_handles_labels()[0]:  # (a run without records, a pretrained one: nothing to name)
        ax[0].legend()
    key = "value" if "value" in objective.statistics_names else "d_loss"
    ax[1].plot(*_series(records, key), label="$\\hat V$" if key == "value" else "$L_D$")
    _reference(ax[1], objective, key, "optimum")
    ax[1].set_xlabel("iteration")
    ax[1].set_title(f"{objective.name}: value of the game" if key == "value" else f"{objective.name}: D's loss")
    ax[1].legend()
    _save(fig, path)


def plot_discriminator(records: list[dict], path: Path, objective=None) -> None:
    """Mean D(x) and D(G(z)) in the game's units, with their value at the optimum (1/2 for the 2014 game)."""
    objective = objective or MinimaxObjective()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=DPI)
    ax.plot(*_series(records, "d_real"), label=f"mean ${objective.symbols['d_real']}$")
    ax.plot(*_series(records, "d_fake"), label=f"mean ${objective.symbols['d_fake']}$")
    _reference(ax, objective, "d_real", "equilibrium")
    if objective.output_range:
        lo, hi = objective.output_range
        ax.set_ylim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
    ax.set_xlabel("iteration")
    ax.legend()
    _save(fig, path)


def plot_gradients(records: list[dict], path: Path, objective=None) -> None:
    """‖∇_θg L‖ for each of the game's diagnostic generator losses (for the 2014 game, §3's two)."""
    objective = objective or MinimaxObjective()
    labels = {**LABELS, **objective.diagnostic_labels}
    fig, ax = plt.subplots(figsize=(6, 4), dpi=DPI)
    for key in objective.diagnostic_names:
        s, v = _series(records, key)
        ax.plot(s, np.maximum(v, 1e-12) if v else v, label=labels[key])
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_title("generator gradient norm $\\|\\nabla_{\\theta_g} L_G\\|$")
    ax.legend()
    _save(fig, path)


def evenly(items: list, n: int = 5) -> list:
    """At most n items, evenly spaced, the first and the last included."""
    if len(items) <= n:
        return items
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def note_outside(ax, x: np.ndarray, lo, hi) -> int:
    """Write on the panel how many of the 2-D samples x fall outside the box [lo, hi] (non-finite ones
    included), which the panel cannot show; returns that number."""
    inside = np.all(np.isfinite(x), 1) & np.all((x >= np.asarray(lo)) & (x <= np.asarray(hi)), 1)
    out = int((~inside).sum())
    if out:
        ax.text(0.5, 0.02, f"{out} of {len(x)} samples outside the frame", transform=ax.transAxes, ha="center",
                va="bottom", fontsize=7, color="tab:red", bbox=dict(facecolor="white", alpha=0.8, lw=0))
    return out


def plot_samples_2d(snapshots: list[tuple[int, np.ndarray]], data, path: Path, conditional: bool = False) -> None:
    """The samples over the data density at (at most 5 of) the snapshots; a conditional run's samples coloured by
    their class (sample i of a snapshot is of class i mod K, see train.save_snapshot)."""
    snapshots = evenly(snapshots)
    n = len(snapshots)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.4), squeeze=False, dpi=DPI)
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
        note_outside(ax, x, lo, hi)
        ax.set_aspect("equal")
        ax.set_title(f"step {step}")
        ax.set_xticks([])
        ax.set_yticks([])
    _save(fig, path)


def plot_samples_1d(snapshots: list[tuple[int, np.ndarray]], data, path: Path, conditional: bool = False) -> None:
    snapshots = evenly(snapshots)
    n = len(snapshots)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3), squeeze=False, sharey=True, dpi=DPI)
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


def figure1_panel(ax, data, samples: np.ndarray, field: dict, objective) -> None:
    r"""One panel of Figure 1 (Goodfellow et al. 2014): p_data (black, dotted), p_g (green: a Gaussian kernel
    density of the samples), the trained D (blue, dashed), D* = p_data/(p_data + p̂_g) (grey; the game's own D*
    for another game), and below the x-axis the map x = G(z): lines from a uniform grid of z — the prior's
    quantiles (i + ½)/n, placed evenly as the paper's uniform z is; with several noise coordinates, along the
    direction in which G varies most (:func:`minimax.run.snapshots.map_direction`) — to the x they are mapped to."""
    xs = field["grid"][:, 0]
    grid = torch.from_numpy(xs[:, None]).double()
    log_pd = data.log_prob(grid.float()).double()
    x = torch.from_numpy(np.asarray(samples, dtype=np.float64)[:, :1])
    bw = max(1.06 * float(x.std()) * len(x) ** -0.2, 1e-3)  # Silverman's rule
    log_pg = kernel_density(x, grid, bw)
    p_data, p_g = log_pd.exp().numpy(), log_pg.exp().numpy()
    top = max(1.0, float(p_data.max()), float(p_g.max()))
    ax.plot(xs, p_data, ":", color="k", lw=1.5, label="$p_{data}$")
    ax.plot(xs, p_g, "-", color="tab:green", lw=1.5, label="$p_g$")
    d_ax = ax if objective.output_is_probability else ax.twinx()
    if "d" in field:  # (a packed D has no pointwise value)
        d_ax.plot(xs, field["d"], "--", color="tab:blue", lw=1.5, label="$D$")
    star = objective.optimal_discriminator
    if star is not None:  # where either density has mass (elsewhere D* is a ratio of two vanishing estimates)
        d_star = star(log_pd, log_pg).numpy().astype(float)
        d_star[p_data + p_g < 0.01 * (p_data + p_g).max()] = np.nan
        d_ax.plot(xs, d_star, "-", color="0.6", lw=1, label="$D^*$")
    if "gz" in field:  # the map: z on a line below the axis, at its quantile (so evenly spaced), to x = G(z)
        lo, hi = float(xs.min()), float(xs.max())
        q = (np.arange(len(field["gz"])) + 0.5) / len(field["gz"])
        z_pos = lo + (0.15 + 0.7 * q) * (hi - lo)
        y_z = -0.35 * top
        ax.hlines([0, y_z], lo, hi, color="k", lw=0.8)
        for a, b in zip(z_pos, np.clip(field["gz"], lo, hi)):
            ax.annotate("", xy=(b, 0), xytext=(a, y_z), arrowprops=dict(arrowstyle="->", lw=0.6, color="0.35"))
        ax.text(lo, y_z, "z ", ha="right", va="center")
        ax.text(lo + 0.15 * (hi - lo), y_z, "(by quantile of $p_z$" + (")" if len(field.get("latent", [1])) == 1
                else ", along G's main direction)"), fontsize=7, va="top")
        ax.text(lo, 0, "x ", ha="right", va="center")
    ax.set_ylim(-0.45 * top, 1.05 * top)
    ax.set_xlim(float(xs.min()), float(xs.max()))
    ax.set_yticks([])


def plot_figure1(snapshots: list[tuple[int, np.ndarray]], fields: dict, data, objective, path) -> None:
    """Figure 1 from a 1-D run: four snapshots (the first, two between, the last) of :func:`figure1_panel`."""
    shown = evenly([(s, x) for s, x in snapshots if s in fields], 4)
    fig, axes = plt.subplots(1, len(shown), figsize=(3.6 * len(shown), 3.4), squeeze=False, dpi=DPI)
    for ax, (step, x), letter in zip(axes[0], shown, "abcd"):
        figure1_panel(ax, data, x, fields[step], objective)
        ax.set_title(f"({letter}) step {step}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


PUSH_ARROWS = 80  # generated samples that carry an arrow of G's push (2-D frames)


def generator_push(d: np.ndarray, gx: np.ndarray, gy: np.ndarray, objective, g_loss: str | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    r"""(u, v) = −∇ₓ ℓ_G(x) on the field's grid (x fastest, as ``meshgrid``): the direction in which G's loss moves
    a generated sample at x, and how hard, from D's surface ``d`` in the game's units (finite differences). The 2014
    game (D a probability): the non-saturating ℓ = −log D gives ∇ log D = ∇D / D, the saturating ℓ = log(1 − D)
    gives −∇ log(1 − D) = ∇D / (1 − D) — small where D rejects the sample (§3's saturation). A game whose D is not a
    probability: ∇D (its L_G falls as D(G(z)) rises: hinge and WGAN's −D, the relativistic games' f(D(G(z)) − D(x))).
    """
    if objective.output_is_probability:
        tiny = 1e-7
        f = -np.log(np.clip(1 - d, tiny, 1)) if g_loss == "saturating" else np.log(np.clip(d, tiny, 1))
    else:
        f = d
    dy, dx = np.gradient(f, gy[:, 0], gx[0, :])
    return dx, dy


def replay_frame(step: int, samples: np.ndarray, field: dict | None, records: list[dict], data, objective,
                 conditional: bool = False, g_loss: str | None = None, layout: dict | None = None) -> bytes:
    """One frame of the replay (PNG bytes): the game at ``step`` beside V̂ (or L_D) and mean D(G(z)) with a
    marker at ``step``; on 2-D data with D's surface, arrows on some generated samples: where G's loss pushes them
    (:func:`generator_push`; ``g_loss``: the 2014 game's generator loss). ``layout``: a dict shared by the frames
    of one replay: the first frame's margins are fitted to its labels and kept there, the next frames take them
    (the frames of a replay then line up, and each costs one drawing instead of two)."""
    fig = plt.figure(figsize=(10, 4), dpi=FRAME_DPI)
    left = fig.add_subplot(1, 2, 1)
    if samples.ndim == 4:
        left.imshow(image_grid_array(samples), cmap="gray" if samples.shape[1] == 1 else None, vmin=0, vmax=1)
        left.set_axis_off()
        left.set_title(f"samples from fixed noise, step {step}")
    elif field is not None and data.dim == 1:
        figure1_panel(left, data, samples, field, objective)
        left.legend(fontsize=7, loc="upper right")
        left.set_title(f"step {step}")
    else:
        side = int(round(len(field["grid"]) ** 0.5)) if field is not None and "d" in field else 0
        if side:
            gx, gy = (field["grid"][:, i].reshape(side, side) for i in (0, 1))
            log_pd = data.log_prob(torch.from_numpy(field["grid"])).reshape(side, side).numpy()
            lo_v, hi_v = objective.output_range or np.percentile(field["d"], [1, 99])
            mesh = left.pcolormesh(gx, gy, field["d"].reshape(side, side), cmap="RdBu_r", vmin=lo_v, vmax=hi_v,
                                   shading="auto", alpha=0.75)
            left.contour(gx, gy, log_pd, levels=[float(log_pd.max()) - 4.5], colors="k", linewidths=0.6)
            fig.colorbar(mesh, ax=left, shrink=0.8, label="D (red: judged real)")
        colour = dict(c=np.arange(len(samples)) % len(data.centres), cmap="tab20") if conditional else \
            dict(color="tab:orange")
        left.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.6, **colour)
        if side:  # G's push at every len/PUSH_ARROWS-th sample inside the grid, scaled to the largest shown
            u, v = generator_push(field["d"].reshape(side, side), gx, gy, objective, g_loss)
            shown = samples[::max(1, len(samples) // PUSH_ARROWS)]
            ix = np.rint((shown[:, 0] - gx.min()) / (gx.max() - gx.min()) * (side - 1)).astype(int)
            iy = np.rint((shown[:, 1] - gy.min()) / (gy.max() - gy.min()) * (side - 1)).astype(int)
            inside = (ix >= 0) & (ix < side) & (iy >= 0) & (iy < side)
            pu, pv = u[iy[inside], ix[inside]], v[iy[inside], ix[inside]]
            top = float(np.hypot(pu, pv).max()) if inside.any() else 0.0
            if top > 0 and np.isfinite(top):
                reach = 0.12 * float(gx.max() - gx.min())  # the longest arrow, in data units
                left.quiver(shown[inside, 0], shown[inside, 1], pu / top * reach, pv / top * reach, angles="xy",
                            scale_units="xy", scale=1, color="k", width=0.004, alpha=0.7)
            left.set_xlim(gx.min(), gx.max())
            left.set_ylim(gy.min(), gy.max())
            note_outside(left, samples, (gx.min(), gy.min()), (gx.max(), gy.max()))
        left.set_aspect("equal")
        left.set_title(f"samples and D's surface, step {step}")
    key = "value" if "value" in objective.statistics_names else "d_loss"
    for row, (k, label) in enumerate(((key, "$\\hat V$" if key == "value" else "$L_D$"), ("d_fake", "mean $D(G(z))$"))):
        ax = fig.add_subplot(2, 2, 2 + 2 * row)
        ax.plot(*_series(records, k), lw=1)
        _reference(ax, objective, k, label)
        ax.axvline(step, color="tab:red", lw=1)
        ax.set_ylabel(label)
        if row == 1:
            ax.set_xlabel("iteration")
    if layout:
        fig.subplots_adjust(**layout)
    else:
        fig.tight_layout()
        if layout is not None:
            pars = fig.subplotpars
            layout.update(left=pars.left, right=pars.right, bottom=pars.bottom, top=pars.top, wspace=pars.wspace,
                          hspace=pars.hspace)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FRAME_DPI)
    plt.close(fig)
    return buf.getvalue()


def load_snapshots(run_dir: Path) -> list[tuple[int, np.ndarray]]:
    """(step, samples) of the run's snapshots: real arrays [n, features] or [n, C, H, W], one shape per run; a
    pickle or any other array is a one-line error naming the file."""
    out = []
    for step, f in snapshot_files(run_dir):
        out.append((step, load_snapshot(f, out[0][1] if out else None)))
    return out


def load_snapshot(f: Path, like: np.ndarray | None = None) -> np.ndarray:
    """One snapshot's samples: a real array [n, features] or [n, C, H, W] (shaped as ``like``'s samples, when
    given); a pickle or any other array is a one-line error naming the file."""
    try:
        x = np.load(io.BytesIO(read_bytes(f, "the snapshot")), allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:  # object arrays (pickles) are refused, and anything malformed
        raise MinimaxError(f"{f} is not a plain sample array ({str(e).splitlines()[0][:120]}); "
                           "minimax never unpickles files") from None
    if x.ndim not in (2, 4) or x.dtype.kind not in "fiu" or not len(x) or \
            (like is not None and x.shape[1:] != like.shape[1:]):
        raise MinimaxError(f"{f} is not a sample array of this run (shape {x.shape}, dtype {x.dtype})")
    return x


def plot_run(run_dir: str | Path) -> list[Path]:
    """Draw every plot of a run; returns the files written."""
    run_dir = Path(run_dir)
    records = game_records(run_dir)
    cfg = load_run_config(run_dir)
    objective = make_objective(cfg.game, **cfg.game_options)
    written = []
    for name, fn in zip(CURVE_PLOTS, (plot_losses, plot_discriminator, plot_gradients)):
        fn(records, run_dir / name, objective)
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
        fields = load_fields(run_dir)
        if data.dim == 1 and fields:
            plot_figure1(snaps, fields, data, objective, run_dir / FIGURE1)
            written.append(run_dir / FIGURE1)
    return written


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
