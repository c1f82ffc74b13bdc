"""What R1 and R2 cost: seconds per iteration of a game with and without the zero-centred gradient penalties,
on the same players, timed in alternating blocks in one process (machine noise hits every variant alike).

R1 = (γ/2)·E‖∇_x D(x)‖² on real data and R2 = (γ/2)·E‖∇_x D(x)|_{x=G(z)}‖² on generated data each need the
gradient of D's output with respect to its input with a graph (create_graph=True), then the backward through
it: a double backward through D, once per penalty per D step. The variants, per set of players:

    minimax            the 2014 game, non-saturating G loss (the baseline: ratio 1)
    rpgan              the relativistic pairing game (its G step also runs D on a fresh real minibatch)
    rpgan + R1         (γ = 0.1)
    rpgan + R1 + R2    the R3GAN recipe
    rpgan + R1 + R2, every 4 / every 16   lazy regularisation (--reg-every N: the penalties on every N-th
                       iteration, weighted by N; StyleGAN2 App. B uses 16)
    minimax + R1 + R2

The last column is each variant's time over the same game's without penalties: the penalties' overhead (the
goal of issue #50 for the lazy variants: at most 1.15).

Players: the default ring (MLP, batch 256), DCGAN on 1×32×32 images (batch 64) and DCGAN-28 on Stacked MNIST's
3×28×28 with PacGAN2 packing (64 packed inputs; configs/stacked-mnist-rpgan.toml's players), both with no
normalisation in D (R1/R2 need a per-example D; every variant gets the same players); images are random
(pixels do not change the cost), fp32. Prints a table of s/iteration and the ratio to the baseline, and the fp32 GEMM
rate measured in the same run (timings differ ~2x between machines).

    python benchmarks/penalty_cost.py [--blocks 3] [--seconds 4] [--players ring dcgan stacked]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minimax.algorithm.trainer import Trainer  # noqa: E402
from minimax.config import TrainConfig  # noqa: E402
from minimax.data import load_dataset  # noqa: E402
from minimax.data.images import ImageData  # noqa: E402
from minimax.data.stacked import StackedMNIST  # noqa: E402
from minimax.players import build_players  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_step import gemm_gflops  # noqa: E402  (the same GEMM probe as the step benchmark)

VARIANTS = {"minimax": dict(game="minimax"), "rpgan": dict(game="rpgan"), "rpgan + R1": dict(game="rpgan", r1=0.1),
            "rpgan + R1 + R2": dict(game="rpgan", r1=0.1, r2=0.1),
            "rpgan + R1 + R2, every 4": dict(game="rpgan", r1=0.1, r2=0.1, reg_every=4),
            "rpgan + R1 + R2, every 16": dict(game="rpgan", r1=0.1, r2=0.1, reg_every=16),
            "minimax + R1 + R2": dict(game="minimax", r1=0.1, r2=0.1)}
PLAYERS = {"ring": dict(dataset="ring"), "dcgan": dict(dataset="mnist", model="dcgan", d_norm="none", batch_size=64),
           "stacked": dict(dataset="stacked-mnist", model="dcgan", d_norm="none", pack=2, batch_size=128,
                           prior="uniform")}


def data_for(cfg: TrainConfig):
    if cfg.dataset == "ring":
        return load_dataset(cfg)
    g = torch.Generator().manual_seed(0)
    side = 28 if cfg.dataset == "stacked-mnist" else 32
    images = ImageData("random", torch.randint(0, 256, (2048, 1, side, side), generator=g, dtype=torch.uint8),
                       "cpu", "tanh", labels=torch.randint(0, 10, (2048,), generator=g))
    return StackedMNIST(images) if cfg.dataset == "stacked-mnist" else images


def build(players: str, variant: str) -> Trainer:
    cfg = TrainConfig(**PLAYERS[players], **VARIANTS[variant], device="cpu", seed=0, amp="off").validate()
    data = data_for(cfg)
    G, D = build_players(cfg, data)
    return Trainer(cfg, data, G, D, torch.device("cpu"))


def seconds_per_iteration(game: Trainer, seconds: float) -> float:
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds or n < 2:
        game.iteration()
        n += 1
    return (time.perf_counter() - start) / n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--players", nargs="+", default=list(PLAYERS), choices=list(PLAYERS))
    p.add_argument("--blocks", type=int, default=3, help="timed blocks per variant, alternating (median kept)")
    p.add_argument("--seconds", type=float, default=4.0, help="length of one block")
    args = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32 GEMM {gemm_gflops():.0f} GFLOP/s")
    print("| players | variant | s/iteration | ratio to minimax | penalties' overhead |")
    print("| --- | --- | --- | --- | --- |")
    for players in args.players:
        games = {v: build(players, v) for v in VARIANTS}
        for game in games.values():  # warm-up: allocations, first-call overheads
            seconds_per_iteration(game, 0.5)
        times = {v: [] for v in VARIANTS}
        for _ in range(args.blocks):
            for v, game in games.items():
                times[v].append(seconds_per_iteration(game, args.seconds))
        base = statistics.median(times["minimax"])
        for v in VARIANTS:
            t = statistics.median(times[v])
            plain = statistics.median(times[VARIANTS[v]["game"]])  # the same game without penalties
            overhead = f"{t / plain:.2f}" if "R1" in v else ""
            print(f"| {players} | {v} | {t:.4f} | {t / base:.2f} | {overhead} |", flush=True)


if __name__ == "__main__":
    main()
