"""Seconds per training iteration of each image player pair on this machine, on a folder of random images
(the same code path as a folder of your own): DCGAN at 32 and 64 px (the 2014 game, the DCGAN recipe), and
R3GAN's players at 28, 32 and 64 px with rpgan + R1 + R2. Also prints the machine's fp32 GEMM rate, so the
numbers can be compared across machines. Run it alone (a second busy process slows torch up to ~25x).

    OMP_NUM_THREADS=2 python benchmarks/bench_players.py [--iterations 5]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

CASES = [  # (label, side, channels, settings)
    ("dcgan, 2014 game", 32, 3, dict(model="dcgan")),
    ("dcgan, 2014 game", 64, 3, dict(model="dcgan")),
    ("r3gan 128,64,32 × 1 block, rpgan + R1 + R2, pack 2", 28, 3,
     dict(model="r3gan", widths=(128, 64, 32), blocks=1, game="rpgan", r1=1.0, r2=1.0, pack=2)),
    ("r3gan default widths, rpgan + R1 + R2", 32, 3, dict(model="r3gan", game="rpgan", r1=1.0, r2=1.0)),
    ("r3gan default widths, rpgan + R1 + R2", 64, 3, dict(model="r3gan", game="rpgan", r1=1.0, r2=1.0)),
]


def gemm_rate(n: int = 1024, repeats: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n ** 3 * repeats / (time.perf_counter() - t) / 1e9


def folder(side: int, root: Path) -> Path:
    from PIL import Image

    d = root / f"img{side}"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(64):
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(d / f"{i}.png")
    return d


def main() -> None:
    from minimax.config import TrainConfig
    from minimax.run.setup import build_trainer

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=5)
    args = p.parse_args()
    print(f"threads {torch.get_num_threads()}, fp32 GEMM {gemm_rate():.0f} GFLOP/s")
    print("| players | side | batch | s / iteration |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for label, side, _, settings in CASES:
            cfg = TrainConfig.resolve(dataset="folder", data_dir=str(folder(side, Path(tmp)) if not
                                      (Path(tmp) / f"img{side}").exists() else Path(tmp) / f"img{side}"),
                                      image_size=side, batch_size=64, out=str(Path(tmp) / "run"), device="cpu",
                                      **settings)
            trainer = build_trainer(cfg)
            trainer.iteration()  # warm-up
            t = time.perf_counter()
            for _ in range(args.iterations):
                trainer.iteration()
            print(f"| {label} | {side} | 64 | {(time.perf_counter() - t) / args.iterations:.2f} |", flush=True)


if __name__ == "__main__":
    main()
