"""The ``minimax`` command line.

    minimax train [--dataset ring] [--steps N] [...]     train (every TrainConfig field is a flag)
    minimax train --resume RUN_DIR [--steps N]          continue a run from its latest checkpoint
    minimax sample RUN_DIR --n N --out FILE.npy          draw samples from a trained generator (--class C: of class C)
    minimax eval parzen|fid RUN_DIR --data-dir DIR       Table 1's Parzen estimate; classifier-feature FID
    minimax eval conditional RUN_DIR --data-dir DIR      a conditional run's per-class accuracy and intra-class FID
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
from .rundir import CONDITIONAL, FID, PARZEN

if TYPE_CHECKING:
    import torch


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


MAX_EVAL_SAMPLES = 10**6


MNIST_FAMILY = ("mnist", "fashion-mnist")


def _eval_inputs(args: argparse.Namespace, metric: str, datasets: tuple[str, ...] = MNIST_FAMILY):
    """(config, game or None, n) for an ``eval`` command: a run's generator, or with --real none."""
    n = _positive_int(args.n, "--n")
    _seed(args.seed)
    if n > MAX_EVAL_SAMPLES:
        raise MinimaxError(f"--n must be at most {MAX_EVAL_SAMPLES} for eval {metric}, got {n}")
    if args.real:
        from .rundir import load_run_config

        cfg = load_run_config(args.run_dir) if args.run_dir else None
        game = None
    else:
        if not args.run_dir:
            raise MinimaxError(f"eval {metric} needs a run directory (or --real)")
        from .train import load_run

        game = load_run(args.run_dir)
        cfg = game.cfg
    if cfg is None:
        from .config import TrainConfig

        cfg = TrainConfig(dataset=args.dataset, model="paper")
    if cfg.dataset not in datasets:
        raise MinimaxError(f"eval {metric} needs a dataset with a test split ({', '.join(datasets)}); the run's "
                           f"dataset is {cfg.dataset!r}")
    cfg.data_dir = args.data_dir
    return cfg, game, n


def _eval_samples(args, cfg, game, n: int) -> tuple["torch.Tensor", str]:
    """N samples in [0, 1], flattened: the run's generator's, or real training images with --real."""
    from .data import load_dataset

    if game is None:
        samples = load_dataset(cfg, "cpu", split="train").pixels()[:n]
        return samples, f"{len(samples)} real training images"
    return game.generate(n, seed=_seed(args.seed)).reshape(n, -1).cpu().float(), \
        f"{n} samples of {args.run_dir} (step {game.step})"


def _check_shapes(game, test) -> None:
    """The run's images and the evaluation set's must have one shape (never reshape one into the other)."""
    if game is not None and tuple(game.data.shape) != tuple(test.shape):
        raise MinimaxError(f"the run makes images of shape {tuple(game.data.shape)}, the evaluation set in "
                           f"--data-dir has {tuple(test.shape)}")


def _write_result(args, name: str, result: dict) -> None:
    import json

    from .checkpoint import atomic_write_bytes

    if args.run_dir and not args.real:
        atomic_write_bytes(Path(args.run_dir) / name, json.dumps(result, indent=2).encode())


def cmd_eval_parzen(args: argparse.Namespace) -> int:
    """Parzen-window log-likelihood of a run's generator on the MNIST-style test set."""
    from .data import load_dataset
    from .metrics.parzen import parzen_evaluate

    cfg, game, n = _eval_inputs(args, "parzen")
    test_set = load_dataset(cfg, "cpu", split="t10k")
    _check_shapes(game, test_set)
    test = test_set.pixels()
    valid = load_dataset(cfg, "cpu", split="valid").pixels()[:1000]
    samples, source = _eval_samples(args, cfg, game, n)
    result = parzen_evaluate(samples, valid, test)
    result["source"] = source
    print(f"Parzen log-likelihood: {result['parzen_ll']:.1f} ± {result['parzen_se']:.1f} nats "
          f"(sigma {result['sigma']:.4f}; {source}; {len(test)} test images)")
    _write_result(args, PARZEN, result)
    return 0


def cmd_eval_fid(args: argparse.Namespace) -> int:
    """Fréchet distance between classifier features of the test set and of a run's samples."""
    from .data import load_dataset
    from .metrics import classifier
    from .metrics.frechet import GaussianFit, frechet_between

    cfg, game, n = _eval_inputs(args, "fid")
    if n < 2:
        raise MinimaxError(f"--n must be at least 2 for a covariance, got {n}")
    train = load_dataset(cfg, "cpu", split="train")
    test = load_dataset(cfg, "cpu", split="t10k")
    _check_shapes(game, test)
    net = classifier.load_or_train(cfg.dataset, train.images, train.labels, args.cache_dir)
    real, fake = GaussianFit(classifier.FEATURE_DIM), GaussianFit(classifier.FEATURE_DIM)
    real.update(classifier.features(net, test.pixels(), test.shape))
    samples, source = _eval_samples(args, cfg, game, n)
    fake.update(classifier.features(net, samples, test.shape))
    result = {"fid": frechet_between(real, fake),
              "classifier_test_accuracy": classifier.accuracy(net, test.images, test.labels),
              "n_samples": len(samples), "n_test": len(test), "source": source}
    print(f"Frechet distance (classifier features): {result['fid']:.3f} ({source} vs {len(test)} test images; "
          f"feature classifier test accuracy {result['classifier_test_accuracy']:.4f})")
    _write_result(args, FID, result)
    return 0


def cmd_eval_conditional(args: argparse.Namespace) -> int:
    """Conditional accuracy and intra-class FID of a conditional run, per class, on the dataset's test split."""
    import torch

    from .data import load_dataset
    from .metrics import classifier
    from .metrics.conditional import conditional_accuracy, intra_class_fid

    cfg, game, n = _eval_inputs(args, "conditional", (*MNIST_FAMILY, "cifar10"))
    if game is not None and not game.conditional:
        raise MinimaxError(f"{args.run_dir} is unconditional (condition 'none'); eval conditional needs a "
                           "conditional run (use eval fid)")
    train = load_dataset(cfg, "cpu", split="train")
    test = load_dataset(cfg, "cpu", split="t10k")
    _check_shapes(game, test)
    k = test.n_classes
    per = n // k
    if per < 2:
        raise MinimaxError(f"--n {n} gives {per} samples per class for {k} classes; need at least 2 each")
    net = classifier.load_or_train(cfg.dataset, train.images, train.labels, args.cache_dir)
    if game is None:  # --real: real training images, as many of each class as the generator would draw
        pick = torch.cat([torch.nonzero(train.labels == c)[:per, 0] for c in range(k)])
        samples, labels, source = train.pixels()[pick], train.labels[pick], f"{len(pick)} real training images"
    else:
        labels = torch.arange(k).repeat_interleave(per)
        samples = game.generate(len(labels), seed=_seed(args.seed), classes=labels).reshape(len(labels), -1).cpu()
        source = f"{len(labels)} samples of {args.run_dir} (step {game.step}), {per} per class"
    predicted = classifier.predict(net, samples, test.shape)
    real_f = classifier.features(net, test.pixels(), test.shape)
    fake_f = classifier.features(net, samples, test.shape)
    result = {**conditional_accuracy(predicted, labels, k), **intra_class_fid(real_f, test.labels, fake_f, labels, k),
              "classes": list(test.class_names), "classifier_test_accuracy": classifier.accuracy(net, test.images,
                                                                                                  test.labels),
              "n_samples": len(samples), "n_test": len(test), "source": source}
    print(f"class  accuracy  intra-class FID   ({source}; {len(test)} test images)")
    for c, name in enumerate(test.class_names):
        print(f"{name:>5}  {result['accuracy'][c]:8.4f}  {result['intra_fid'][c]:15.3f}")
    print(f" mean  {result['accuracy_mean']:8.4f}  {result['intra_fid_mean']:15.3f}   (the feature classifier labels "
          f"real test images with accuracy {result['classifier_test_accuracy']:.4f}: the ceiling)")
    _write_result(args, CONDITIONAL, result)
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


def _add_eval_arguments(p: argparse.ArgumentParser, samples: str, real_means: str) -> None:
    p.add_argument("run_dir", nargs="?", help="a run directory (omit with --real)")
    p.add_argument("--data-dir", required=True, help="folder with the MNIST/Fashion-MNIST IDX files")
    p.add_argument("--n", default="10000", help=f"{samples} (default: 10000)")
    p.add_argument("--seed", default="0", help="seed of the noise (default: 0)")
    p.add_argument("--real", action="store_true", help=f"score N real training images instead: {real_means}")
    p.add_argument("--dataset", default="mnist", choices=("mnist", "fashion-mnist"),
                   help="with --real and no run: which dataset (default: mnist)")


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
    e = sub.add_parser("eval", help="evaluate a trained run")
    esub = e.add_subparsers(dest="metric", required=True, parser_class=_Parser)
    pz = esub.add_parser("parzen", help="Parzen-window log-likelihood on the MNIST test set (paper's Table 1)")
    _add_eval_arguments(pz, "samples for the density", "the ceiling of the estimator")
    pz.set_defaults(func=cmd_eval_parzen)
    fd = esub.add_parser("fid", help="Frechet distance of classifier features to the MNIST-style test set")
    _add_eval_arguments(fd, "generated samples", "the floor of the distance")
    fd.add_argument("--cache-dir", help="where the feature classifier is cached "
                                        "(default: $MINIMAX_CACHE or ~/.cache/minimax)")
    fd.set_defaults(func=cmd_eval_fid)
    cd = esub.add_parser("conditional", help="conditional runs: accuracy of each class's samples under the feature "
                                             "classifier, and intra-class FID")
    _add_eval_arguments(cd, "generated samples, the same number of each class", "the floor of the distance")
    cd.add_argument("--cache-dir", help="where the feature classifier is cached "
                                        "(default: $MINIMAX_CACHE or ~/.cache/minimax)")
    cd.set_defaults(func=cmd_eval_conditional)
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
