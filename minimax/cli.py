"""The ``minimax`` command line.

    minimax train [--dataset ring] [--steps N] [...]     train (every TrainConfig field is a flag)
    minimax train --resume RUN_DIR [--steps N]          continue a run from its latest checkpoint
    minimax sample RUN_DIR --n N --out FILE.npy          draw samples from a trained generator

User errors print one line, ``minimax: error: ...``, and exit with status 2.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import sys
from pathlib import Path

from .config import TrainConfig, coerce, field_kind
from .errors import MinimaxError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise MinimaxError(f"{self.prog}: {message}")


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
                   help="continue RUN_DIR from its latest checkpoint (only --steps may change)")
    p.add_argument("--no-plots", action="store_true", help="skip drawing the PNG plots at the end")
    p.add_argument("--progress", choices=("auto", "on", "off"), default="auto",
                   help="progress bar: on a terminal only (auto), always, or never")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    given = {k: v for k, v in vars(args).items() if k in fields}
    base = TrainConfig.from_file(args.config).to_dict() if args.config else {}
    for k, v in given.items():
        base[k] = coerce(fields[k], v, where="", name=_flag(k))
    return TrainConfig.from_dict(base, where="option")


def cmd_train(args: argparse.Namespace) -> int:
    from .train import train

    progress = {"auto": None, "on": True, "off": False}[args.progress]
    if args.resume:
        extra = [k for k in vars(args) if k in {f.name for f in dataclasses.fields(TrainConfig)} and k != "steps"]
        if extra or args.config:
            raise MinimaxError(f"--resume continues a run with its own config; only --steps may be given "
                               f"(got {_flag(extra[0]) if extra else '--config'})")
        steps = None
        if hasattr(args, "steps"):
            steps = coerce(TrainConfig.__dataclass_fields__["steps"], args.steps, where="", name="--steps")
        result = train(resume=args.resume, steps=steps, progress=progress, plots=not args.no_plots)
    else:
        result = train(config_from_args(args), progress=progress, plots=not args.no_plots)
    s = result.summary
    line = f"done: {s['step']} iterations -> {result.run_dir}"
    if "modes" in s:
        line += f" | modes {s['modes']}/{s['n_modes']}, high quality {s['high_quality']:.1%}, " \
                f"reverse KL {s['reverse_kl']:.3f}"
    if "final_value" in s and s["final_value"] is not None:
        line += f" | V {s['final_value']:.3f} (optimum -1.386), D(x) {s['final_d_real']:.3f}, " \
                f"D(G(z)) {s['final_d_fake']:.3f}"
    print(line)
    return 0


def load_trained(run_dir: str | Path):
    """A Game restored from a run directory's latest checkpoint."""
    from . import checkpoint as ckpt
    from .train import build_game, load_run_config

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MinimaxError(f"run directory {run_dir} does not exist")
    cfg = load_run_config(run_dir)
    path = ckpt.latest_checkpoint(run_dir)
    if path is None:
        raise MinimaxError(f"run {run_dir} has no checkpoint")
    game = build_game(cfg)
    tensors, meta = ckpt.read_checkpoint(path)
    ckpt.restore_game(game, tensors, meta)
    return game


def cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np

    from .checkpoint import atomic_write_bytes

    try:
        n = int(args.n)
    except ValueError:
        raise MinimaxError(f"--n must be a positive integer, got {args.n!r}") from None
    if n < 1:
        raise MinimaxError(f"--n must be a positive integer, got {n}")
    if not args.out and not args.grid:
        raise MinimaxError("give --out FILE.npy and/or --grid FILE.png")
    for target in filter(None, (args.out, args.grid)):
        if not Path(target).parent.resolve().is_dir():
            raise MinimaxError(f"cannot write {target}: folder {Path(target).parent} does not exist")
    game = load_trained(args.run_dir)
    x = game.generate(n, seed=args.seed).cpu()
    flat = x.reshape(n, -1).numpy().astype(np.float32)
    if args.out:
        buf = io.BytesIO()
        np.save(buf, flat)
        try:
            atomic_write_bytes(Path(args.out), buf.getvalue())
        except OSError as e:
            raise MinimaxError(f"cannot write {args.out}: {e.strerror or e}") from None
        print(f"wrote {n} samples of dimension {flat.shape[1]} to {args.out}")
    if args.grid:
        if len(game.data.shape) == 1:
            raise MinimaxError("--grid needs an image dataset; this run's data are vectors")
        from .images import save_image_grid

        save_image_grid(x.numpy(), Path(args.grid))
        print(f"wrote a grid of {n} images to {args.grid}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="minimax", description="Train Generative Adversarial Networks: the minimax game as code.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser("train", help="train a GAN (Algorithm 1 of Goodfellow et al. 2014)",
                       description="Train a GAN. With no options: the 8-Gaussian ring, about a minute on a CPU.")
    add_train_arguments(t)
    t.set_defaults(func=cmd_train)
    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("run_dir", help="a run directory written by 'minimax train'")
    s.add_argument("--n", default="1000", help="number of samples (default: 1000)")
    s.add_argument("--out", help="write the samples as a float32 .npy array of shape (N, features)")
    s.add_argument("--grid", help="write the samples as a PNG image grid (image datasets)")
    s.add_argument("--seed", type=int, default=0, help="seed of the noise (default: 0)")
    s.set_defaults(func=cmd_sample)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except MinimaxError as e:
        print(f"minimax: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("minimax: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
