r"""``minimax report RUN_DIR [RUN_DIR ...]``: one self-contained HTML page per set of runs.

Every plot is a PNG embedded as base64 and the replay's player is an inline script, so the page needs no
network and no other file. For each run, in the order a reader asks:

* **the verdict**: the health monitor's findings over the run's log (:mod:`minimax.run.monitor`), and the last
  V̂, D(x), D(G(z)) and sample diversity beside their values at the game's optimum, with the quality measured
  (modes, high-quality fraction, FID, conditional accuracy, Parzen log-likelihood where evaluated);
* **the replay**: a slider and a play button through the snapshots (:mod:`minimax.viz.replay`): the samples
  over the data density with D's decision surface (2-D), Figure 1's panel (1-D), the sample grid from
  fixed noise (images), beside V̂ and D(G(z)) with a marker at the frame's step;
* **the curves**: Figure 1 of Goodfellow et al. (2014) from the run (1-D data); L_D, L_G, total loss,
  penalties, V̂ with its value at the optimum (-log 4 for the 2014 game); mean D(x), D(G(z)) with theirs
  (1/2); the generator-gradient norms; for the 2014 game the saturation picture of §3 (both generator
  losses and |∂L/∂l| against D(G(z)), with the run's D(G(z)) marked); for 1-D and 2-D data the trained D
  beside the game's optimal D* (on the log-odds scale, with their difference, for the 2014 game on 2-D
  data), p_g estimated by a Gaussian kernel density of generated samples; the samples;
* the summary metrics, and the run's config folded away.

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

from ..data import KnownDensity, load_dataset  # noqa: E402
from ..data.density import kernel_density  # noqa: E402
from ..errors import MinimaxError  # noqa: E402
from ..files import atomic_write_bytes  # noqa: E402
from ..games import SYMBOLS, make_objective  # noqa: E402
from ..games.theory import EQUILIBRIUM_D, OPTIMAL_VALUE  # noqa: E402
from ..run.monitor import HealthMonitor  # noqa: E402
from ..run.rundir import CONDITIONAL, CONFIG, FID, PARZEN, REPORT, SUMMARY, load_run_config  # noqa: E402
from ..run.runlog import game_records  # noqa: E402
from ..run.snapshots import load_fields  # noqa: E402
from . import plots  # noqa: E402
from .replay import replay_html  # noqa: E402


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


def discriminator_figure(run_dir: Path, cfg, objective) -> tuple[str, int] | None:
    """(data URI, step): the trained D beside D* = p_data/(p_data + p̂_g) at the run's last snapshot, for 1-D and
    2-D data: D as the snapshot recorded it on its grid (:mod:`minimax.run.snapshots`), p_g estimated by a
    Gaussian kernel density of the snapshot's samples (class 0's in the conditional game)."""
    fields, snaps = load_fields(run_dir), dict(plots.load_snapshots(run_dir))
    step = max((s for s in fields if s in snaps), default=None)
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
    star = getattr(objective, "optimal_discriminator", None)  # wgan-gp's critic has no pointwise closed form
    d_star = star(log_pd, log_pg).numpy() if star else None
    star_label = ("$D^*(x) = p_{data}/(p_{data} + \\hat p_g)$" if objective.name == "minimax"
                  else f"{objective.name}'s $D^*$ with $\\hat p_g$")
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
        fig, ax = plt.subplots(figsize=(7, 4))
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
        fig, axes = plt.subplots(1, len(shown), figsize=(5 * len(shown), 4.4), squeeze=False)
        for a, (z, title) in zip(axes[0], shown):
            im = a.pcolormesh(gx, gy, z.reshape(gx.shape), vmin=lo_v, vmax=hi_v, cmap="RdBu_r", shading="auto")
            a.scatter(c[:, 0], c[:, 1], s=8, color="k", marker="x")
            a.set_title(title)
            a.set_aspect("equal")
        fig.colorbar(im, ax=axes, shrink=0.8)
        return _png(lambda buf: (fig.savefig(buf, dpi=90), plt.close(fig))), step
    return _fig_png(fig), step


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
        step, x = snaps[-1]  # the earlier grids are the replay's frames
        return [(f"samples at step {step}{names}", _data_uri(plots.image_grid_png(x)))]
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


def _summary(run_dir: Path) -> dict:
    """summary.json, with the scores ``minimax eval`` wrote beside it."""
    summary = _read_json(run_dir / SUMMARY) if (run_dir / SUMMARY).exists() else {"status": "not finished"}
    if (run_dir / PARZEN).exists():
        p = _read_json(run_dir / PARZEN)
        summary["parzen_ll"] = f"{p['parzen_ll']:.1f} ± {p['parzen_se']:.1f} nats (σ = {p['sigma']:.3f})"
    if (run_dir / FID).exists():
        summary["fid (classifier features)"] = f"{_read_json(run_dir / FID)['fid']:.2f}"
    if (run_dir / CONDITIONAL).exists():
        c = _read_json(run_dir / CONDITIONAL)
        summary["conditional accuracy"] = (f"{c['accuracy_mean']:.4f} (the classifier on real test images: "
                                           f"{c['classifier_test_accuracy']:.4f})")
        summary["intra-class fid"] = f"{c['intra_fid_mean']:.2f}"
    return summary


VERDICT_KEYS = {"modes": "modes covered", "high_quality": "high-quality samples", "reverse_kl": "reverse KL (nats)",
                "class_quality_min": "worst class at its own mode", "fid (classifier features)": "FID",
                "conditional accuracy": "conditional accuracy", "parzen_ll": "Parzen log-likelihood"}


def verdict(records: list[dict], game, g_loss: str, summary: dict) -> str:
    """What a reader asks first: did the game go well? The health monitor's findings over the run's log, and
    the last statistics beside their value at the game's optimum, and the quality measured."""
    findings = HealthMonitor(game, g_loss).replay(records)
    if findings:
        items = "".join(f"<li><b>{html.escape(f.condition)}</b> (step {f.step}): {html.escape(f.measured)}. "
                        f"{html.escape(f.explanation)} <i>Try:</i> {html.escape(f.remedy)}</li>" for f in findings)
        health = f'<p class="bad">The health monitor found {len(findings)} condition(s):</p><ul>{items}</ul>'
    else:
        health = '<p class="good">The health monitor found nothing wrong (no saturation, no discriminator winning ' \
                 "outright, no collapse, no growing oscillation).</p>"
    rows = []
    last = records[-1] if records else {}
    for key in ("value", "d_loss", "d_real", "d_fake", "diversity"):
        if last.get(key) is None or (key == "d_loss" and "value" in last):
            continue
        opt = game.equilibrium.get(key, 1.0 if key == "diversity" else None)
        rows.append((SYMBOLS.get(key, "diversity of G's samples / the data's" if key == "diversity" else key),
                     f"{last[key]:.4g}", "" if opt is None else f"{opt:.4g}"))
    for key, label in VERDICT_KEYS.items():
        v = summary.get(key)
        if v is not None:
            v = f"{v}/{summary['n_modes']}" if key == "modes" else (f"{v:.1%}" if key in ("high_quality",
                                                                                        "class_quality_min") else v)
            rows.append((label, _fmt(v), "all" if key == "modes" else ""))
    table = "".join(f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>"
                    for a, b, c in rows)
    step = f" at step {last['step']}" if last else ""
    return (f"<h3>verdict</h3>{health}<table><tr><th>statistic{step}</th><th>this run</th><th>at the optimum</th>"
            f"</tr>{table}</table>")


def replay_frames(run_dir: Path, records: list[dict], game, cfg) -> list[tuple[int, str]]:
    """(step, data URI) of each snapshot's frame of the replay."""
    snaps = plots.load_snapshots(run_dir)
    if not snaps:
        return []
    data, fields = None, {}
    if snaps[0][1].ndim == 2:
        data, fields = load_dataset(cfg), load_fields(run_dir)
    return [(step, _data_uri(plots.replay_frame(step, x, fields.get(step), records, data, game,
                                                 cfg.condition != "none"))) for step, x in snaps]


def figure1_png(run_dir: Path, cfg, game) -> str | None:
    """Figure 1 drawn from a 1-D run's snapshots and fields (also when the run skipped its plots)."""
    snaps = plots.load_snapshots(run_dir)
    if not snaps or snaps[0][1].ndim != 2 or snaps[0][1].shape[1] != 1:
        return None
    fields = load_fields(run_dir)
    if not fields:
        return None
    data = load_dataset(cfg)
    return _png(lambda buf: plots.plot_figure1(snaps, fields, data, game, buf))


def run_section(run_dir: Path, index: int = 0) -> tuple[str, list[dict], object]:
    """One run, in the order a reader asks: the verdict, the replay (and Figure 1), the curves, then the
    summary and the config (folded)."""
    records = game_records(run_dir)
    cfg = load_run_config(run_dir)
    game = make_objective(cfg)
    summary = _summary(run_dir)
    parts = [f"<h2>{html.escape(str(run_dir))}</h2>",
             f'<p class="math">game {html.escape(game.name)}: {html.escape(game.formula)}; at p<sub>g</sub> = '
             f'p<sub>data</sub>: {html.escape(_optimum(game))}</p>',
             verdict(records, game, cfg.g_loss, summary),
             "<h3>replay</h3>", replay_html(replay_frames(run_dir, records, game, cfg), str(index))]
    figs = []
    figure1 = figure1_png(run_dir, cfg, game)
    if figure1:
        figs.append(("Figure 1 of Goodfellow et al. (2014) from this run: p_data (black, dotted), p_g (green), "
                     "D (blue, dashed), D* (grey), and the map x = G(z) (lines from z to x)", figure1))
    figs += [("losses and the value of the game (dashed: at the optimum)",
              _png(lambda b: plots.plot_losses(records, b, game))),
             ("mean D(x) and D(G(z)) (dashed: at the optimum)",
              _png(lambda b: plots.plot_discriminator(records, b, game))),
             ("generator-gradient norm", _png(lambda b: plots.plot_gradients(records, b, game)))]
    if game.name == "minimax":
        figs.append(("the saturation picture: both generator losses and their gradients against D(G(z))",
                     saturation_figure([r["d_fake"] for r in records if r.get("d_fake") is not None])))
    d_fig = discriminator_figure(run_dir, cfg, game)
    if d_fig:
        figs.append((f"trained D beside the optimal D* at step {d_fig[1]} (the last snapshot), on the log-odds "
                     "scale where the game has one", d_fig[0]))
    figs += samples_figures(run_dir)
    parts += ["<h3>curves</h3>"] + [_img(uri, alt) for alt, uri in figs]
    parts += [f"<h3>summary</h3>{_table(summary)}",
              f"<details><summary>config ({len(cfg.to_dict())} settings)</summary>{_table(cfg.to_dict())}</details>"]
    return "\n".join(parts), records, game


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
h1{margin-bottom:0}.math{color:#555}figure{display:inline-block;margin:.5em;vertical-align:top}
img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.85em;color:#555}
table{border-collapse:collapse;font-size:.85em;margin:.5em 1em .5em 0}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:left}.row{display:flex;flex-wrap:wrap;align-items:flex-start}
section{border-top:2px solid #eee;margin-top:2em}.good{color:#1a7f37}.bad{color:#b42318}
.replay img{display:block;max-width:100%;border:1px solid #ddd}.replay input{width:60%;vertical-align:middle}
details{margin:1em 0}summary{cursor:pointer;color:#555}"""


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
        body, records, game = run_section(d, len(runs))
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
