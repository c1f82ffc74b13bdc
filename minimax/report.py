r"""``minimax report RUN_DIR [RUN_DIR ...]``: one self-contained HTML page per set of runs.

Every plot is a PNG embedded as base64, so the page needs no network and no
other file. For each run it shows:

* the run's game (its value function and its optimum), and its curves: L_D, L_G, total loss,
  penalties, V̂ with its value at the optimum (-log 4 for the 2014 game), and mean D(x), D(G(z))
  with theirs (1/2);
* for the 2014 game, the saturation picture of §3: both generator losses, and the size of their
  gradients with respect to D's logit, |∂L/∂l| = D (saturating) and 1 - D
  (non-saturating), against D(G(z)) ∈ [0, 1], with the run's observed D(G(z)) marked;
* the measured generator-gradient norms (under both losses, for the 2014 and f-GAN games);
* samples through training (scatter over the true density, or image grids);
* for 1-D and 2-D data, the trained D beside the game's optimal D* (p_data/(p_data + p_g) for the
  2014 game), with p_g estimated by a Gaussian kernel density of generated samples;
* the run's config and summary metrics.

With several runs, their V̂ and D(G(z)) curves are also overlaid in one figure.
"""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from . import plots  # noqa: E402
from .checkpoint import atomic_write_bytes  # noqa: E402
from .density import kernel_density  # noqa: E402
from .errors import MinimaxError  # noqa: E402
from .games import SYMBOLS, make_objective  # noqa: E402
from .rundir import CONDITIONAL, CONFIG, FID, PARZEN, REPORT, SUMMARY, load_run_config  # noqa: E402
from .runlog import game_records  # noqa: E402
from .theory import EQUILIBRIUM_D, OPTIMAL_VALUE  # noqa: E402


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _png(draw) -> str:
    """Run ``draw(target)`` with an in-memory file; return a data: URI of the PNG."""
    buf = io.BytesIO()
    draw(buf)
    return _data_uri(buf.getvalue())


def _fig_png(fig) -> str:
    return _png(lambda buf: plots._save(fig, buf))


def saturation_figure(observed: list[float]) -> str:
    """L_G and |∂L_G/∂l| for both losses against D(G(z)), with the run's D(G(z)) values marked."""
    d = np.linspace(1e-4, 1 - 1e-4, 400)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
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
    return _fig_png(fig)


def discriminator_figure(run_dir: Path) -> str | None:
    """Trained D(x) beside D*(x) = p_data/(p_data + p_g) on a grid, for 1-D and 2-D data."""
    from .train import load_run

    try:
        game = load_run(run_dir)
    except MinimaxError:
        return None
    data = game.data
    if not hasattr(data, "centres") or data.dim > 2:
        return None
    # the conditional game: D(x, c) beside D*(x, c) = p_data(x|c)/(p_data(x|c) + p_g(x|c)) for class c = 0
    label = (lambda n: torch.zeros(n, dtype=torch.long)) if game.conditional else (lambda n: None)
    x_g = game.generate(4000, seed=12345, classes=label(4000)).cpu().numpy().astype(np.float64)
    c = data.centres.numpy()
    pad = 0.5 + 6 * data.std
    lo = np.minimum(c.min(0) - pad, np.percentile(x_g, 1, axis=0))
    hi = np.maximum(c.max(0) + pad, np.percentile(x_g, 99, axis=0))
    bw = max(data.std, 0.02 * float((hi - lo).max()))  # KDE bandwidth of p_g
    if data.dim == 1:
        grid = np.linspace(lo[0], hi[0], 400)[:, None]
    else:
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120))
        grid = np.stack([gx.ravel(), gy.ravel()], 1)
    points = torch.from_numpy(grid).float()
    log_pd = (data.log_prob_given(points, 0) if game.conditional else data.log_prob(points)).double()
    log_pg = kernel_density(torch.from_numpy(x_g), torch.from_numpy(grid).double(), bw)
    objective = game.objective
    star = getattr(objective, "optimal_discriminator", None)  # wgan-gp's critic has no pointwise closed form
    d_star = star(log_pd, log_pg).numpy() if star else None
    d_hat = game.discriminator_output(points, label(len(points))).cpu().numpy()
    star_label = ("$D^*(x) = p_{data}/(p_{data} + \\hat p_g)$" if objective.name == "minimax"
                  else f"{objective.name}'s $D^*$ with $\\hat p_g$")
    if game.conditional:
        star_label = (star_label.replace("(x)", "(x, 0)").replace("p_{data}", "p_{data}(x|0)")
                      .replace("\\hat p_g", "\\hat p_g(x|0)"))
    shown = [(d_hat, "trained $D(x, 0)$" if game.conditional else "trained $D(x)$")]
    shown += [(d_star, star_label)] if d_star is not None else []
    if objective.output_range:
        lo_v, hi_v = objective.output_range
    else:
        lo_v, hi_v = np.percentile(np.concatenate([z for z, _ in shown]), [1, 99])
    if data.dim == 1:
        fig, ax = plt.subplots(figsize=(7, 4))
        for (z, label), style in zip(shown, ("-", "--")):
            ax.plot(grid[:, 0], z, style, label=label)
        if "d_real" in objective.equilibrium:
            ax.axhline(objective.equilibrium["d_real"], color="k", lw=0.8, ls=":")
        pad = 0.02 * (hi_v - lo_v)
        ax.set_ylim(lo_v - pad, hi_v + pad)
        ax.set_xlabel("x")
        ax.legend()
    else:
        fig, axes = plt.subplots(1, len(shown), figsize=(5 * len(shown), 4.4), squeeze=False)
        for a, (z, title) in zip(axes[0], shown):
            im = a.pcolormesh(gx, gy, z.reshape(gx.shape), vmin=lo_v, vmax=hi_v, cmap="RdBu_r", shading="auto")
            a.scatter(c[:, 0], c[:, 1], s=8, color="k", marker="x")
            a.set_title(title)
            a.set_aspect("equal")
        fig.colorbar(im, ax=axes, shrink=0.8)
        return _png(lambda buf: (fig.savefig(buf, dpi=90), plt.close(fig)))
    return _fig_png(fig)


def samples_figures(run_dir: Path) -> list[tuple[str, str]]:
    """(caption, data URI) for the samples through training (by class in a conditional run)."""
    snaps = plots.load_snapshots(run_dir)
    if not snaps:
        return []
    cfg = load_run_config(run_dir)
    conditional = cfg.condition != "none"
    if snaps[0][1].ndim == 4:
        by_row = conditional and len(snaps[0][1]) == len(cfg.class_names) ** 2  # see train.save_snapshot
        names = f" (one row per class: {', '.join(cfg.class_names)})" if by_row else ""
        return [(f"step {step}{names}", _data_uri(plots.image_grid_png(x))) for step, x in snaps]
    from .data import load_dataset

    data = load_dataset(cfg)
    draw = plots.plot_samples_2d if data.dim == 2 else plots.plot_samples_1d
    caption = "samples over the data density" + (" (coloured by their class)" if conditional else "")
    return [(caption, _png(lambda buf: draw(snaps, data, buf, conditional)))]


def overlay_figure(runs: list[tuple[str, list[dict], object]]) -> str:
    """Every run's V̂ (L_D for the games without a value) and mean D(G(z)), each in its game's units;
    the 2014 game's -log 4 and 1/2 are drawn when every run plays it. ``runs``: (name, records, game)."""
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for name, records, game in runs:
        key = "value" if "value" in game.statistics_names else "d_loss"
        ax[0].plot(*plots._series(records, key), label=name if key == "value" else f"{name} ($L_D$)")
        ax[1].plot(*plots._series(records, "d_fake"), label=name)
    if all(game.name == "minimax" for _, _, game in runs):
        ax[0].axhline(OPTIMAL_VALUE, color="k", ls="--", lw=1, label="$-\\log 4$")
        ax[1].axhline(EQUILIBRIUM_D, color="k", ls="--", lw=1, label="1/2")
    ax[0].set_title("$\\hat V$ of each run's game")
    ax[1].set_title("mean $D(G(z))$")
    for a in ax:
        a.set_xlabel("iteration")
        a.legend(fontsize=8)
    return _fig_png(fig)


def _optimum(game) -> str:
    """The statistics' values at the optimum, in words."""
    return ", ".join(f"{SYMBOLS.get(k, k)} = {v:.4g}" for k, v in game.equilibrium.items())


def _table(d: dict) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in d.items())
    return f"<table>{rows}</table>"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return ",".join(map(str, v))
    return str(v)


def _img(uri: str, alt: str) -> str:
    return f'<figure><img src="{uri}" alt="{html.escape(alt)}"><figcaption>{html.escape(alt)}</figcaption></figure>'


def _read_json(path: Path) -> dict:
    """A JSON object written by minimax, or a one-line error naming the file."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise MinimaxError(f"cannot read {path}: {type(e).__name__}"[:300]) from None
    if not isinstance(d, dict):
        raise MinimaxError(f"{path} is not a JSON object")
    return d


def run_section(run_dir: Path) -> tuple[str, list[dict], object]:
    records = game_records(run_dir)
    cfg = load_run_config(run_dir)
    game = make_objective(cfg)
    config = cfg.to_dict()
    summary_path = run_dir / SUMMARY
    summary = _read_json(summary_path) if summary_path.exists() else {"status": "not finished"}
    parzen = run_dir / PARZEN
    if parzen.exists():
        p = _read_json(parzen)
        summary["parzen_ll"] = f"{p['parzen_ll']:.1f} ± {p['parzen_se']:.1f} nats (σ = {p['sigma']:.3f})"
    if (run_dir / FID).exists():
        summary["fid (classifier features)"] = f"{_read_json(run_dir / FID)['fid']:.2f}"
    if (run_dir / CONDITIONAL).exists():
        c = _read_json(run_dir / CONDITIONAL)
        summary["conditional accuracy"] = (f"{c['accuracy_mean']:.4f} (the classifier on real test images: "
                                           f"{c['classifier_test_accuracy']:.4f})")
        summary["intra-class fid"] = f"{c['intra_fid_mean']:.2f}"
    parts = [f"<h2>{html.escape(str(run_dir))}</h2>",
             f'<p class="math">game {html.escape(game.name)}: {html.escape(game.formula)}; at p<sub>g</sub> = '
             f'p<sub>data</sub>: {html.escape(_optimum(game))}</p>', '<div class="row">',
             f"<div><h3>summary</h3>{_table(summary)}</div>", f"<div><h3>config</h3>{_table(config)}</div></div>"]
    figs = [("losses and the value of the game (dashed: at the optimum)",
             _png(lambda b: plots.plot_losses(records, b, game))),
            ("mean D(x) and D(G(z)) (dashed: at the optimum)",
             _png(lambda b: plots.plot_discriminator(records, b, game))),
            ("generator-gradient norm", _png(lambda b: plots.plot_gradients(records, b, game)))]
    if game.name == "minimax":
        figs.append(("the saturation picture: both generator losses and their gradients against D(G(z))",
                     saturation_figure([r["d_fake"] for r in records if r.get("d_fake") is not None])))
    d_fig = discriminator_figure(run_dir)
    if d_fig:
        figs.append(("trained D beside the optimal D*", d_fig))
    figs += samples_figures(run_dir)
    parts += [_img(uri, alt) for alt, uri in figs]
    return "\n".join(parts), records, game


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
h1{margin-bottom:0}.math{color:#555}figure{display:inline-block;margin:.5em;vertical-align:top}
img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.85em;color:#555}
table{border-collapse:collapse;font-size:.85em;margin:.5em 1em .5em 0}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:left}.row{display:flex;flex-wrap:wrap;align-items:flex-start}
section{border-top:2px solid #eee;margin-top:2em}"""


def write_report(run_dirs: list[str | Path], out: str | Path | None = None) -> Path:
    """Write one self-contained HTML report for ``run_dirs``; returns its path."""
    dirs = [Path(d) for d in run_dirs]
    for d in dirs:
        if not (d / CONFIG).is_file():
            raise MinimaxError(f"{d} is not a minimax run directory (no {CONFIG})")
    out = Path(out) if out else dirs[0] / REPORT
    if not out.parent.is_dir():
        raise MinimaxError(f"cannot write {out}: folder {out.parent} does not exist")
    sections, runs = [], []
    for d in dirs:
        body, records, game = run_section(d)
        sections.append(f"<section>{body}</section>")
        runs.append((d.name, records, game))
    overlay = _img(overlay_figure(runs), "all runs: value of the game and D(G(z))") if len(runs) > 1 else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>minimax report</title><style>{CSS}</style></head>
<body><h1>minimax report</h1>
<p class="math">Each run shows its game's value function and the values its statistics take at the optimum
p<sub>g</sub> = p<sub>data</sub> (for the 2014 game min<sub>G</sub> max<sub>D</sub> V(D,G) =
E<sub>x~p<sub>data</sub></sub>[log D(x)] + E<sub>z~p<sub>z</sub></sub>[log(1 − D(G(z)))]: D* = 1/2 and
V = −log 4 ≈ −1.386).</p>
{overlay}
{''.join(sections)}
</body></html>"""
    atomic_write_bytes(out, page.encode("utf-8"))
    return out
