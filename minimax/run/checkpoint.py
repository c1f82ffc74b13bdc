"""Checkpoints that are never half-written and never execute code when read.

One checkpoint is one ``.safetensors`` file holding every tensor of the run's
state (both players' weights and buffers, both optimisers' state, the three
random streams as uint8 tensors) and, in the safetensors header, a JSON
document with everything else (step, config, optimiser hyper-parameters) and
a SHA-256 of the tensor contents. Nothing is ever unpickled.

Writing is atomic: the bytes go to a temporary file in the same folder, are
fsync'ed, renamed over the final name, and the folder is fsync'ed; only then
is the ``latest`` pointer (itself written the same way) moved. A crash at any
instant leaves either the old or the new checkpoint, never a torn one.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from ..algorithm import distributed
from ..algorithm.state import load_trainer_state, trainer_state
from ..config import MAX_STEPS
from ..errors import MinimaxError, one_line
from ..files import atomic_write_bytes, check_regular, read_text
from .rundir import LATEST, checkpoint_dir, checkpoint_name, is_checkpoint, step_of
from .steering import check_history

FORMAT = "minimax-checkpoint"
VERSION = 2  # 2: the SHA-256 covers the header metadata too; 1 (tensors only) is still read
READABLE_VERSIONS = (1, 2)


# --------------------------------------------------------------------------------------------
# state <-> (tensors, meta)
def _digest(tensors: dict[str, torch.Tensor], meta: dict | None = None) -> str:
    """SHA-256 of every tensor (name, dtype, shape, bytes) and, from format 2 on, of the metadata (canonical
    JSON without the digest itself): nothing that is read back is left out."""
    h = hashlib.sha256()
    if meta is not None:
        h.update(json.dumps({k: v for k, v in meta.items() if k != "sha256"}, sort_keys=True).encode())
    for key in sorted(tensors):
        t = tensors[key]
        h.update(key.encode())
        h.update(str(t.dtype).encode() + str(tuple(t.shape)).encode())
        h.update(t.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _cpu(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", copy=True).contiguous()


def flatten_optimizer(prefix: str, sd: dict, tensors: dict) -> dict:
    """An optimiser's state dict: its tensors into ``tensors``; returns the JSON part (param_groups)."""
    for idx, state in sd["state"].items():
        for name, v in state.items():
            if not torch.is_tensor(v):
                raise TypeError(f"optimizer state {name} is not a tensor")
            tensors[f"{prefix}.{idx}.{name}"] = _cpu(v)
    return {"param_groups": sd["param_groups"]}


def unflatten_optimizer(prefix: str, meta: dict, tensors: dict) -> dict:
    state: dict[int, dict] = {}
    for key, v in tensors.items():
        if key.startswith(prefix + "."):
            idx, name = key[len(prefix) + 1:].split(".", 1)
            state.setdefault(int(idx), {})[name] = v
    return {"state": state, "param_groups": meta["param_groups"]}


def encode_state(state: dict, config: dict, extra: dict | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """:func:`~minimax.algorithm.state.trainer_state` as (tensors, JSON metadata): module tensors under ``G.``,
    ``D.``, ``G_ema.``, optimiser tensors under ``opt_g.<i>.<name>``, each process's streams and pending
    statistics under ``rng.<name>`` / ``stats.<name>`` (rank r > 0 with the suffix ``.rank<r>``), the augmentation's
    [p, pending Σ r, pending steps] under ``augment.state``."""
    tensors: dict[str, torch.Tensor] = {}
    for prefix, sd in state["modules"].items():
        tensors.update({f"{prefix}.{k}": _cpu(v) for k, v in sd.items()})
    meta = {"format": FORMAT, "version": VERSION, "step": state["step"], "lr_scale": state["lr_scale"],
            "config": config, "threads": torch.get_num_threads()}  # part of what a CPU run computes (setup.use_threads)
    for prefix, sd in state["optimizers"].items():
        meta[prefix] = flatten_optimizer(prefix, sd, tensors)
    meta.update(extra or {})
    meta["stats_count"] = state["stats_count"]
    if state["world_size"] > 1:
        meta["world_size"] = state["world_size"]
    if "augment" in state:
        tensors["augment.state"] = _cpu(state["augment"])
    if state.get("steering"):  # (a run nobody steered has no such key: its checkpoints are as before steering existed)
        meta["steering"] = state["steering"]
    for rank, process in enumerate(state["processes"]):
        suffix = f".rank{rank}" if rank else ""
        for group, d in process.items():
            tensors.update({f"{group}.{k}{suffix}": _cpu(v) for k, v in d.items()})
    return tensors, meta


def decode_state(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    """The inverse of :func:`encode_state`: the dict :func:`~minimax.algorithm.state.load_trainer_state` takes (of a
    players-only checkpoint, :func:`players_only`, the players alone)."""
    if meta.get("players_only"):
        modules: dict[str, dict] = {}
        for key, v in tensors.items():
            prefix, rest = key.split(".", 1)
            modules.setdefault(prefix, {})[rest] = v
        return {"step": int(meta["step"]), "modules": modules}
    world = int(meta.get("world_size", 1))
    modules: dict[str, dict] = {}
    processes: list[dict] = [{"rng": {}, "stats": {}} for _ in range(world)]
    for key, v in tensors.items():
        prefix, rest = key.split(".", 1)
        if prefix == "augment":
            continue
        if prefix in ("rng", "stats"):
            name, _, rank = rest.partition(".rank")
            processes[int(rank) if rank else 0][prefix][name] = v
        elif not prefix.startswith("opt_"):
            modules.setdefault(prefix, {})[rest] = v
    state = {"step": int(meta["step"]), "lr_scale": float(meta.get("lr_scale", 1.0)), "world_size": world,
             "modules": modules, "stats_count": meta["stats_count"], "processes": processes,
             "optimizers": {p: unflatten_optimizer(p, meta[p], tensors) for p in ("opt_g", "opt_d")}}
    if "augment.state" in tensors:
        state["augment"] = tensors["augment.state"]
    state["steering"] = meta.get("steering", [])
    return state


def restore_trainer(trainer, tensors: dict[str, torch.Tensor], meta: dict, resume: bool = True) -> None:
    """Load a checkpoint's state into a freshly built :class:`~minimax.algorithm.trainer.Trainer` of the same config.

    To continue training (``resume``) the number of processes must be the one that wrote it; to sample
    or evaluate, any process takes the players (and rank 0's streams)."""
    if meta.get("players_only"):
        raise MinimaxError("this checkpoint holds the players only (a pretrained run of the zoo): it samples, exports "
                           "and reports, but cannot be trained on")
    world = int(meta.get("world_size", 1))
    if resume and world != trainer.ctx.world:
        raise MinimaxError(f"this run was trained with {world} process{'es' if world > 1 else ''}; "
                           f"resume it with --nproc {world} (running {trainer.ctx.world})")
    for name, opt in (("opt_g", trainer.opt_g), ("opt_d", trainer.opt_d)):
        check_param_groups(name, meta[name]["param_groups"], opt.state_dict()["param_groups"])
    try:
        load_trainer_state(trainer, decode_state(tensors, meta))
    except (KeyError, RuntimeError, ValueError, TypeError, IndexError) as e:
        raise MinimaxError(f"checkpoint does not match this run's models: {one_line(e)}") from None


# --------------------------------------------------------------------------------------------
# files
def encode(tensors: dict[str, torch.Tensor], meta: dict) -> bytes:
    meta = {**meta, "sha256": _digest(tensors, meta)}
    return safetensors_bytes(tensors, metadata={"minimax": json.dumps(meta)})


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read and verify one checkpoint file; any problem is a one-line :class:`MinimaxError`."""
    path = Path(path)
    if not path.exists():
        raise MinimaxError(f"checkpoint {path} does not exist")
    check_regular(path, "checkpoint")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for every malformed file
        raise MinimaxError(f"checkpoint {path} is corrupt or not a safetensors file "
                           f"({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''})") from None
    try:
        meta = json.loads(header["minimax"])
        ok = meta["format"] == FORMAT
    except (KeyError, ValueError, TypeError, RecursionError):
        ok = False
    if not ok:
        raise MinimaxError(f"{path} is not a minimax checkpoint")
    version = meta.get("version")
    if version not in READABLE_VERSIONS:
        raise MinimaxError(f"checkpoint {path} has format version {version!r}, "
                           f"this minimax reads versions {', '.join(map(str, READABLE_VERSIONS))}")
    if meta.get("sha256") != _digest(tensors, meta if version >= 2 else None):
        raise MinimaxError(f"checkpoint {path} is corrupt (checksum mismatch)")
    problem = _check_meta(meta)
    if problem:
        raise MinimaxError(f"checkpoint {path} has invalid metadata: {problem}")
    return tensors, meta


def players_only(tensors: dict[str, torch.Tensor], meta: dict, sampler_only: bool = True,
                 dtype: torch.dtype | None = None) -> bytes:
    """A checkpoint of the players alone, for a pretrained run (:mod:`minimax.zoo`): no optimisers, streams or
    statistics. ``sampler_only``: G holds the generator samples are drawn from (the weight average when the run
    kept one) and no second copy is kept; ``dtype`` (e.g. float16) stores the floating tensors smaller (they load
    into the float32 players)."""
    modules = decode_state(tensors, meta)["modules"]
    averaged = sampler_only and "G_ema" in modules
    if averaged:
        modules["G"] = modules.pop("G_ema")
    kept = {f"{name}.{k}": (v.to(dtype) if dtype is not None and v.is_floating_point() else v).contiguous()
            for name, state in modules.items() for k, v in state.items()}
    extra = {"players_only": True, "generator": "the run's weight average of G" if averaged else "G",
             "stored_dtype": str(dtype or "as trained").replace("torch.", "")}
    return encode(kept, {k: v for k, v in meta.items() if k != "sha256"} | extra)


# what says where and how long a run is kept, not what it computes: config.json may differ from its checkpoints
# in these (a larger --steps on resume, data or a run moved to another folder, another device, --on-collapse
# changed to continue a run that the monitor stopped)
MAY_DIFFER = ("steps", "data_dir", "device", "out", "tensorboard", "on_collapse")


def check_config(config: dict, meta: dict, where: str) -> None:
    """Refuse a run whose config.json (``config``, as :meth:`TrainConfig.to_dict`) disagrees with the config the
    checkpoint was written with, naming the fields: an edited game, dataset, batch size or k would otherwise
    resume (or sample) silently as another run."""
    saved = meta["config"]

    def same(a, b) -> bool:
        return json.loads(json.dumps(a)) == json.loads(json.dumps(b))

    differ = [k for k in saved if k in config and k not in MAY_DIFFER and not same(config[k], saved[k])]
    if differ:
        shown = "; ".join(f"{k} {json.dumps(config[k])} (checkpoint: {json.dumps(saved[k])})" for k in differ[:4])
        more = f" and {len(differ) - 4} more" if len(differ) > 4 else ""
        raise MinimaxError(f"{where} disagrees with the checkpoint of step {meta['step']} in {shown}{more}; "
                           "restore config.json, or train a new run with the settings you want")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_meta(meta: dict) -> str | None:
    """What is wrong with the metadata's types and ranges (a checksum proves integrity, not sense)."""
    if not (_is_int(meta.get("step")) and 0 <= meta["step"] <= MAX_STEPS):
        return f"step {meta.get('step')!r} is not an integer in [0, {MAX_STEPS}]"
    lr_scale = meta.get("lr_scale", 1.0)
    if not (isinstance(lr_scale, (int, float)) and not isinstance(lr_scale, bool) and 0 < lr_scale <= 1):
        return f"lr_scale {lr_scale!r} is not a number in (0, 1]"
    world = meta.get("world_size", 1)
    if not (_is_int(world) and 1 <= world <= 65536):
        return f"world_size {world!r} is not a positive integer"
    threads = meta.get("threads", 1)
    if not (_is_int(threads) and 1 <= threads <= 65536):
        return f"threads {threads!r} is not a positive integer"
    if not (_is_int(meta.get("stats_count")) and meta["stats_count"] >= 0):
        return f"stats_count {meta.get('stats_count')!r} is not a non-negative integer"
    for opt in ("opt_g", "opt_d"):
        groups = meta.get(opt, {}).get("param_groups") if isinstance(meta.get(opt), dict) else None
        if not (isinstance(groups, list) and groups and all(isinstance(g, dict) for g in groups)):
            return f"{opt} has no list of parameter groups"
    if not isinstance(meta.get("config"), dict):
        return "config is not a mapping"
    try:
        check_history(meta.get("steering", []), meta["step"])
    except MinimaxError as e:
        return f"steering: {e}"
    return None


def _same_kind(saved, fresh) -> bool:
    """Whether a saved optimiser hyper-parameter has the type of the one a fresh optimiser has (numbers are
    numbers, finite; flags are flags or None; sequences match element by element)."""
    if isinstance(fresh, bool) or fresh is None:
        return saved is None or isinstance(saved, bool)
    if isinstance(fresh, (int, float)):
        return isinstance(saved, (int, float)) and not isinstance(saved, bool) and math.isfinite(saved)
    if isinstance(fresh, (list, tuple)):
        return isinstance(saved, (list, tuple)) and len(saved) == len(fresh) and \
            all(_same_kind(s, f) for s, f in zip(saved, fresh))
    return type(saved) is type(fresh)


def check_param_groups(name: str, saved: list, fresh: list) -> None:
    """Refuse saved hyper-parameters that a fresh optimiser of this run could not have written (the
    parameter lists themselves are checked against the players when the state is loaded)."""
    ok = len(saved) == len(fresh) and all(
        set(s) == set(f) and all(_same_kind(s[k], f[k]) for k in f if k != "params") for s, f in zip(saved, fresh))
    if not ok:
        raise MinimaxError(f"checkpoint's {name} settings do not fit this run's optimiser")


def read_latest(run_dir: str | Path, warn=None) -> tuple[dict[str, torch.Tensor], dict]:
    """The newest checkpoint of a run that verifies: the one ``latest`` points to, else (saying so through
    ``warn``) the newest older file that verifies."""
    first = latest_checkpoint(run_dir)
    if first is None:
        raise MinimaxError(f"run {run_dir} has no checkpoint")
    older = [p for p in reversed(list_checkpoints(run_dir)) if step_of(p) < step_of(first)]
    errors = []
    for path in [first, *older]:
        try:
            tensors, meta = read_checkpoint(path)
        except MinimaxError as e:
            errors.append(str(e))
            continue
        if errors and warn:
            warn(f"{errors[0]}; using the older checkpoint {path} (step {meta['step']})")
        return tensors, meta
    raise MinimaxError(errors[0])


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoint files of a run, oldest first (temporary files are ignored)."""
    d = checkpoint_dir(run_dir)
    if not d.is_dir():
        return []
    return sorted((p for p in d.iterdir() if is_checkpoint(p)), key=step_of)


def save_checkpoint(run_dir: Path, trainer, keep: int, extra: dict | None = None) -> Path:
    """Write ``checkpoints/step-XXXXXXXX.safetensors`` atomically, move ``latest``, prune to ``keep``."""
    d = checkpoint_dir(run_dir)
    d.mkdir(parents=True, exist_ok=True)
    # a collective with several processes: all of them call this
    tensors, meta = encode_state(trainer_state(trainer), trainer.cfg.to_dict(), extra)
    path = d / checkpoint_name(trainer.step)
    if not trainer.ctx.is_main:  # rank 0 writes; the others wait until the file is there
        distributed.barrier()
        return path
    atomic_write_bytes(path, encode(tensors, meta), inside=run_dir)
    atomic_write_bytes(d / LATEST, (path.name + "\n").encode(), inside=run_dir)
    for old in list_checkpoints(run_dir)[:-keep]:
        if old != path:
            old.unlink(missing_ok=True)
    if trainer.ctx.active:
        distributed.barrier()
    return path


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint ``latest`` points to; else the newest file that verifies; else None."""
    d = checkpoint_dir(run_dir)
    try:
        name = read_text(d / LATEST).strip()
        if is_checkpoint(name) and (d / name).is_file():
            return d / name
    except (OSError, UnicodeDecodeError):
        pass
    for p in reversed(list_checkpoints(run_dir)):
        try:
            read_checkpoint(p)
            return p
        except MinimaxError:
            continue
    return None
