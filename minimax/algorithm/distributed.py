r"""Data-parallel play on torch.distributed: several processes, one game.

Each of the W processes draws its own minibatches (m data points and m noise
samples from its own random streams) and computes its players' gradients; the
gradients are averaged with one ``all_reduce`` per player before every optimiser
step, so every process holds the same players and each step is the step that
Algorithm 1 takes on a minibatch of W·m samples:

    ∇θ (1/(W m)) Σ_{r=1..W} Σ_{i=1..m} ℓ(x_{r,i}, z_{r,i})  =  (1/W) Σ_r ∇θ (1/m) Σ_i ℓ(x_{r,i}, z_{r,i}).

Rank 0 writes the run directory (log, checkpoints, samples, plots); checkpoints
carry every rank's random streams so a distributed run resumes exactly.

Start it with ``minimax train --nproc W ...`` (local processes, gloo on CPU,
NCCL with one GPU per process), or under ``torchrun`` (the environment variables
RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT are honoured).
"""
from __future__ import annotations

import multiprocessing as mp
import multiprocessing.util
import os
import signal
import socket
import sys
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from ..errors import MinimaxError

# a process that fails (or is killed) leaves the others waiting in a collective; they give up after this
TIMEOUT = timedelta(minutes=5)


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def current() -> Context:
    if dist.is_available() and dist.is_initialized():
        return Context(dist.get_rank(), dist.get_world_size())
    return Context()


def init_from_env(device_type: str) -> Context:
    """Join the process group described by torchrun's environment variables (no-op without them)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or (dist.is_available() and dist.is_initialized()):
        return current()
    dist.init_process_group("nccl" if device_type == "cuda" else "gloo", timeout=TIMEOUT)
    return current()


def mean_(t: torch.Tensor) -> torch.Tensor:
    """t ← mean of t over the processes, in place."""
    dist.all_reduce(t)
    return t.div_(dist.get_world_size())


def min_(t: torch.Tensor) -> torch.Tensor:
    """t ← elementwise minimum of t over the processes, in place."""
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return t


def average_gradients(params: list[torch.Tensor]) -> None:
    """p.grad ← mean over processes of p.grad, for every parameter, in one collective."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = mean_(_flatten_dense_tensors(grads))
    for g, avg in zip(grads, _unflatten_dense_tensors(flat, grads)):
        g.copy_(avg)


def broadcast_object(obj):
    """Rank 0's ``obj`` (picklable), on every process."""
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def broadcast_parameters(*modules: torch.nn.Module) -> None:
    """Every process starts from rank 0's weights and buffers."""
    for module in modules:
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def all_gather_rows(t: torch.Tensor) -> torch.Tensor:
    """[W, *t.shape]: this tensor from every process (same shape everywhere)."""
    out = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(out, t.contiguous())
    return torch.stack(out)


def gather_states(state: dict[str, dict[str, torch.Tensor]], device: torch.device) -> list[dict]:
    """Every process's ``{group: {name: tensor}}`` (same keys and shapes everywhere), in rank order."""
    rows = {g: {k: all_gather_rows(v.to(device)).cpu() for k, v in d.items()} for g, d in state.items()}
    return [{g: {k: r[rank] for k, r in d.items()} for g, d in rows.items()} for rank in range(dist.get_world_size())]


def any_true(flag: bool, device: torch.device) -> bool:
    """Whether ``flag`` is set on any process (one small collective)."""
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def leave() -> None:
    """Leave the process group together: wait for every process (rank 0 may still be evaluating), then
    destroy the group, so no gloo thread still holds tensors when the interpreter shuts down (which
    aborts it: "terminate called without an active exception")."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        dist.barrier()
    except RuntimeError:  # a process that failed alone: the others time out here, then leave
        pass
    dist.destroy_process_group()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(fn, nproc: int, args: tuple) -> list[int]:
    """Run ``fn(rank, nproc, port, *args)`` in ``nproc`` local processes; return their exit codes."""
    ctx = mp.get_context("spawn")
    port = free_port()
    procs = [ctx.Process(target=fn, args=(rank, nproc, port, *args)) for rank in range(nproc)]
    for p in procs:
        p.start()

    def forward(signum, frame):  # SIGTERM/SIGINT to the launcher: every process checkpoints and stops
        for p in procs:
            if p.pid is not None and p.is_alive():
                os.kill(p.pid, signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for p in procs:
            p.join()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return [p.exitcode for p in procs]


def init_local(rank: int, world: int, port: int, device_type: str) -> Context:
    """Join a local process group of ``world`` processes (used by :func:`spawn`'s children): the
    environment torchrun would have set, then :func:`init_from_env`."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    return init_from_env(device_type)


def settle(ctx: Context) -> None:
    """A process of a distributed run takes its share of the CPU threads and its own GPU (device
    'cuda' / 'auto' then means this process's GPU, see train.resolve_device)."""
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // ctx.world))
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", ctx.rank)) % torch.cuda.device_count())


def join_from_env(device_type: str) -> None:
    """Under torchrun (WORLD_SIZE > 1 in the environment): join its process group and settle."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not current().active:
        settle(init_from_env(device_type))


def launch(fn, nproc: int, args: tuple, device_type: str) -> int:
    """Run ``fn(*args)`` (which returns an exit status) in ``nproc`` local processes that form one group.
    Returns rank 0's status, else the worst; a process killed by signal S counts as 128 + S."""
    if current().active or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise MinimaxError("--nproc starts its own processes; under torchrun leave it out")
    codes = [128 - c if c < 0 else c for c in spawn(_process, nproc, (fn, args, device_type))]
    return codes[0] or max(codes)


def _process(rank: int, world: int, port: int, fn, args: tuple, device_type: str) -> None:
    """One process started by :func:`launch`: join the group, run, leave together, exit with the status.

    The exit skips interpreter finalisation (os._exit, after flushing the standard streams): even after
    destroy_process_group, a gloo worker thread can still hold a tensor whose destruction during
    finalisation aborts the process (SIGABRT, "terminate called without an active exception"; seen once
    in ~20 runs of the --nproc test). Everything the run writes is already fsynced by then."""
    code = 0
    try:
        settle(init_local(rank, world, port, device_type))
        code = fn(*args)
    except KeyboardInterrupt:
        code = 130
    finally:
        leave()
    multiprocessing.util._exit_function()  # what a multiprocessing child runs at its end (releases semaphores)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
