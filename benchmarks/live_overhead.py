"""What ``minimax train --live`` costs when no browser is attached: the whole run (``train_run``) of the default ring
game with and without the live page's server listening and the loop asking its control between iterations, in
alternating blocks in one process (machine noise hits both alike). The ring's MLP step is among minimax's fastest
(a few ms), so a per-iteration cost shows here first. Goal (issue #54): the live run within 5 % of the plain one.

    python benchmarks/live_overhead.py [--steps 1500] [--blocks 3] [--threads 1]

Prints each block's seconds, the median ratio live / plain, and the fp32 GEMM rate measured in the same run.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minimax.config import TrainConfig  # noqa: E402
from minimax.run.loop import train_run  # noqa: E402
from minimax.run.steering import Control  # noqa: E402
from minimax.viz.watch import serve  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_step import gemm_gflops  # noqa: E402  (the same GEMM probe as the step benchmark)


def one_run(out: Path, steps: int, threads: int, live: bool) -> float:
    cfg = TrainConfig(dataset="ring", steps=steps, out=str(out), tensorboard="off")
    control, server = None, None
    if live:
        server = serve(None, port=0)
        control = server.control = Control(on_open=server.attach)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True).start()
    start = time.perf_counter()
    train_run(cfg, progress=False, threads=threads, control=control)
    seconds = time.perf_counter() - start
    if server is not None:
        server.shutdown()
        server.server_close()
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--blocks", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}, fp32 GEMM {gemm_gflops():.0f} GFLOP/s; ring, {args.steps} iterations per run")
    times: dict[str, list[float]] = {"plain": [], "live": []}
    with tempfile.TemporaryDirectory() as tmp:
        for block in range(args.blocks):
            for kind in (("plain", "live") if block % 2 == 0 else ("live", "plain")):
                seconds = one_run(Path(tmp) / f"{kind}-{block}", args.steps, args.threads, kind == "live")
                times[kind].append(seconds)
                print(f"block {block}: {kind:5s} {seconds:7.2f} s ({1e3 * seconds / args.steps:.2f} ms/iteration)",
                      flush=True)
    plain, live = statistics.median(times["plain"]), statistics.median(times["live"])
    print(f"median: plain {plain:.2f} s, live {live:.2f} s, ratio live / plain {live / plain:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
