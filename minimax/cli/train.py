"""``minimax train``: every TrainConfig field is a flag; ``--resume RUN_DIR`` continues a run; ``--nproc N``
trains data-parallel on this machine."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from ..config import (
    ORDER,
    SECTIONS,
    TrainConfig,
    coerce,
    field_kind,
    positive_int,
)
from ..errors import MinimaxError
from ..run.rundir import load_run_config
from .errors import clip


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """A flag per TrainConfig field, grouped as a config file's sections group them (config.SECTIONS), each with
    its one-line help and default; the rest of each meaning and the presets are in docs/reference.md."""
    groups = {}
    for section, (name, fields) in SECTIONS.items():
        group = p.add_argument_group(f"[{section}]" + (f" (name = --{name})" if name else ""))
        groups.update({field: group for field in (name, *fields) if field})
    for f in dataclasses.fields(TrainConfig):
        default = f.default if not isinstance(f.default, tuple) else ",".join(map(str, f.default))
        choices = f.metadata.get("choices")
        help_ = f.metadata["help"] + (f" {{{', '.join(choices)}}}" if choices else "")
        if "(default:" not in help_ and default not in (None, ""):  # (--out and --g-lr say their own default)
            help_ += f" (default {default})"
        metavar = {"int": "N", "float": "X", "widths": "W,..."}.get(field_kind(f), "S")
        groups[f.name].add_argument(_flag(f.name), dest=f.name, default=argparse.SUPPRESS,
                                    help=help_.replace("%", "%%"), metavar=metavar)
    p.add_argument("--config", default=None, metavar="FILE",
                   help="TOML or JSON settings, flat or in the sections below")
    p.add_argument("--resume", metavar="RUN", default=None,
                   help="continue RUN from its latest checkpoint (--steps, --on-collapse, --data-dir may change)")
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved settings and where each came from; no training")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots at the end")
    p.add_argument("--progress", choices=("auto", "on", "bar", "lines", "off"), default="auto", metavar="S",
                   help="a bar on a terminal, lines in a log {auto, on, bar, lines, off} (default auto)")
    p.add_argument("--threads", default=None, metavar="N",
                   help="CPU threads per process (default: torch's; a resumed run: its own)")
    p.add_argument("--nproc", default="1", metavar="N", help="data-parallel processes on this machine (default 1)")
    p.add_argument("--live", action="store_true",
                   help="serve a page that shows the game and steers it (pause, one D or G step, k, learning rates)")
    p.add_argument("--host", default="127.0.0.1", help="--live's address (default 127.0.0.1: this machine only)")
    p.add_argument("--port", default="8000", help="--live's port (default 8000; 0: any free port, printed)")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The flags given (each checked under its own name), through the one configuration path:
    dataset preset < config file < flags (:meth:`TrainConfig.resolve`)."""
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    given = {k: coerce(fields[k], v, where="", name=_flag(k)) for k, v in vars(args).items() if k in fields}
    return TrainConfig.resolve(args.config, **given)


RESUME_OPTIONS = ("steps", "on_collapse", "data_dir")  # what --resume may change: how long, what a collapse does,
# and where the training data now are (checked against the run's data card)


def config_text(cfg: TrainConfig, stored: str | None = None) -> str:
    """The configuration as a TOML config file in its sections (config.SECTIONS), each value followed by its source
    (``stored``: a stored run's, whose config.json recorded none); ``minimax train --config`` reads it back to the same
    configuration. A value that is unset (None) is a comment: TOML has no null."""
    sources = cfg.sources
    if stored and any(v != "flag or argument" for v in sources.values()):
        stored = None  # the run's config.json recorded where its values came from: show that
    lines = ["# the resolved configuration (minimax train --print-config); after each value, where it came from:",
             "# " + " < ".join(ORDER) + ", each over the last"]
    for section, (name, fields) in SECTIONS.items():
        lines.append(f"\n[{section}]")
        for key, field_ in ((("name", name),) if name else ()) + tuple((f, f) for f in fields):
            v = getattr(cfg, field_)
            text = json.dumps(list(v) if isinstance(v, tuple) else v, ensure_ascii=False)
            where = stored or sources[field_]
            lines.append(f"# {key} = (none)  # {where}" if v is None else f"{key} = {text}  # {where}")
    return "\n".join(lines) + "\n"


def cmd_train(args: argparse.Namespace) -> int:
    from ..algorithm import distributed
    from ..run.setup import check_threads, prepare_run_dir, resolve_device

    progress = {"auto": None, "on": True, "bar": True, "lines": "lines", "off": False}[args.progress]
    nproc = positive_int(args.nproc, "--nproc")
    if args.resume is not None and not args.resume.strip():
        raise MinimaxError("--resume needs the run directory to continue")
    if args.resume:
        extra = [k for k in vars(args) if k in {f.name for f in dataclasses.fields(TrainConfig)}
                 and k not in RESUME_OPTIONS]
        if extra or args.config:
            raise MinimaxError(f"--resume continues a run with its own config; only --steps, --on-collapse and "
                               f"--data-dir may be given (got {_flag(extra[0]) if extra else '--config'})")
        job = dict(resume=args.resume, **{k: coerce(TrainConfig.__dataclass_fields__[k], getattr(args, k), where="",
                                                    name=_flag(k)) for k in RESUME_OPTIONS if hasattr(args, k)})
    else:
        job = dict(cfg=config_from_args(args))
    if args.print_config:
        cfg = job["cfg"] if "cfg" in job else load_run_config(Path(job["resume"]))
        print(config_text(cfg, f"the run {args.resume}" if args.resume else None), end="")
        return 0
    job.update(progress=progress, plots=not args.no_plots,
               threads=check_threads(positive_int(args.threads, "--threads")) if args.threads is not None else None)
    cfg = job["cfg"] if "cfg" in job else load_run_config(Path(job["resume"]))
    device_type = resolve_device(cfg.device).type
    check_nproc(nproc, device_type)
    if args.live:
        if nproc > 1:
            raise MinimaxError("--live steers one process: leave out --nproc")
        job["control"] = live_control(args.host, args.port)
    if nproc == 1:
        return _train_and_report(job, device_type)
    if "cfg" in job:  # an unwritable run directory is reported here, once, before any process starts
        job["cfg"] = cfg.replaced(out=str(prepare_run_dir(cfg.out, cfg.dataset)))
    return distributed.launch(_train_in_process, nproc, (job, device_type), device_type)


def live_control(host: str, port: str):
    """The live page's server, listening (in a thread) before the run starts, and its line to the loop."""
    import threading

    from ..run.steering import Control
    from ..viz.watch import serve
    from .watch import check_port, warn_host

    server = serve(None, host, check_port(port))
    control = server.control = Control(on_open=server.attach)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True).start()
    print(f"live: {server.url} (watch and steer the run there)", file=sys.stderr, flush=True)
    warn_host(host, "watch and steer this run")
    return control


def check_nproc(nproc: int, device_type: str) -> None:
    """At most one process per CPU core (each takes its share of the threads), or per GPU on CUDA."""
    if device_type == "cuda":
        import torch

        most, what = torch.cuda.device_count(), "GPUs"
    else:
        most, what = os.cpu_count() or 1, "CPU cores"
    if nproc > most:
        raise MinimaxError(f"--nproc {nproc} is more processes than this machine's {most} {what}")


def _train_and_report(job: dict, device_type: str) -> int:
    """Train in this process (joining torchrun's process group if there is one); rank 0 prints."""
    from ..algorithm import distributed
    from ..api import train_as_command

    distributed.join_from_env(device_type)
    result = train_as_command(**job)
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
        line += " | " + final_statistics(s, result.trainer.objective)
    print(line)
    return 0


def final_statistics(summary: dict, objective) -> str:
    """'V -1.380 (optimum -1.386), D(x) 0.503 (0.5), ...': the last logged statistics beside their value at
    the game's optimum, where the theory gives one."""
    parts, bounded = [], objective.value_bounds
    for key in ("value", "d_loss", "d_real", "d_fake"):
        v = summary.get(f"final_{key}")
        if v is None or (key == "d_loss" and "final_value" in summary):
            continue
        opt = objective.equilibrium.get(key)
        parts.append(f"{objective.symbols[key]} {v:.3f}" + (f" (optimum {opt:.4g})" if opt is not None else ""))
        if key == "value" and bounded and v < 0:
            parts[-1] += (f" [V is D's lower bound on {bounded} ≥ 0: below 0, D does not yet tell the data from the "
                          "samples]")
    return f"{objective.name}: " + ", ".join(parts)


def _train_in_process(job: dict, device_type: str) -> int:
    """One process of ``minimax train --nproc N``: its exit status; rank 0 prints errors."""
    from ..algorithm import distributed

    try:
        return _train_and_report(job, device_type)
    except MinimaxError as e:
        if distributed.current().is_main:
            print(f"minimax: {e.kind}: {clip(str(e))}", file=sys.stderr)
        return e.exit_code


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="train a GAN (Algorithm 1 of Goodfellow et al. 2014)",
                       usage="minimax train [options]",
                       formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=28),
                       description="Train a GAN; with no options the 8-Gaussian ring (~75 s on 2 CPU cores). Each "
                                   "value is resolved in this order, each over the last: " + " < ".join(ORDER) +
                                   ". --print-config shows the result and each value's source. The whole meaning of "
                                   "each flag, the presets and each game's settings and shortfalls: docs/reference.md")
    add_train_arguments(t)
    t.set_defaults(func=cmd_train)
