"""Scoring trained runs, each score with its protocol written down: from Python and from ``minimax eval``.

    scores = minimax.evaluate("runs/t1", "fid", data_dir="data/mnist", n=10_000)
    scores["fid"], scores["protocol"]["n_samples"]

Metrics (each one's entry — help, datasets, headline, report rows, options, runner — in
its declaration, ``COMPONENTS`` in its runner's module — one module here, ``evaluation/<name>.py``, on what
:mod:`.job` provides; its estimator in :mod:`minimax.metrics`):

    parzen       Parzen-window log-likelihood of the test set (Table 1 of the 2014 paper)
    fid          Fréchet distance of features to the test set (the classifier's, or features="inception")
    kid          Kernel Inception Distance: unbiased MMD², cubic kernel, mean ± std over subsets
    pr           precision, recall (k-NN manifolds, k = 3), density and coverage
    is           Inception Score, mean ± std over splits (Inception features only)
    modes        Stacked MNIST: modes covered of 1,000 and KL to uniform (every_checkpoint: the curve)
    conditional  a conditional run's per-class accuracy and intra-class FID

Each evaluation of a run writes ``RUN_DIR/<metric>.json`` (only when it succeeds; a failed one leaves the old
file): the scores and a ``protocol`` record with what a reader needs to compare them — the metric, N samples
and the noise seed, the reference split and its size, the feature network and its digest, the minimax version.
"""
from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import torch

from .. import registry
from ..config import noise_seed
from ..data.images import image_files
from ..errors import MinimaxError
from ..files import (
    atomic_write_bytes,
    json_record,
    open_append,
    own_file,
    read_bytes,
    read_text,
    strict_json,
    writable_file,
)
from ..run.rundir import load_run_config
from .job import PROTOCOL_FIELDS, Runner, default_n, generator_weights, sample_count
from .options import EvalOptions

METRICS: dict[str, registry.Metric] = registry.metrics()  # each declared in its runner's module (COMPONENTS)
RUNNERS = {name: importlib.import_module(m.module) for name, m in METRICS.items()}  # each metric's module
EVALUATORS: dict[str, Runner] = {name: module.run for name, module in RUNNERS.items()}
SCORE_FIELDS: dict[str, dict[str, str]] = {name: module.SCORES for name, module in RUNNERS.items()}

FEATURE_METRICS = tuple(name for name, m in METRICS.items() if m.features)  # fid, kid, pr, is
REFERENCE_METRICS = tuple(name for name, m in METRICS.items() if m.reference)  # fid, kid, pr


def evaluate(run: str | Path | None, metric: str, *, write: bool = True, force: bool = False, **options) -> dict:
    """Score one run (a run directory; None with ``real=True``) with ``metric``; returns the scores and their
    ``protocol`` record, as ``minimax eval METRIC RUN`` prints and writes them (RUN_DIR/<metric>.json unless
    ``write=False``; a record of another protocol is replaced only with ``force``, into the history).
    ``options`` are :class:`EvalOptions`' fields (``data_dir``, ``n``, ``seed``, ...)."""
    if metric not in METRICS:
        raise MinimaxError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    opts = EvalOptions.build(metric, **options)
    return evaluate_runs([run] if run is not None else [], opts, write=write, force=force)[0][1]


def evaluate_runs(runs: list[str | Path], opts: EvalOptions, write: bool = True, force: bool = False
                  ) -> list[tuple[str, dict]]:
    """(label, result) for each run, each written to RUN_DIR/<metric>.json (with ``real``: one row of real
    images, no record). Every run's record is checked for replacement before any run is scored."""
    runs = list(runs) or [None]
    if opts.real and len(runs) > 1:
        raise MinimaxError("--real scores real images: give at most one run directory (for its dataset)")
    if opts.dataset is None:
        opts.dataset = METRICS[opts.metric].datasets[0]
    if opts.features is None:  # (a folder of images is compared in Inception's features)
        folders = opts.fake_dir is not None or opts.real_dir is not None
        opts.features = "inception" if folders and METRICS[opts.metric].features and not opts.classifier_data \
            else METRICS[opts.metric].default_features
    record = None
    if opts.fake_dir is not None:
        if runs != [None] or opts.real:
            raise MinimaxError("--fake-dir scores a folder's images: give no run directory and no --real")
        record = folder_record_path(opts)
    preflight(opts)
    writing = [run for run in runs if run is not None and not opts.real and write]
    for run in writing:
        check_replaceable(run, opts, force)
    rows = []
    for run in runs:
        result = EVALUATORS[opts.metric](opts, None if run is None else str(run))
        check_finite(opts.metric, result, run)
        if run in writing:
            write_record(run, opts.metric, result)
        if record is not None:
            atomic_write_bytes(record, json_record(result))
            opts.say(f"wrote the record to {record}")
        rows.append((str(run) if run is not None else "real", result))
    return rows


def _planned(opts: EvalOptions, run: str | Path) -> dict:
    """The parts of the protocol known before any work: what a record must share to be silently replaced."""
    return {"n_samples": sample_count(opts),
            "noise_seed": noise_seed(opts.seed), "features": opts.features,
            "generator_weights": generator_weights(load_run_config(run))}


def check_replaceable(run: str | Path, opts: EvalOptions, force: bool) -> None:
    """Refuse to replace RUN/<metric>.json made with another protocol (N, noise seed, features, generator
    weights, --real-dir), unless ``force``: a record is never silently lost. A record of the same protocol is
    replaced (a re-evaluation); every replaced record is appended to RUN/<metric>.history.jsonl first."""
    path = own_file(Path(run) / METRICS[opts.metric].file, run)  # a link or FIFO there: refused before any work
    own_file(history_path(run, opts.metric), run)
    if not path.is_file():
        return
    try:
        old = json.loads(read_text(path)).get("protocol") or {}
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, RecursionError):
        old = {}
    planned = _planned(opts, run)
    differ = [f"{k} {old[k]!r} there, {v!r} now" for k, v in planned.items() if k in old and old[k] != v]
    if opts.metric in REFERENCE_METRICS and isinstance(old.get("reference"), dict):
        was = None if old["reference"].get("split") else old["reference"].get("folder")  # None: the default set
        now = None if opts.real_dir is None else str(opts.real_dir)
        if was != now:
            differ.append(f"reference {was or 'the default set'!r} there, {now or 'the default set'!r} now")
    if differ and not force:
        raise MinimaxError(f"{path} holds an evaluation with another protocol ({'; '.join(differ)}); pass --force "
                           f"to replace it (the old record is kept in {history_path(run, opts.metric)})")


def folder_record_path(opts: EvalOptions) -> Path:
    """Where --fake-dir's record goes: --record, else ``<fake_dir>.<metric>.json`` beside the folder; a new file or
    an earlier minimax record (any other file there is refused, not replaced)."""
    given = opts.record if opts.record is not None else str(Path(opts.fake_dir).absolute()).rstrip("/") + \
        f".{opts.metric}.json"
    flag = "--record" if opts.record is not None else "the record"
    path = writable_file(given, flag)
    if path.exists():
        try:
            ours = "protocol" in json.loads(read_text(path))
        except (OSError, UnicodeDecodeError, ValueError, TypeError, RecursionError):
            ours = False
        if not ours:
            raise MinimaxError(f"{flag} {given} exists and is not a minimax evaluation record; give --record FILE")
    return path


def preflight(opts: EvalOptions) -> None:
    """Every refusal that needs only the options, before any run, data or network is loaded: --real-dir, the
    cache folder, then the metric's own (its module's ``check(opts, n)``: N against what it needs, KID's
    subsets, IS's splits). The runners rely on it (evaluate_runs calls it before any runner); what needs the
    data (KID's subset against the reference set) stays in the runner."""
    if opts.fake_dir is not None:
        check_folder_options(opts)
    n = len(image_files(Path(opts.fake_dir))) if opts.fake_dir is not None else sample_count(opts)
    if opts.real_dir is not None:
        if opts.metric not in REFERENCE_METRICS:
            raise MinimaxError(f"--real-dir is the reference set of {', '.join(REFERENCE_METRICS)}; eval {opts.metric} "
                               "has none")
        if opts.features != "inception" and not opts.classifier_data:
            raise MinimaxError("--real-dir needs --features inception, or --classifier-data DIR (MNIST's IDX files) "
                               "for the digit classifier's features on folders of 28x28 greyscale digits")
        folder = Path(opts.real_dir)
        if not str(opts.real_dir).strip() or not folder.is_dir():
            raise MinimaxError(f"--real-dir {opts.real_dir!r} is not a folder of images")
    if opts.classifier_data is not None:
        if opts.features != "classifier":
            raise MinimaxError("--classifier-data trains the digit classifier: it goes with --features classifier")
        if not str(opts.classifier_data).strip() or not Path(opts.classifier_data).is_dir():
            raise MinimaxError(f"--classifier-data {opts.classifier_data!r} is not a folder (MNIST's IDX files)")
    if opts.cache_dir is not None:
        cache = Path(opts.cache_dir)
        if cache.exists() and not cache.is_dir():
            raise MinimaxError(f"--cache-dir {cache} is not a folder")
    check = getattr(RUNNERS[opts.metric], "check", None)
    if check is not None:
        check(opts, n)


def check_folder_options(opts: EvalOptions) -> None:
    """--fake-dir: a folder of images, scored with Inception features against --real-dir (IS needs no reference);
    N is the folder's, so no --n."""
    if opts.metric not in FEATURE_METRICS:
        raise MinimaxError(f"--fake-dir scores images with {', '.join(FEATURE_METRICS)}; eval {opts.metric} "
                           "needs a run")
    if not str(opts.fake_dir).strip() or not Path(opts.fake_dir).is_dir():
        raise MinimaxError(f"--fake-dir {opts.fake_dir!r} is not a folder of images")
    if opts.features != "inception" and not opts.classifier_data:
        raise MinimaxError("--fake-dir needs --features inception, or --classifier-data DIR (MNIST's IDX files) for "
                           "the digit classifier's features on folders of 28x28 greyscale digits")
    if opts.metric in REFERENCE_METRICS and opts.real_dir is None:
        raise MinimaxError(f"eval {opts.metric} --fake-dir needs --real-dir, the folder of real images to compare with")
    if opts.n is not None:
        raise MinimaxError("--fake-dir scores every image in the folder: drop --n")


def check_finite(metric: str, result: dict, run) -> None:
    """Refuse a score that is not a finite number (samples or feature-network outputs that are not finite): no
    record is written and the command fails, instead of a NaN record that reads as a result."""
    bad = [k for k in METRICS[metric].headline
           if not (isinstance(result.get(k), (int, float)) and math.isfinite(result[k]))]
    if bad:
        raise MinimaxError(f"{'real images' if run is None else run}: {metric} {bad[0]} is {result.get(bad[0])}, not a "
                           "finite number: the samples or the feature network's outputs are not finite (check the "
                           "run and the weights file); no record written")


def history_path(run: str | Path, metric: str) -> Path:
    return Path(run) / f"{metric}.history.jsonl"


def write_record(run_dir: str | Path, metric: str, result: dict) -> None:
    """The result with its protocol record, as RUN_DIR/<metric>.json (atomically); the record it replaces is
    appended to RUN_DIR/<metric>.history.jsonl first."""
    path = own_file(Path(run_dir) / METRICS[metric].file, run_dir)  # (a link or FIFO there: refused before any write)
    own_file(history_path(run_dir, metric), run_dir)
    if path.is_file():
        raw = read_bytes(path)
        try:
            old = json.dumps(strict_json(json.loads(raw.decode("utf-8")))[0])
        except (UnicodeDecodeError, ValueError, RecursionError):
            old = json.dumps({"unreadable_record": raw[:10_000].decode(errors="replace")})
        if _last_line(history_path(run_dir, metric)) != old:  # (an evaluation killed after this append, before
            with open_append(history_path(run_dir, metric), run_dir) as history:  # the rename, made it already)
                history.write(old + "\n")
    atomic_write_bytes(path, json_record(result), inside=run_dir)


def _last_line(path: Path, tail: int = 1 << 20) -> str | None:
    """The last line of a text file (read from its last ``tail`` bytes), or None when there is none."""
    try:
        raw = read_bytes(path) if path.stat().st_size <= tail else _tail_bytes(path, tail)
    except (OSError, MinimaxError):
        return None
    lines = raw.decode("utf-8", errors="replace").rstrip("\n").rsplit("\n", 1)
    return lines[-1] if lines and lines[-1] else None


def _tail_bytes(path: Path, n: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(-n, 2)
        return f.read()


def seeds_of_one_configuration(runs: list[str | Path]) -> bool:
    """Whether the runs differ only in their seed (and directory): then a mean ± std over them means something."""
    configs = [{k: v for k, v in load_run_config(run).to_dict().items() if k not in ("seed", "out")} for run in runs]
    return all(c == configs[0] for c in configs)


def format_table(metric: str, rows: list[tuple[str, dict]], summary: bool = True) -> str:
    """One line per run with the metric's headline numbers, then (``summary``: only for seeds of one
    configuration) mean ± std over the runs."""
    keys = METRICS[metric].headline
    width = max(len("run"), *(len(label) for label, _ in rows))
    lines = [f"{'run':<{width}}  {'step':>7}  " + "  ".join(f"{k:>15}" for k in keys)]
    for label, r in rows:
        step = r["protocol"]["step"]
        lines.append(f"{label:<{width}}  {'-' if step is None else step:>7}  "
                     + "  ".join(f"{r[k]:>15.4f}" for k in keys))
    if len(rows) > 1 and summary:
        cells = []
        for k in keys:
            v = torch.tensor([float(r[k]) for _, r in rows], dtype=torch.float64)
            cells.append(f"{float(v.mean()):.4f} ± {float(v.std()):.4f}")
        lines.append(f"{f'mean ± std ({len(rows)})':<{width}}  {'':>7}  " + "  ".join(f"{c:>15}" for c in cells))
    return "\n".join(lines)


__all__ = ["EvalOptions", "EVALUATORS", "METRICS", "PROTOCOL_FIELDS", "SCORE_FIELDS", "default_n", "evaluate",
           "evaluate_runs", "format_table", "write_record", "check_replaceable", "seeds_of_one_configuration"]
