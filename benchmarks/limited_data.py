"""Limited data: MNIST from its first 500 or 2,000 training digits, DCGAN against R3GAN's players, with and
without DiffAugment, each trained for the same wall time, scored by FID on the classifier's features against
the full test set (10,000 digits; minimax eval fid --features classifier).

Every run is `minimax train` for --minutes of wall time on --threads threads, stopped with SIGTERM (the run
finishes its step and checkpoints), one at a time; the table gives the iterations each reached, so
`minimax train ... --steps S` replays any row exactly (the learning rate is constant). Then:

    minimax eval fid RUN --data-dir DIR --features classifier

The recipe is the same for both players (the modern baseline's: rpgan + R1 + R2, γ = 1, Adam 2e-4, β1 0.5, EMA
of G 0.999, batch 64, z ~ N(0, I)^64); DCGAN's D has no normalisation (R1 and R2 need per-example gradients).

    python benchmarks/limited_data.py --data-dir DIR --out runs/limited [--minutes 4] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

AUGMENT = "color,translation,cutout"
COMMON = ["--dataset", "mnist", "--game", "rpgan", "--r1", "1", "--r2", "1", "--lr", "2e-4", "--beta1", "0.5",
          "--g-ema", "0.999", "--batch-size", "64", "--latent-dim", "64", "--lr-decay", "none",
          "--checkpoint-every", "1000000", "--log-every", "50", "--no-plots", "--tensorboard", "off"]
PLAYERS = {"dcgan": ["--model", "dcgan", "--d-norm", "none"],
           "r3gan": ["--model", "r3gan", "--widths", "128,64,32", "--blocks", "1"]}


def settings(n: int, player: str, augment: bool) -> list[str]:
    return [*COMMON, "--train-images", str(n), *PLAYERS[player], *(["--augment", AUGMENT] if augment else [])]


def train_for(minutes: float, args: list[str], run: Path, threads: int) -> int:
    """Train until ``minutes`` have passed (SIGTERM, then the run checkpoints its step); the steps reached."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, "-m", "minimax", "train", *args, "--steps", "1000000", "--out", str(run),
           "--progress", "off"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        proc.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=600)
    if proc.returncode not in (0, 3, 130, 143):  # finished, or stopped by the signal (its checkpoint written)
        sys.exit(f"{run}: minimax train failed ({proc.returncode}): {proc.stderr.read()[-2000:]}")
    return steps_of(run)


def steps_of(run: Path) -> int:
    """The iteration of the run's latest checkpoint (a run stopped by a signal writes no summary)."""
    name = (run / "checkpoints" / "latest").read_text().strip()
    return int(name.removeprefix("step-").removesuffix(".safetensors"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", default="runs/limited")
    p.add_argument("--minutes", type=float, default=4.0, help="wall time per run")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sizes", default="500,2000")
    p.add_argument("--grid", help="a PNG of 12 samples per run (noise seed 0), one row per run in the table's order")
    args = p.parse_args()
    out = Path(args.out)
    rows = []
    for n in map(int, args.sizes.split(",")):
        for player in PLAYERS:
            for aug in (False, True):
                run = out / f"n{n}-{player}-{'aug' if aug else 'plain'}"
                if not (run / "checkpoints" / "latest").exists():
                    t = time.time()
                    train_for(args.minutes, [*settings(n, player, aug), "--data-dir", args.data_dir], run,
                              args.threads)
                    print(f"{run}: {time.time() - t:.0f} s", file=sys.stderr)
                steps = steps_of(run)
                if not (run / "fid.json").exists():
                    subprocess.run([sys.executable, "-m", "minimax", "eval", "fid", str(run), "--data-dir",
                                    args.data_dir, "--features", "classifier"], check=True,
                                   env={**os.environ, "OMP_NUM_THREADS": str(args.threads)}, stdout=subprocess.DEVNULL)
                fid = json.loads((run / "fid.json").read_text())["fid"]
                rows.append((n, player, aug, steps, fid, run))
    if args.grid:
        import numpy as np

        from minimax.api import sample
        from minimax.viz.grids import save_image_grid

        grid = [sample(str(row[-1]), 12, seed=0).numpy() for row in rows]
        save_image_grid(np.concatenate(grid), Path(args.grid), cols=12)
    print("| training digits | players | DiffAugment | iterations | FID (classifier features, vs test) | command |")
    print("| --- | --- | --- | --- | --- | --- |")
    for n, player, aug, steps, fid, run in rows:
        cmd = " ".join(["minimax train", *settings(n, player, aug), "--data-dir DIR", "--steps", str(steps),
                        "--out", str(run)])
        print(f"| {n:,} | {player} | {'yes' if aug else 'no'} | {steps:,} | {fid:.2f} | `{cmd}` |")


if __name__ == "__main__":
    main()
