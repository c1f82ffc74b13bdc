"""The report's figures, each returned as a data: URI of a PNG: the saturation picture of §3, the trained D
beside the optimal D* (from the last snapshot's recorded field), and several runs' curves overlaid."""
from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from ..data import KnownDensity, load_dataset  # noqa: E402
from ..data.density import kernel_density  # noqa: E402
from ..run.snapshots import load_fields  # noqa: E402
from . import plots  # noqa: E402


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def png_uri(draw) -> str:
    """Run ``draw(target)`` with an in-memory file; return a data: URI of the PNG, made compact
    (:func:`compact_png`)."""
    buf = io.BytesIO()
    draw(buf)
    return data_uri(compact_png(buf.getvalue()))


def compact_png(png: bytes) -> bytes:
    """A chart's PNG with its colours reduced to a palette of 256 (median cut, no dithering) and compressed
    harder: about a third of the bytes for matplotlib's flat colours and antialiased lines, which look the same.
    For charts only: an image grid of samples keeps its exact pixels."""
    with Image.open(io.BytesIO(png)) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def figure_uri(fig) -> str:
    return png_uri(lambda buf: plots._save(fig, buf))


def saturation_figure(observed: list[float]) -> str:
    """L_G and |∂L_G/∂l| for both losses against D(G(z)), with the run's D(G(z)) values marked."""
    d = np.linspace(1e-4, 1 - 1e-4, 400)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4), dpi=plots.DPI)
    ax[0].plot(d, np.log(1 - d), label="saturating: $\\log(1 - D(G(z)))$ (minimised)")
    ax[0].plot(d, -np.log(d), label="non-saturating: $-\\log D(G(z))$")
    ax[0].set_xlabel("$D(G(z))$")
    ax[0].set_title("generator losses")
    ax[1].plot(d, d, label="saturating: $|\\partial L/\\partial l| = D$")
    ax[1].plot(d, 1 - d, label="non-saturating: $|\\partial L/\\partial l| = 1 - D$")
    ax[1].set_xlabel("$D(G(z))$")
    ax[1].set_title("gradient with respect to D's logit")
    for a in ax:
        if observed:
            a.axvspan(min(observed), max(observed), color="tab:red", alpha=0.12, label="this run's $D(G(z))$ range")
            a.axvline(observed[-1], color="tab:red", lw=1.5, label=f"final $D(G(z))$ = {observed[-1]:.3f}")
        a.legend(fontsize=8)
    return figure_uri(fig)


def discriminator_figure(run_dir: Path, cfg, objective) -> tuple[str, int] | None:
    """(data URI, step): the trained D beside D* = p_data/(p_data + p̂_g) at the run's last snapshot, for 1-D and
    2-D data: D as the snapshot recorded it on its grid (:mod:`minimax.run.snapshots`), p_g estimated by a
    Gaussian kernel density of the snapshot's samples (class 0's in the conditional game)."""
    fields, snaps = load_fields(run_dir), dict(plots.load_snapshots(run_dir))
    step = max((s for s in fields if s in snaps and "d" in fields[s]), default=None)  # (no "d": a packed D)
    if step is None:
        return None
    data = load_dataset(cfg)
    if not isinstance(data, KnownDensity) or data.dim > 2:
        return None
    conditional = cfg.condition != "none"
    x_g = snaps[step][::data.n_classes] if conditional else snaps[step]  # a snapshot's sample i is of class i % K
    grid, d_hat = fields[step]["grid"].astype(np.float64), fields[step]["d"]
    lo, hi = grid.min(0), grid.max(0)
    bw = max(data.std, 0.02 * float((hi - lo).max()))  # KDE bandwidth of p_g
    if data.dim == 2:
        side = int(round(len(grid) ** 0.5))
        gx, gy = grid[:, 0].reshape(side, side), grid[:, 1].reshape(side, side)
    c = data.centres.numpy()
    points = torch.from_numpy(grid).float()
    log_pd = (data.log_prob_given(points, 0) if conditional else data.log_prob(points)).double()
    log_pg = kernel_density(torch.from_numpy(x_g.astype(np.float64)), torch.from_numpy(grid), bw)
    star = objective.optimal_discriminator  # None: wgan-gp's critic has no pointwise closed form
    d_star = star(log_pd, log_pg).numpy() if star else None
    star_label = objective.optimal_d_label or f"{objective.name}'s $D^*$ with $\\hat p_g$"
    if conditional:
        star_label = (star_label.replace("(x)", "(x, 0)").replace("p_{data}", "p_{data}(x|0)")
                      .replace("\\hat p_g", "\\hat p_g(x|0)"))
    shown = [(d_hat, "trained $D(x, 0)$" if conditional else "trained $D(x)$")]
    shown += [(d_star, star_label)] if d_star is not None else []
    if objective.output_range:
        lo_v, hi_v = objective.output_range
    else:
        lo_v, hi_v = np.percentile(np.concatenate([z for z, _ in shown]), [1, 99])
    if data.dim == 1:
        fig, ax = plt.subplots(figsize=(7, 4), dpi=plots.DPI)
        for (z, name), style in zip(shown, ("-", "--")):
            ax.plot(grid[:, 0], z, style, label=name)
        if "d_real" in objective.equilibrium:
            ax.axhline(objective.equilibrium["d_real"], color="k", lw=0.8, ls=":")
        pad = 0.02 * (hi_v - lo_v)
        ax.set_ylim(lo_v - pad, hi_v + pad)
        ax.set_xlabel("x")
        ax.legend()
    else:
        if objective.output_range == (0.0, 1.0) and d_star is not None:
            # both maps are ≈ 0 away from the modes on a probability scale; their log-odds show where they differ
            shown, lo_v, hi_v = _log_odds(shown)
        fig = map_panels(shown, gx, gy, c, lo_v, hi_v)
        return png_uri(lambda buf: (fig.savefig(buf, dpi=plots.DPI), plt.close(fig))), step
    return figure_uri(fig), step


def map_panels(shown: list[tuple[np.ndarray, str]], gx, gy, centres, lo: float, hi: float):
    """One panel per (values on the grid gx × gy, title), on one colour scale, the modes' centres marked. A title
    wider than its panel (the conditional game's D* and its definition) is broken before its formula."""
    fig, axes = plt.subplots(1, len(shown), figsize=(5 * len(shown), 4.6), squeeze=False, dpi=plots.DPI)
    for a, (z, title) in zip(axes[0], shown):
        im = a.pcolormesh(gx, gy, z.reshape(gx.shape), vmin=lo, vmax=hi, cmap="RdBu_r", shading="auto")
        a.scatter(centres[:, 0], centres[:, 1], s=8, color="k", marker="x")
        a.set_title(title if len(title) < 40 or " $" not in title else title.replace(" $", "\n$", 1), fontsize=10)
        a.set_aspect("equal")
    fig.colorbar(im, ax=axes, shrink=0.8)
    return fig


LOG_ODDS_RANGE = 10.0


def _log_odds(shown: list[tuple[np.ndarray, str]]) -> tuple[list, float, float]:
    """(D, D*) as log-odds log(D/(1 − D)) (for D*: log p_data − log p̂_g), and their difference, clipped to
    ±LOG_ODDS_RANGE."""
    eps = 1e-7
    (d, d_name), (star, star_name) = shown
    lo = [np.log(np.clip(v, eps, 1 - eps)) - np.log(np.clip(1 - v, eps, 1 - eps)) for v in (d, star)]
    out = [(np.clip(lo[0], -LOG_ODDS_RANGE, LOG_ODDS_RANGE), f"log-odds of {d_name}"),
           (np.clip(lo[1], -LOG_ODDS_RANGE, LOG_ODDS_RANGE), f"log-odds of {star_name}"),
           (np.clip(lo[0] - lo[1], -LOG_ODDS_RANGE, LOG_ODDS_RANGE), "their difference (red: D over-confident)")]
    return out, -LOG_ODDS_RANGE, LOG_ODDS_RANGE


def plain_text(s: str) -> str:
    """A user's text (a run's folder name) as matplotlib draws it literally: ``$`` would start mathtext."""
    return s.replace("$", r"\$")


def overlay_figure(runs: list[tuple[str, list[dict], object]]) -> str:
    """Every run's V̂ (L_D for the games without a value) and mean D(G(z)), one row per game: runs of different
    games have statistics in different units (hinge's L_D, f-kl's V̂ and the 2014 game's V̂ are not comparable),
    so only runs of one game share an axis, with that game's optimum dashed. ``runs``: (name, records, objective)."""
    games: dict[str, list] = {}
    for name, records, objective in runs:
        games.setdefault(objective.name, []).append((name, records, objective))
    fig, axes = plt.subplots(len(games), 2, figsize=(11, 4 * len(games)), squeeze=False, dpi=plots.DPI)
    for ax, (game_name, members) in zip(axes, games.items()):
        objective = members[0][2]
        key = "value" if "value" in objective.statistics_names else "d_loss"
        for name, records, _ in members:
            label = plain_text(name)
            ax[0].plot(*plots._series(records, key), label=label)
            ax[1].plot(*plots._series(records, "d_fake"), label=label)
        for a, stat in ((ax[0], key), (ax[1], "d_fake")):
            if stat in objective.equilibrium:
                a.axhline(objective.equilibrium[stat], color="k", ls="--", lw=1, label="at the optimum")
        ax[0].set_title(f"{game_name}: " + ("$\\hat V$" if key == "value" else "$L_D$"))
        ax[1].set_title(f"{game_name}: mean $D(G(z))$")
        for a in ax:
            a.set_xlabel("iteration")
            a.legend(fontsize=8)
    return figure_uri(fig)
