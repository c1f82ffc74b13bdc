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

import hashlib
import html
import json
import string
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from .. import registry  # noqa: E402
from ..catalogue import STATISTICS  # noqa: E402
from ..data import load_dataset  # noqa: E402
from ..errors import MinimaxError  # noqa: E402
from ..files import atomic_write_bytes, read_text  # noqa: E402
from ..games import make_objective  # noqa: E402
from ..run.datacard import read_data_card  # noqa: E402
from ..run.monitor import WINDOW, HealthMonitor  # noqa: E402
from ..run.rundir import (  # noqa: E402
    CONFIG,
    METRICS,
    REPORT,
    SUMMARY,
    load_run_config,
    output_file,
)
from ..run.runlog import game_records  # noqa: E402
from ..run.snapshots import load_fields  # noqa: E402
from . import plots  # noqa: E402
from .figures import (  # noqa: E402
    compact_png,
    data_uri,
    discriminator_figure,
    overlay_figure,
    png_uri,
    saturation_figure,
)
from .grids import image_grid_png  # noqa: E402
from .replay import replay_html  # noqa: E402

REPLAY_FRAMES = 16  # at most: a report stays near 1 MB however many snapshots the run took


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
        figs = [(f"samples at step {step}{names}", data_uri(image_grid_png(x)))]
        card = read_data_card(run_dir)
        if card is not None and len(card.real):
            real = card.real.float().div(255).numpy()
            figs.append((f"{len(real)} real training images, drawn at random (kept in the run's data card)",
                         data_uri(image_grid_png(real))))
        return figs
    data = load_dataset(cfg)
    draw = plots.plot_samples_2d if data.dim == 2 else plots.plot_samples_1d
    caption = "samples over the data density" + (" (coloured by their class)" if conditional else "")
    return [(caption, png_uri(lambda buf: draw(snaps, data, buf, conditional)))]


def _optimum(objective) -> str:
    """The statistics' values at the optimum, in words."""
    return ", ".join(f"{objective.symbols.get(k, k)} = {v:.4g}" for k, v in objective.equilibrium.items())


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
        d = json.loads(read_text(path))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:  # (deep nesting: RecursionError)
        raise MinimaxError(f"cannot read {path}: {type(e).__name__}"[:300]) from None
    if not isinstance(d, dict):
        raise MinimaxError(f"{path} is not a JSON object")
    return d


def _numbers(record: dict, path: Path, *keys: str) -> list[float] | str:
    """The record's values of ``keys`` as numbers, or what the report shows instead: "not finite" for a value
    minimax wrote as null (see :func:`minimax.files.strict_json`), else that the record is unreadable."""
    out = []
    for key in keys:
        v = record.get(key)
        if v is None and key in record and key in (record.get("non_finite") or []):
            return "not finite"
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return f"unreadable ({path.name} has no number {key!r})"
        out.append(float(v))
    return out


def evaluation_rows(metric, record: dict, path: Path) -> dict[str, str]:
    """{label: text} of a metric's report rows (:attr:`minimax.registry.Metric.report`) filled from its record;
    a row whose numbers are missing or not finite says so instead."""
    protocol = record.get("protocol") if isinstance(record.get("protocol"), dict) else {}
    rows = {}
    for label, form in metric.report:
        keys = [f for _, f, _, _ in string.Formatter().parse(form) if f and not f.startswith("p[")]
        v = _numbers(record, path, *keys)
        rows[label] = v if isinstance(v, str) else form.format(**dict(zip(keys, v)), p=_Protocol(protocol))
    return rows


class _Protocol(dict):
    """A protocol record for str.format: a field it lacks reads as '?'."""

    def __missing__(self, key):
        return "?"


def _summary(run_dir: Path) -> dict:
    """summary.json, with the scores ``minimax eval`` wrote beside it (a record edited or cut short is shown as
    unreadable, not drawn)."""
    summary = _read_json(run_dir / SUMMARY) if (run_dir / SUMMARY).exists() else {"status": "not finished"}
    gone = summary.pop("non_finite", None)
    for key, was in (gone.items() if isinstance(gone, dict) else ()):
        if summary.get(key) is None:
            summary[key] = str(was)  # written as null (strict JSON); shown as what it was: inf, nan
    for metric in registry.metrics().values():  # the scores `minimax eval` wrote: each metric's report rows
        if (run_dir / metric.file).exists():
            summary.update(evaluation_rows(metric, _read_json(run_dir / metric.file), run_dir / metric.file))
    return summary


VERDICT_KEYS = {"modes": "modes covered", "high_quality": "high-quality samples", "reverse_kl": "reverse KL (nats)",
                "class_quality_min": "worst class at its own mode",
                **{label: label for metric in registry.metrics().values() for label, _ in metric.report}}


def verdict(records: list[dict], objective, g_loss: str, summary: dict, k: int = 1, steps: int | None = None) -> str:
    """What a reader asks first: did the game go well? The health monitor's findings over the run's log, and
    the last statistics beside their value at the game's optimum, and the quality measured."""
    monitor = HealthMonitor(objective, g_loss, k, steps)
    events = monitor.replay(records)
    reported = [f for f in events if not f.cleared]
    if reported:
        until = {}  # each finding: the step its condition next cleared, or that it held to the end
        for f in reported:
            c = next((c.step for c in events if c.cleared and c.condition == f.condition and c.step > f.step), None)
            until[id(f)] = f", cleared at step {c}" if c is not None else ", still held at the end"
        items = "".join(f"<li><b>{html.escape(f.condition)}</b> (step {f.step}{until[id(f)]}"
                        + f"): {html.escape(f.measured)}. {html.escape(f.explanation)} <i>Try:</i> "
                        f"{html.escape(f.remedy)}</li>" for f in reported)
        still = sorted(monitor.active)
        head = (f"The health monitor found {len(reported)} condition(s); at the end: "
                + (", ".join(still) if still else "all cleared"))
        health = f'<p class="{"bad" if still else "note"}">{html.escape(head)}</p><ul>{items}</ul>'
    elif len(records) < WINDOW:
        health = (f'<p class="note">The health monitor could not judge this run: it reports a condition that holds '
                  f"for {WINDOW} records in a row, and the log has {len(records)} (log more often with --log-every, "
                  "or train longer).</p>")
    else:
        health = '<p class="good">The health monitor found nothing wrong (no saturation, no discriminator winning ' \
                 "outright, no collapse, no samples off the data, no growing oscillation).</p>"
    rows = []
    last = records[-1] if records else {}
    for key in ("value", "d_loss", "d_real", "d_fake", "diversity"):
        if last.get(key) is None or (key == "d_loss" and "value" in last):
            continue
        opt = objective.equilibrium.get(key, 1.0 if key == "diversity" else None)
        rows.append((objective.symbols.get(key, STATISTICS[key][0]),
                     f"{last[key]:.4g}", "" if opt is None else f"{opt:.4g}"))
    for key, label in VERDICT_KEYS.items():
        v = summary.get(key)
        if v is not None:
            if key == "modes":
                v = f"{v}/{summary.get('n_modes', '?')}"
            elif key in ("high_quality", "class_quality_min") and isinstance(v, (int, float)):
                v = f"{v:.1%}"
            rows.append((label, _fmt(v), "all" if key == "modes" else ""))
    table = "".join(f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>"
                    for a, b, c in rows)
    step = f" at step {last['step']}" if last else ""
    return (f"<h3>verdict</h3>{health}<table><tr><th>statistic{step}</th><th>this run</th><th>at the optimum</th>"
            f"</tr>{table}</table>")


SHOWN_ELSEWHERE = {"step", "run_dir", "processes", "status", "n_modes"}


def summary_words(summary: dict, objective) -> str:
    """summary.json in words: where the run ended and its last statistics by name (not its raw keys); any number
    the verdict above does not already show, in a table with readable names."""
    if summary.get("status") == "not finished":
        return "<p>The run has not finished: it has no summary.json yet.</p>"
    finals = [(k.removeprefix("final_"), v) for k, v in summary.items() if k.startswith("final_")]
    stats = ", ".join(f"{_symbol(objective, k)} = {_fmt(v)}" for k, v in finals)
    procs = summary.get("processes")
    where = f"It ended at step {summary.get('step', '?')}" + (f" ({procs} processes)" if isinstance(procs, int)
                                                              and procs > 1 else "")
    text = f"<p>{html.escape(where)}{html.escape('; its last statistics: ' + stats) if stats else ''}.</p>"
    rest = {k: v for k, v in summary.items()
            if k not in VERDICT_KEYS and k not in SHOWN_ELSEWHERE and not k.startswith("final_")}
    if rest:
        text += _table({_symbol(objective, k): v for k, v in rest.items()})
    return text


def _symbol(objective, key: str) -> str:
    """A statistic's name as the game writes it (V̂, mean D(x)), else its key in words."""
    return objective.symbols.get(key) or key.replace("_", " ")


def replay_frames(run_dir: Path, records: list[dict], objective, cfg) -> list[tuple[int, str]]:
    """(step, data URI) of each snapshot's frame of the replay."""
    snaps = plots.load_snapshots(run_dir)
    if not snaps:
        return []
    data, fields = None, {}
    if snaps[0][1].ndim == 2:
        data, fields = load_dataset(cfg), load_fields(run_dir)
    keep = sorted({round(i * (len(snaps) - 1) / (REPLAY_FRAMES - 1)) for i in range(REPLAY_FRAMES)}) \
        if len(snaps) > REPLAY_FRAMES else range(len(snaps))  # evenly spaced, the first and the last kept
    g_loss, layout = cfg.game_options.get("g_loss"), {}
    return [(step, data_uri(compact_png(plots.replay_frame(step, x, fields.get(step), records, data, objective,
                                                           cfg.condition != "none", g_loss, layout))))
            for step, x in (snaps[i] for i in keep)]


def figure1_png(run_dir: Path, cfg, objective) -> str | None:
    """Figure 1 drawn from a 1-D run's snapshots and fields (also when the run skipped its plots)."""
    snaps = plots.load_snapshots(run_dir)
    if not snaps or snaps[0][1].ndim != 2 or snaps[0][1].shape[1] != 1:
        return None
    fields = load_fields(run_dir)
    if not fields:
        return None
    data = load_dataset(cfg)
    return png_uri(lambda buf: plots.plot_figure1(snaps, fields, data, objective, buf))


def run_section(run_dir: Path, index: int = 0) -> tuple[str, list[dict], object]:
    """One run, in the order a reader asks: the verdict, the replay (and Figure 1), the curves, then the
    summary and the config (folded)."""
    skipped: list[int] = []
    records = game_records(run_dir, skipped)
    cfg = load_run_config(run_dir)
    objective = make_objective(cfg.game, **cfg.game_options)
    summary = _summary(run_dir)
    parts = [f"<h2>{html.escape(str(run_dir))}</h2>",
             f'<p class="math">game {html.escape(objective.name)}: {html.escape(objective.formula)}; at '
             f'p<sub>g</sub> = p<sub>data</sub>: {html.escape(_optimum(objective))}</p>',
             verdict(records, objective, cfg.g_loss, summary, cfg.k, cfg.steps)]
    if skipped:
        lines = ", ".join(map(str, skipped[:10])) + (", ..." if len(skipped) > 10 else "")
        parts.append(f'<p class="bad">{len(skipped)} line(s) of {METRICS} are not records minimax writes and were '
                     f"skipped (line {lines}).</p>")
    parts += [
             "<h3>replay</h3>", replay_html(replay_frames(run_dir, records, objective, cfg), str(index))]
    figs = []
    figure1 = figure1_png(run_dir, cfg, objective)
    if figure1:
        figs.append(("Figure 1 of Goodfellow et al. (2014) from this run: p_data (black, dotted), p_g (green), "
                     "D (blue, dashed), D* (grey), and the map x = G(z) (lines from z to x)", figure1))
    figs += [("losses and the value of the game (dashed: at the optimum)",
              png_uri(lambda b: plots.plot_losses(records, b, objective))),
             ("mean D(x) and D(G(z)) (dashed: at the optimum)",
              png_uri(lambda b: plots.plot_discriminator(records, b, objective))),
             ("generator-gradient norm", png_uri(lambda b: plots.plot_gradients(records, b, objective)))]
    if objective.saturation_picture:
        figs.append(("the saturation picture: both generator losses and their gradients against D(G(z))",
                     saturation_figure([r["d_fake"] for r in records if r.get("d_fake") is not None])))
    d_fig = discriminator_figure(run_dir, cfg, objective)
    if d_fig:
        figs.append((f"trained D beside the optimal D* at step {d_fig[1]} (the last snapshot), on the log-odds "
                     "scale where the game has one", d_fig[0]))
    figs += samples_figures(run_dir)
    parts += ["<h3>curves</h3>"] + [_img(uri, alt) for alt, uri in figs]
    parts += [f"<h3>summary</h3>{summary_words(summary, objective)}",
              f"<details><summary>config ({len(cfg.to_dict())} settings)</summary>{_table(cfg.to_dict())}</details>"]
    return "\n".join(parts), records, objective


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
h1{margin-bottom:0}.math{color:#555}figure{display:inline-block;margin:.5em;vertical-align:top}
img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.85em;color:#555}
table{border-collapse:collapse;font-size:.85em;margin:.5em 1em .5em 0}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:left}.row{display:flex;flex-wrap:wrap;align-items:flex-start}
section{border-top:2px solid #eee;margin-top:2em}.good{color:#1a7f37}.bad{color:#b42318}.note{color:#9a6700}
.replay img{display:block;max-width:100%;border:1px solid #ddd}.replay input{width:60%;vertical-align:middle}
details{margin:1em 0}summary{cursor:pointer;color:#555}"""


def comparison_name(dirs: list[Path]) -> str:
    """The default file of a report of several runs: report-<run>+<run>+....html (long lists cut, with a
    digest of the whole list so that two lists never share a name)."""
    names = "+".join(d.absolute().name for d in dirs)
    if len(names) > 80:
        names = names[:60] + f"+{len(dirs)}runs-" + hashlib.sha256(names.encode()).hexdigest()[:8]
    return f"report-{names}.html"


def write_report(run_dirs: list[str | Path], out: str | Path | None = None) -> Path:
    """Write one self-contained HTML report for ``run_dirs``; returns its path."""
    dirs = [Path(d) for d in run_dirs]
    for d in dirs:
        if not (d / CONFIG).is_file():
            raise MinimaxError(f"{d} is not a minimax run directory (no {CONFIG})")
    # a new file or a regular one; inside a run directory only a new name or a report (*.html). Several runs: a
    # report of their own beside the first, never over the first run's report.html
    if out is None:
        out = dirs[0] / REPORT if len(dirs) == 1 else dirs[0].absolute().parent / comparison_name(dirs)
    out = output_file(out, "--out", lambda name: name.endswith(".html"))
    sections, runs = [], []
    for d in dirs:
        body, records, objective = run_section(d, len(runs))
        sections.append(f"<section>{body}</section>")
        runs.append((d.name, records, objective))
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
