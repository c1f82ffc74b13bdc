"""The ``minimax`` command line: one module per command, each a thin parser over the library.

    minimax train [--dataset ring] [--steps N] [...]     train (every TrainConfig field is a flag)       cli/train.py
    minimax train --resume RUN_DIR [--steps N]          continue a run from its latest checkpoint
    minimax sample RUN_DIR --n N --out FILE.npy          draw samples (--class C: of class C)             cli/sample.py
    minimax eval METRIC RUN_DIR... --data-dir DIR        parzen, fid, kid, pr, is, modes, conditional      cli/eval.py
    minimax sample RUN_DIR --interpolate N               G along N paths in noise space (strip, GIF)
    minimax report RUN_DIR...                            a self-contained HTML report                     cli/report.py
    minimax watch RUN_DIR [--port N]                     a local page that shows the game live            cli/watch.py
    minimax export RUN_DIR                               G as a file plain PyTorch loads (.pt2)          cli/export.py
    minimax download DATASET --data-dir DIR              fetch and md5-check a dataset                  cli/download.py

User errors print one line, ``minimax: error: ...``, and exit with status 2.
"""
from __future__ import annotations

import argparse
import os
import sys

from .. import registry
from .. import zoo as pretrained
from .._version import __version__
from ..errors import MinimaxError
from ..openmp import choose_wait_policy
from . import download, export, report, sample, train, watch, zoo
from . import eval as eval_command
from .errors import clip
from .outputs import resolve_run
from .train import config_from_args

__all__ = ["main", "build_parser", "config_from_args"]


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)  # --check must not silently mean --checkpoint-every
        super().__init__(*args, **kwargs)

    def error(self, message):  # one line, exit 2, no usage dump; a sub-command's name before it ("train: ...")
        command = self.prog.removeprefix("minimax").strip()
        raise MinimaxError(f"{command}: {message}" if command else message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="minimax", description="Train Generative Adversarial Networks: the minimax game as code.")
    p.add_argument("--version", action="version", version=f"minimax {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in (train, sample, eval_command, report, watch, export, zoo, download):
        command.add_parser(sub)
    return p


def resolve_zoo_runs(args: argparse.Namespace) -> None:
    """A run given as ``zoo:NAME`` (a pretrained run, :mod:`minimax.zoo`) becomes its unpacked copy's folder; the
    files a command names itself then go to the current folder (:mod:`.outputs`)."""
    resolve_run(args, "run_dir")
    resolve_run(args, "run_dirs")
    if getattr(args, "resume", None):
        args.resume = pretrained.resolve(args.resume)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)  # (--help ends here, torch never loaded)
        registry.check()  # a plugin named but unreadable: said here, in one line
        choose_wait_policy()  # before the command loads torch: OpenMP's threads sleep on a busy machine
        resolve_zoo_runs(args)
        return args.func(args)
    except MinimaxError as e:  # ("stopped" for a run stopped on request or by --on-collapse stop)
        print(f"minimax: {e.kind}: {clip(str(e))}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # the reader went away (minimax zoo | head): stop quietly, as a pipe's writer does
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (no second error at exit's flush)
        except OSError:
            pass
        return 141
    except OSError as e:  # the machine refused: a full disk, a read-only folder, a missing file
        where = f" ({e.filename})" if e.filename else ""
        print(f"minimax: error: {clip((e.strerror or str(e)) + where)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minimax: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
