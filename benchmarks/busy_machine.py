"""Training speed on a machine that is doing something else: iterations/s of the default ring run and of a
DCGAN MNIST step, alone and beside one busy single-threaded process, for each OpenMP wait policy and with one
thread (--threads 1).

    python benchmarks/busy_machine.py --data-dir DIR        # ~6 minutes on 2 cores

torch's OpenMP threads spin-wait for each other at the end of every parallel kernel (libgomp's default policy);
when one of them is descheduled because another process holds its core, the others spin until it comes back,
so many small kernels turn into many lost time slices. minimax looks at the machine at start-up and, when other
processes keep it busy, sets OMP_WAIT_POLICY=PASSIVE before torch loads (waiting threads sleep: same threads,
same kernels, same results; minimax/openmp.py). This script measures spinning, sleeping and minimax's choice in
the same session: each configuration in a fresh process (the policy is read once, when the OpenMP runtime
starts), its speed read from the run's metrics log (the mean of iterations/s over the records after the first),
and prints the slowdown ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUSY = "while True:\n    pass\n"


def speed(args: list[str], env: dict, busy: bool) -> float:
    """Iterations/s of ``minimax train ARGS`` in a fresh process, beside a busy process or alone."""
    with tempfile.TemporaryDirectory() as tmp:
        hog = subprocess.Popen([sys.executable, "-c", BUSY]) if busy else None
        try:
            time.sleep(0.5 if busy else 0)
            subprocess.run([sys.executable, "-m", "minimax", "train", *args, "--out", f"{tmp}/run", "--progress",
                            "off", "--no-plots", "--tensorboard", "off"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        finally:
            if hog:
                hog.kill()
                hog.wait()
        records = [json.loads(line) for line in Path(tmp, "run", "metrics.jsonl").read_text().splitlines()]
        rates = [r["steps_per_sec"] for r in records if "steps_per_sec" in r][1:]
        return sum(rates) / len(rates)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", help="MNIST files, for the DCGAN step (skipped without)")
    p.add_argument("--ring-steps", type=int, default=1500)
    p.add_argument("--dcgan-steps", type=int, default=300)
    a = p.parse_args()
    jobs = {"ring (default recipe)": ["--steps", str(a.ring_steps), "--log-every", "250"]}
    if a.data_dir:
        jobs["DCGAN MNIST, batch 64"] = ["--dataset", "mnist", "--data-dir", a.data_dir, "--model", "dcgan",
                                         "--batch-size", "64", "--steps", str(a.dcgan_steps), "--log-every", "50"]
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    policies = {"spin (ACTIVE)": {**base, "OMP_WAIT_POLICY": "ACTIVE"},
                "sleep (PASSIVE)": {**base, "OMP_WAIT_POLICY": "PASSIVE"},
                "minimax's choice": base}  # minimax/openmp.py: PASSIVE when the machine is busy at start-up
    threads = ["--threads", "1"]  # one thread: nothing to wait for (its results differ in the last bits)
    print(f"cores: {os.cpu_count()}; each number: iterations/s of a fresh `minimax train` process")
    for job, args in jobs.items():
        for policy, env, more in [(p, e, []) for p, e in policies.items()] + [("--threads 1", base, threads)]:
            alone, busy = speed(args + more, env, False), speed(args + more, env, True)
            print(f"{job:<24} {policy:<24} alone {alone:7.1f} it/s   beside a busy process {busy:7.1f} it/s   "
                  f"slowdown {alone / busy:5.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
