"""What the health monitor's statistics cost per record, against the training they watch: for each setting, the
seconds of ``log_every`` training iterations (the default interval, with the records' diagnostics) and of one
``Yardstick.measure`` (G's 256 fixed-noise samples; diversity and off-the-data; on data with known modes, the modes
covered and precision, recall, density and coverage against 256 fixed data samples), with that last part timed on
its own. Goal (issue #53):
the whole record ≤ 5 % of the training time between two records.

    python benchmarks/monitor_cost.py [--data-dir MNIST_DIR] [--threads 1] [--repeats 5]

Prints one row per setting (medians of the repeats) and the fp32 GEMM rate measured in the same run.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minimax.config import TrainConfig  # noqa: E402
from minimax.run.monitor import DIVERSITY_SAMPLES, DIVERSITY_SEED, Yardstick  # noqa: E402
from minimax.run.sampling import generate  # noqa: E402
from minimax.run.setup import build_trainer  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_step import gemm_gflops  # noqa: E402


def seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def one_setting(kw: dict, repeats: int) -> tuple[int, float, float, float]:
    """(iterations per record, seconds of those iterations, of one record, of its part against the data)."""
    cfg = TrainConfig(**kw, tensorboard="off", device="cpu")
    trainer = build_trainer(cfg)
    yardstick = Yardstick(trainer.data)
    for _ in range(3):
        trainer.iteration(diagnose=True)

    def train_block():
        for i in range(cfg.log_every):
            trainer.iteration(diagnose=i == cfg.log_every - 1)
        trainer.read_stats()

    x = generate(trainer, DIVERSITY_SAMPLES, seed=cfg.seed + DIVERSITY_SEED)
    t_train = seconds(train_block, max(1, repeats // 2))
    t_record = seconds(lambda: yardstick.measure(trainer), repeats)
    t_data = seconds(lambda: yardstick.against_the_data(x), repeats) if yardstick.modes else 0.0
    return cfg.log_every, t_train, t_record, t_data


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", help="MNIST's files (adds the MNIST rows)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    settings = [("ring, MLP (default)", dict(dataset="ring")), ("grid, MLP", dict(dataset="grid")),
                ("gauss1d, MLP", dict(dataset="gauss1d"))]
    if a.data_dir:
        settings += [("MNIST, DCGAN-28", dict(dataset="mnist", model="dcgan", data_dir=a.data_dir)),
                     ("MNIST, Table 1 MLP", dict(dataset="mnist", data_dir=a.data_dir))]
    print(f"fp32 GEMM {gemm_gflops():.0f} GFLOP/s at {a.threads} thread(s)\n")
    print("| setting | iterations per record | training s | record s | of which against the data s "
          "| record / training |\n| --- | --- | --- | --- | --- | --- |")
    for name, kw in settings:
        every, t_train, t_record, t_data = one_setting(kw, a.repeats)
        print(f"| {name} | {every} | {t_train:.3f} | {t_record:.4f} | {t_data:.4f} | {t_record / t_train:.2%} |",
              flush=True)


if __name__ == "__main__":
    main()
