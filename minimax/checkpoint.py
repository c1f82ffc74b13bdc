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
import os
import re
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from . import distributed
from .errors import MinimaxError

FORMAT = "minimax-checkpoint"
VERSION = 1
CKPT_DIR = "checkpoints"
LATEST = "latest"
_NAME = re.compile(r"^step-(\d{8,})\.safetensors$")


# --------------------------------------------------------------------------------------------
# atomic file writes
def _file_mode() -> int:
    """0o666 less the process umask: the mode open() would have given a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode())  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# state <-> (tensors, meta)
def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key]
        h.update(key.encode())
        h.update(str(t.dtype).encode() + str(tuple(t.shape)).encode())
        h.update(t.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _cpu(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", copy=True).contiguous()


def flatten_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict) -> dict:
    sd = opt.state_dict()
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


def _players(game) -> list[tuple[str, torch.nn.Module]]:
    """The modules a checkpoint holds, by key prefix: G, D, and G's weight average if the run keeps one."""
    return [("G", game.G), ("D", game.D)] + ([("G_ema", game.G_ema)] if game.G_ema is not None else [])


def game_state(game, extra: dict | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in _players(game):
        for k, v in module.state_dict().items():
            tensors[f"{prefix}.{k}"] = _cpu(v)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "step": game.step,
        "lr_scale": game.lr_scale,
        "config": game.cfg.to_dict(),
        "opt_g": flatten_optimizer("opt_g", game.opt_g, tensors),
        "opt_d": flatten_optimizer("opt_d", game.opt_d, tensors),
        **(extra or {}),
    }
    # the statistics accumulated since the last log record, so that record comes out the same
    stats, meta["stats_count"] = game.stats_state()
    cpu_state, cuda_state = game.global_rng_state
    streams = {"rng.data": game.data_rng.get_state(), "rng.noise": game.noise_rng.get_state(), "rng.torch": cpu_state}
    if cuda_state is not None:
        streams["rng.cuda"] = cuda_state
    streams.update({f"stats.{k}": v for k, v in stats.items()})
    if game.ctx.active:  # every process's streams and statistics: rank 0 under the plain keys, rank r under ".rank{r}"
        meta["world_size"] = game.ctx.world
        for key, state in list(streams.items()):
            rows = distributed.all_gather_rows(state.to(game.device)).cpu()
            streams[key] = rows[0]
            streams.update({f"{key}.rank{r}": rows[r] for r in range(1, game.ctx.world)})
    tensors.update({k: _cpu(v) for k, v in streams.items()})
    return tensors, meta


STATS_KEYS = ("sum", "first_bad", "norms")  # Game.stats_state()


def _stream(tensors: dict, key: str, rank: int) -> torch.Tensor:
    return tensors[key if rank == 0 else f"{key}.rank{rank}"]


def restore_game(game, tensors: dict[str, torch.Tensor], meta: dict, resume: bool = True) -> None:
    """Load a checkpoint's state into a freshly built :class:`~minimax.game.Game` of the same config.

    To continue training (``resume``) the number of processes must be the one that wrote it; to sample
    or evaluate, any process takes the players (and rank 0's streams)."""
    world = int(meta.get("world_size", 1))
    if resume and world != game.ctx.world:
        raise MinimaxError(f"this run was trained with {world} process{'es' if world > 1 else ''}; "
                           f"resume it with --nproc {world} (running {game.ctx.world})")
    try:
        for prefix, module in _players(game):
            sd = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
            module.load_state_dict(sd, strict=True)
        game.opt_g.load_state_dict(unflatten_optimizer("opt_g", meta["opt_g"], tensors))
        game.opt_d.load_state_dict(unflatten_optimizer("opt_d", meta["opt_d"], tensors))
        rank = game.ctx.rank if world > 1 else 0
        game.data_rng.set_state(_stream(tensors, "rng.data", rank))
        game.noise_rng.set_state(_stream(tensors, "rng.noise", rank))
        has_cuda = game.device.type == "cuda" and "rng.cuda" in tensors
        game.global_rng_state = (_stream(tensors, "rng.torch", rank),
                                 _stream(tensors, "rng.cuda", rank) if has_cuda else None)
        game.step = int(meta["step"])
        game.lr_scale = float(meta.get("lr_scale", 1.0))
        game.load_stats_state({k: _stream(tensors, f"stats.{k}", rank) for k in STATS_KEYS
                               if f"stats.{k}" in tensors}, meta["stats_count"])
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise MinimaxError(f"checkpoint does not match this run's models: {str(e).splitlines()[0][:200]}") from None


# --------------------------------------------------------------------------------------------
# files
def encode(tensors: dict[str, torch.Tensor], meta: dict) -> bytes:
    meta = {**meta, "sha256": _digest(tensors)}
    return safetensors_bytes(tensors, metadata={"minimax": json.dumps(meta)})


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read and verify one checkpoint file; any problem is a one-line :class:`MinimaxError`."""
    path = Path(path)
    if not path.is_file():
        raise MinimaxError(f"checkpoint {path} does not exist")
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
    except (KeyError, ValueError, TypeError):
        ok = False
    if not ok:
        raise MinimaxError(f"{path} is not a minimax checkpoint")
    if meta.get("version") != VERSION:
        raise MinimaxError(f"checkpoint {path} has format version {meta.get('version')}, "
                           f"this minimax reads version {VERSION}")
    if meta.get("sha256") != _digest(tensors):
        raise MinimaxError(f"checkpoint {path} is corrupt (content checksum mismatch)")
    return tensors, meta


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / CKPT_DIR


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoint files of a run, oldest first (temporary files are ignored)."""
    d = checkpoint_dir(run_dir)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(run_dir: Path, game, keep: int, extra: dict | None = None) -> Path:
    """Write ``checkpoints/step-XXXXXXXX.safetensors`` atomically, move ``latest``, prune to ``keep``."""
    d = checkpoint_dir(run_dir)
    d.mkdir(parents=True, exist_ok=True)
    tensors, meta = game_state(game, extra)  # a collective with several processes: all of them call this
    path = d / f"step-{game.step:08d}.safetensors"
    if not game.ctx.is_main:  # rank 0 writes; the others wait until the file is there
        distributed.barrier()
        return path
    atomic_write_bytes(path, encode(tensors, meta))
    atomic_write_bytes(d / LATEST, (path.name + "\n").encode())
    for old in list_checkpoints(run_dir)[:-keep]:
        if old != path:
            old.unlink(missing_ok=True)
    if game.ctx.active:
        distributed.barrier()
    return path


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint ``latest`` points to; else the newest file that verifies; else None."""
    d = checkpoint_dir(run_dir)
    try:
        name = (d / LATEST).read_text().strip()
        if _NAME.match(name) and (d / name).is_file():
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
