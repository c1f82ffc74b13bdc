"""The convolutional training step against this machine's limit: FLOPs of one iteration, the rate this CPU reaches
on the same convolution and matrix shapes, the fraction of it that minimax's iteration reaches, where the rest of
the time goes, and the ratio to a plain PyTorch loop of the same players.

For each case (players × image side × game), one minimax iteration (Algorithm 1, k = 1: a D step on fresh real and
generated minibatches, then a G step on fresh noise) is

* **counted**: every matrix product and convolution it runs — forward, both backward products (input and weight
  gradients) and, for R1/R2, the double backward — is recorded at torch's dispatcher with its shapes, and its
  FLOPs are counted from those shapes (``torch.utils.flop_counter``: 2·N·C_out·H_out·W_out·(C_in/groups)·k_h·k_w
  for a convolution forward, likewise for each backward product; 2·m·n·k for a product of m×k and k×n);
* **replayed**: each recorded product is run again alone, on fresh tensors of the same shapes, strides and dtype,
  until it has run ≥ 20 ms; the sum of these times is what the iteration's products cost at this CPU's
  **same-shape rate** (its FLOPs over that sum). The fraction reached = that sum / the measured iteration time: 1
  means the iteration is nothing but its products, each at the speed it runs alone;
* **profiled** (torch.profiler, self CPU time by operator over two iterations): the share of the products and the
  largest other operators;
* **compared** with a plain PyTorch loop of the same players and game (no statistics, no streams, no checkpoint
  machinery), timed in alternating blocks in the same process.

The fp32 GEMM rate (1024×1024, the machine's best case) is printed too, so numbers travel between machines.
Run it alone (another busy process changes every number): ``python benchmarks/conv_step.py [--cases ...]``;
``--threads N`` sets torch's threads (default: torch's choice).
"""
from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_step import gemm_gflops  # noqa: E402  (the same GEMM probe as the other benchmarks)

from minimax.algorithm.trainer import Trainer  # noqa: E402
from minimax.config import TrainConfig  # noqa: E402
from minimax.data.images import ImageData  # noqa: E402
from minimax.data.stacked import StackedMNIST  # noqa: E402
from minimax.players import build_players  # noqa: E402

RPGAN = dict(game="rpgan", r1=1.0, r2=1.0)
# name -> (channels, side, settings): DCGAN at the three sides it is used at, R3GAN's players narrow (the Stacked
# MNIST config) and at their default widths
CASES = {
    "dcgan-28": (1, 28, dict(dataset="mnist", model="dcgan")),
    "dcgan-32": (3, 32, dict(dataset="folder", image_size=32, model="dcgan")),
    "dcgan-64": (3, 64, dict(dataset="folder", image_size=64, model="dcgan")),
    "dcgan-28 rpgan+R1+R2": (1, 28, dict(dataset="mnist", model="dcgan", d_norm="none", **RPGAN)),
    "dcgan-28 rpgan+R1+R2, every 16": (1, 28, dict(dataset="mnist", model="dcgan", d_norm="none", reg_every=16,
                                                   **RPGAN)),
    "stacked dcgan-28 pack 2 rpgan+R1+R2": (3, 28, dict(dataset="stacked-mnist", model="dcgan", d_norm="none",
                                                        pack=2, batch_size=128, amp="off", **RPGAN)),
    "r3gan 128,64,32 28 px rpgan+R1+R2": (3, 28, dict(dataset="folder", image_size=28, model="r3gan",
                                                      widths=(128, 64, 32), blocks=1, **RPGAN)),
    "r3gan default 32 px rpgan+R1+R2": (3, 32, dict(dataset="folder", image_size=32, model="r3gan", **RPGAN)),
}
QUICK = ("dcgan-28", "dcgan-32", "dcgan-28 rpgan+R1+R2", "dcgan-28 rpgan+R1+R2, every 16",
         "r3gan 128,64,32 28 px rpgan+R1+R2")
PRODUCTS = ("convolution", "convolution_backward", "mm", "addmm", "bmm", "baddbmm", "_convolution")


def trainer_for(name: str, batch_size: int | None) -> Trainer:
    channels, side, settings = CASES[name]
    settings = dict(settings)
    if batch_size:
        settings["batch_size"] = batch_size * settings.get("pack", 1)
    cfg = TrainConfig(**{"batch_size": 64, **settings}, device="cpu", seed=0).validate()
    g = torch.Generator().manual_seed(0)
    # Stacked MNIST stacks three one-channel digits; the other cases' images have the case's channels
    stored = 1 if cfg.dataset == "stacked-mnist" else channels
    images = ImageData("random", torch.randint(0, 256, (2048, stored, side, side), generator=g, dtype=torch.uint8),
                       "cpu", "tanh", labels=torch.randint(0, 10, (2048,), generator=g))
    data = StackedMNIST(images) if cfg.dataset == "stacked-mnist" else images
    torch.manual_seed(0)
    G, D = build_players(cfg, data)
    return Trainer(cfg, data, G, D, torch.device("cpu"))


class Recorder(TorchDispatchMode):
    """Records every matrix product and convolution (the op, its arguments' shapes, strides and dtypes) and counts
    its FLOPs with torch's own formulas (``torch.utils.flop_counter.flop_registry``, from the shapes). Not
    FlopCounterMode itself: its module hooks do not allow ``autograd.grad`` with respect to an input (R1/R2)."""

    def __init__(self):
        super().__init__()
        self.calls, self.flops = [], 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func.overloadpacket.__name__ in PRODUCTS:
            self.calls.append((func, _describe(args), _describe(kwargs)))
            formula = flop_registry.get(func.overloadpacket)
            if formula is not None:
                self.flops += formula(*args, **kwargs, out_val=out)
        return out


def _describe(x):
    if isinstance(x, torch.Tensor):
        return ("tensor", tuple(x.shape), tuple(x.stride()), x.dtype)
    if isinstance(x, (list, tuple)):
        return type(x)(_describe(v) for v in x)
    if isinstance(x, dict):
        return {k: _describe(v) for k, v in x.items()}
    return x


def _build(d):
    if isinstance(d, tuple) and len(d) == 4 and d[0] == "tensor":
        _, shape, stride, dtype = d
        storage = 1 + sum((n - 1) * st for n, st in zip(shape, stride)) if all(shape) else 0
        return torch.randn(storage, dtype=dtype).as_strided(shape, stride)  # (stride 0: an expanded tensor)
    if isinstance(d, (list, tuple)):
        return type(d)(_build(v) for v in d)
    if isinstance(d, dict):
        return {k: _build(v) for k, v in d.items()}
    return d


def replay_seconds(calls, min_seconds: float = 0.02) -> float:
    """The time of running every recorded product alone on fresh tensors of its shapes (identical calls once)."""
    counts = collections.Counter((c[0], repr(c[1]), repr(c[2])) for c in calls)
    first = {}
    for c in calls:
        first.setdefault((c[0], repr(c[1]), repr(c[2])), c)
    total = 0.0
    for key, n in counts.items():
        func, args, kwargs = first[key]
        a, kw = _build(args), _build(kwargs)
        func(*a, **kw)  # warm-up
        reps, t = 0, time.perf_counter()
        while time.perf_counter() - t < min_seconds or reps < 2:
            func(*a, **kw)
            reps += 1
        total += n * (time.perf_counter() - t) / reps
    return total


def count(trainer: Trainer):
    """(FLOPs of one iteration, its recorded products); with lazy regularisation (``reg_every`` N) the mean over N
    iterations, one of them regularised (the products of all N recorded, their time to be divided by N)."""
    recorder, n = Recorder(), trainer.cfg.reg_every
    with recorder:
        for _ in range(n):
            trainer.iteration()
    return recorder.flops / n, recorder.calls


def profile_shares(trainer: Trainer, iterations: int = 2, top: int = 6) -> tuple[float, list[tuple[str, float]]]:
    """The products' share of self CPU time, and the largest other operators' shares."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(iterations):
            trainer.iteration()
    rows = [(e.key, e.self_cpu_time_total) for e in prof.key_averages()]
    total = sum(t for _, t in rows) or 1.0
    products = ("aten::" + p for p in PRODUCTS + ("mkldnn_convolution", "convolution_backward_overrideable",
                                                 "_slow_conv2d_forward", "_slow_conv2d_backward",
                                                 "slow_conv_transpose2d", "mkldnn_convolution_backward",
                                                 "linear", "matmul"))
    names = set(products)
    share = sum(t for k, t in rows if k in names or "conv" in k) / total
    others = sorted(((k, t / total) for k, t in rows if not (k in names or "conv" in k)), key=lambda r: -r[1])
    return share, others[:top]


# -- the plain PyTorch loop of the same players -----------------------------------------------------------------
def plain_loop(trainer: Trainer):
    """Algorithm 1 with k = 1 written out for these players: the game's losses from logits (the 2014 game's
    non-saturating form, or rpgan), R1/R2 by autograd, Adam; nothing else."""
    cfg, G, D, data = trainer.cfg, trainer.G, trainer.D, trainer.data
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    m, gen = cfg.batch_size, torch.Generator().manual_seed(1)
    step = [0]

    def real():
        x = data.sample(m, gen, torch.device("cpu"))
        return x.contiguous(memory_format=torch.channels_last) if trainer.channels_last else x

    def noise():
        return torch.randn(m, cfg.latent_dim, generator=gen) if cfg.prior == "normal" else \
            torch.rand(m, cfg.latent_dim, generator=gen) * 2 - 1

    def r(points):  # mean_i ‖∇_x D(x_i)‖²
        p = points.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(D(p).sum(), p, create_graph=True)
        return g.pow(2).sum() / p.shape[0]

    def iteration():
        x, z = real(), noise()
        with torch.no_grad():
            fake = G(z)
        if trainer.d_joint:
            logits = D(torch.cat([x, fake]))
            lr_, lf = logits[: len(logits) // 2], logits[len(logits) // 2:]
        else:
            lr_, lf = D(x), D(fake)
        if cfg.game == "rpgan":
            d_loss = F.softplus(lf - lr_).mean()
        else:
            d_loss = F.softplus(-lr_).mean() + F.softplus(lf).mean()
        if cfg.r1 and step[0] % cfg.reg_every == 0:
            d_loss = d_loss + cfg.reg_every * cfg.r1 / 2 * r(x) + cfg.reg_every * cfg.r2 / 2 * r(fake)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        z = noise()
        if cfg.game == "rpgan":
            x = real()
            with torch.no_grad():
                lr_ = D(x)
            g_loss = F.softplus(lr_ - D(G(z))).mean()
        else:
            g_loss = F.softplus(-D(G(z))).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward(inputs=list(G.parameters()))
        opt_g.step()
        step[0] += 1

    return iteration


def seconds(fn, iterations: int) -> float:
    t = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - t) / iterations


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=list(QUICK), choices=list(CASES), metavar="CASE",
                   help=f"default: {', '.join(QUICK)}; all: {', '.join(CASES)}")
    p.add_argument("--iterations", type=int, default=6, help="iterations per timed block")
    p.add_argument("--blocks", type=int, default=3, help="alternating blocks of minimax and the plain loop")
    p.add_argument("--batch-size", type=int, default=None, help="D inputs per step (default: the case's)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-profile", action="store_true")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32 GEMM {gemm_gflops():.0f} GFLOP/s")
    print("| case | batch | GFLOP / it | minimax s / it | GFLOP/s | same-shape rate GFLOP/s | fraction reached | "
          "plain loop s / it | minimax / plain |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    notes = []
    for name in args.cases:
        trainer = trainer_for(name, args.batch_size)
        plain = plain_loop(trainer_for(name, args.batch_size))
        trainer.iteration()
        plain()  # warm-up
        flops, calls = count(trainer)
        ideal = replay_seconds(calls) / trainer.cfg.reg_every
        mine, theirs = [], []
        for _ in range(args.blocks):
            mine.append(seconds(trainer.iteration, args.iterations))
            theirs.append(seconds(plain, args.iterations))
        t, tp = statistics.median(mine), statistics.median(theirs)
        print(f"| {name} | {trainer.cfg.batch_size} | {flops / 1e9:.2f} | {t:.3f} | {flops / t / 1e9:.1f} | "
              f"{flops / ideal / 1e9:.1f} | {ideal / t:.2f} | {tp:.3f} | {t / tp:.2f} |", flush=True)
        if not args.no_profile:
            share, others = profile_shares(trainer)
            notes.append(f"{name}: products {share:.0%} of self CPU time; then " +
                         ", ".join(f"{k.removeprefix('aten::')} {s:.0%}" for k, s in others))
    for n in notes:
        print(n)


if __name__ == "__main__":
    main()
