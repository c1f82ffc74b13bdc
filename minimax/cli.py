"""The ``minimax`` command line.

    minimax train [--dataset ring] [--steps N] [...]     train (every TrainConfig field is a flag)
    minimax train --resume RUN_DIR [--steps N]          continue a run from its latest checkpoint
    minimax sample RUN_DIR --n N --out FILE.npy          draw samples from a trained generator (--class C: of class C)
    minimax eval METRIC RUN_DIR... --data-dir DIR        score runs: parzen, fid, kid, pr, is, modes, conditional
    minimax report RUN_DIR...                            a self-contained HTML report
    minimax download DATASET --data-dir DIR              fetch and md5-check a dataset

User errors print one line, ``minimax: error: ...``, and exit with status 2.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .config import PRESETS, TrainConfig, coerce, field_kind
from .errors import MinimaxError

if TYPE_CHECKING:
    pass


MAX_ERROR_CHARS = 500
MAX_NOISE_SEED = 2**63 - 1  # sample/eval --seed feeds torch.Generator directly (training seeds: config.MAX_SEED)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)  # --check must not silently mean --checkpoint-every
        super().__init__(*args, **kwargs)

    def error(self, message):  # one line, exit 2, no usage dump
        raise MinimaxError(f"{self.prog}: {message}")


def _show(v) -> str:
    return ",".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    for f in dataclasses.fields(TrainConfig):
        default = f.default if not isinstance(f.default, tuple) else ",".join(map(str, f.default))
        choices = f.metadata.get("choices")
        help_ = f.metadata["help"] + (f" {{{', '.join(choices)}}}" if choices else "") + f" (default: {default})"
        metavar = {"int": "N", "float": "X", "widths": "W1,W2,..."}.get(field_kind(f), "S")
        p.add_argument(_flag(f.name), dest=f.name, default=argparse.SUPPRESS, help=help_, metavar=metavar)
    p.add_argument("--config", help="JSON or TOML file of settings (flags override it)", default=None)
    p.add_argument("--resume", metavar="RUN_DIR", default=None,
                   help="continue RUN_DIR from its latest checkpoint (only --steps may change; with "
                        "--lr-decay linear a larger --steps stretches the rest of the schedule to the new end, "
                        "so the result is not that of a straight run of that length)")
    p.add_argument("--no-plots", action="store_true", help="skip drawing the PNG plots at the end")
    p.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                   help="progress bar: on a terminal only (auto), always, or never")
    p.add_argument("--nproc", default="1", metavar="N",
                   help="data-parallel processes on this machine (torch.distributed; each draws its own "
                        "minibatches of --batch-size, gradients are averaged) (default: 1)")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The flags given (each checked under its own name), through the one configuration path:
    dataset preset < config file < flags (:meth:`TrainConfig.resolve`)."""
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    given = {k: coerce(fields[k], v, where="", name=_flag(k)) for k, v in vars(args).items() if k in fields}
    return TrainConfig.resolve(args.config, **given)


def cmd_train(args: argparse.Namespace) -> int:
    progress = {"auto": None, "on": True, "off": False}[args.progress]
    nproc = _positive_int(args.nproc, "--nproc")
    if args.resume:
        extra = [k for k in vars(args) if k in {f.name for f in dataclasses.fields(TrainConfig)} and k != "steps"]
        if extra or args.config:
            raise MinimaxError(f"--resume continues a run with its own config; only --steps may be given "
                               f"(got {_flag(extra[0]) if extra else '--config'})")
        steps = None
        if hasattr(args, "steps"):
            steps = coerce(TrainConfig.__dataclass_fields__["steps"], args.steps, where="", name="--steps")
        job = dict(resume=args.resume, steps=steps)
    else:
        job = dict(cfg=config_from_args(args))
    job.update(progress=progress, plots=not args.no_plots)
    from . import distributed
    from .rundir import load_run_config
    from .train import prepare_run_dir, resolve_device

    cfg = job["cfg"] if "cfg" in job else load_run_config(Path(job["resume"]))
    device_type = resolve_device(cfg.device).type
    if nproc == 1:
        return _train_and_report(job, device_type)
    if "cfg" in job:  # an unwritable run directory is reported here, once, before any process starts
        cfg.out = str(prepare_run_dir(cfg.out, cfg.dataset))
    return distributed.launch(_train_in_process, nproc, (job, device_type), device_type)


def _train_and_report(job: dict, device_type: str) -> int:
    """Train in this process (joining torchrun's process group if there is one); rank 0 prints."""
    from . import distributed
    from .train import train

    distributed.join_from_env(device_type)
    result = train(**job)
    if not distributed.current().is_main:
        return 0
    s = result.summary
    line = f"done: {s['step']} iterations -> {result.run_dir}"
    if "modes" in s:
        line += f" | modes {s['modes']}/{s['n_modes']}, high quality {s['high_quality']:.1%}, " \
                f"reverse KL {s['reverse_kl']:.3f}"
    if "class_quality_min" in s:
        line += f" | every class ≥ {s['class_quality_min']:.1%} at its own mode"
    if s.get("final_d_loss") is not None:
        line += " | " + final_statistics(s, result.game.objective)
    print(line)
    return 0


def final_statistics(summary: dict, objective) -> str:
    """'V -1.380 (optimum -1.386), D(x) 0.503 (0.5), ...': the last logged statistics beside their value at
    the game's optimum, where the theory gives one."""
    from .games import SYMBOLS

    parts = []
    for key in ("value", "d_loss", "d_real", "d_fake"):
        v = summary.get(f"final_{key}")
        if v is None or (key == "d_loss" and "final_value" in summary):
            continue
        opt = objective.equilibrium.get(key)
        parts.append(f"{SYMBOLS[key]} {v:.3f}" + (f" (optimum {opt:.4g})" if opt is not None else ""))
    return f"{objective.name}: " + ", ".join(parts)


def _train_in_process(job: dict, device_type: str) -> int:
    """One process of ``minimax train --nproc N``: its exit status; rank 0 prints errors."""
    from . import distributed

    try:
        return _train_and_report(job, device_type)
    except MinimaxError as e:
        if distributed.current().is_main:
            print(f"minimax: error: {_clip(str(e))}", file=sys.stderr)
        return e.exit_code


def cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from .checkpoint import atomic_write_bytes

    n = _positive_int(args.n, "--n")
    seed = _seed(args.seed)
    if not args.out and not args.grid:
        raise MinimaxError("give --out FILE.npy and/or --grid FILE.png")
    for target in filter(None, (args.out, args.grid)):
        if not Path(target).parent.resolve().is_dir():
            raise MinimaxError(f"cannot write {target}: folder {Path(target).parent} does not exist")
    from .sampling import class_indices, sample
    from .train import load_run

    game = load_run(args.run_dir)
    classes = class_indices(args.classes, game.cfg.class_names, game.conditional) if args.classes else None
    _check_sample_memory(n * len(classes or [0]), game.data.shape, "--n")
    x = sample(game, n, classes, seed)
    flat = x.reshape(len(x), -1).numpy().astype(np.float32)
    if args.out:
        buf = io.BytesIO()
        np.save(buf, flat)
        try:
            atomic_write_bytes(Path(args.out), buf.getvalue())
        except OSError as e:
            raise MinimaxError(f"cannot write {args.out}: {e.strerror or e}") from None
        per = f" ({n} of each of classes {', '.join(map(str, classes))}, in that order)" if classes else ""
        print(f"wrote {len(flat)} samples of dimension {flat.shape[1]} to {args.out}{per}")
    if args.grid:
        if len(game.data.shape) == 1:
            raise MinimaxError("--grid needs an image dataset; this run's data are vectors")
        from .plots import save_image_grid

        save_image_grid(x.numpy(), Path(args.grid), cols=n if classes else None)
        rows = f" (one row per class: {', '.join(map(str, classes))})" if classes else ""
        print(f"wrote a grid of {len(x)} images to {args.grid}{rows}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from .data.download import download

    paths = download(args.dataset, args.data_dir)
    print(f"{args.dataset}: {len(paths)} file(s) verified in {args.data_dir}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    path = write_report(args.run_dirs, args.out)
    print(f"wrote {path}")
    return 0


def _seed(raw: str) -> int:
    try:
        v = int(raw)
    except ValueError:
        raise MinimaxError(f"--seed must be an integer, got {raw!r}"[:MAX_ERROR_CHARS]) from None
    if not 0 <= v <= MAX_NOISE_SEED:
        raise MinimaxError(f"--seed must be in [0, 2^63 - 1], got {raw}"[:MAX_ERROR_CHARS])
    return v


def _check_sample_memory(n: int, shape, flag: str) -> None:
    """Refuse a number of samples whose arrays (a few float copies) would not fit in memory."""
    import math

    import torch

    from .resources import GIB, available_memory

    need = n * math.prod(shape) * 4 * 4
    free = available_memory(torch.device("cpu"))
    if need > free:
        raise MinimaxError(f"{flag} {n}: the samples need about {need / GIB:.1f} GiB, "
                           f"{free / GIB:.1f} GiB are available")


def _positive_int(raw: str, flag: str) -> int:
    try:
        v = int(raw)
    except ValueError:
        raise MinimaxError(f"{flag} must be a positive integer, got {raw!r}") from None
    if v < 1:
        raise MinimaxError(f"{flag} must be a positive integer, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="minimax", description="Train Generative Adversarial Networks: the minimax game as code.")
    p.add_argument("--version", action="version", version=f"minimax {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    presets = "; ".join(f"{d}: " + ", ".join(f"{_flag(k)} {_show(v)}" for k, v in p.items())
                        for d, p in PRESETS.items())
    t = sub.add_parser("train", help="train a GAN (Algorithm 1 of Goodfellow et al. 2014)",
                       description="Train a GAN. With no options: the 8-Gaussian ring, about 1.5 minutes on a CPU. "
                                   f"Measured per-dataset presets replace the defaults below ({presets}); "
                                   "a config file or a flag overrides them.")
    add_train_arguments(t)
    t.set_defaults(func=cmd_train)
    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("run_dir", help="a run directory written by 'minimax train'")
    s.add_argument("--n", default="1000", help="number of samples (default: 1000)")
    s.add_argument("--out", help="write the samples as a float32 .npy array of shape (N, features)")
    s.add_argument("--grid", help="write the samples as a PNG image grid (image datasets)")
    s.add_argument("--seed", default="0", help="seed of the noise (default: 0)")
    s.add_argument("--class", dest="classes", metavar="C1,C2,...",
                   help="conditional runs: sample these classes (indices or names, or 'all'), --n of each; "
                        "the grid has one row per class")
    s.set_defaults(func=cmd_sample)
    from .evaluate import add_eval_parser

    add_eval_parser(sub)
    r = sub.add_parser("report", help="write a self-contained HTML report of one or more runs")
    r.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    r.add_argument("--out", help="the HTML file (default: RUN_DIR/report.html of the first run)")
    r.set_defaults(func=cmd_report)
    d = sub.add_parser("download", help="download a dataset (needs a network), verified by md5")
    d.add_argument("dataset", choices=("mnist", "fashion-mnist", "cifar10"))
    d.add_argument("--data-dir", required=True, help="where to put the files")
    d.set_defaults(func=cmd_download)
    return p


def _clip(message: str) -> str:
    """One line of at most MAX_ERROR_CHARS characters (a 30 MB bad value is not echoed back)."""
    line = " ".join(message.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[:MAX_ERROR_CHARS - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except MinimaxError as e:
        print(f"minimax: error: {_clip(str(e))}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # the machine refused: a full disk, a read-only folder, a missing file
        where = f" ({e.filename})" if e.filename else ""
        print(f"minimax: error: {_clip((e.strerror or str(e)) + where)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minimax: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
