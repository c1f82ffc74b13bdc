"""Start-up time: `import minimax` and `minimax ... --help` in fresh interpreters, against `import torch` (what every
command paid before it could print its help) and a bare interpreter, measured in the same run.

    python benchmarks/startup.py [--repeats 7]

Each line is the median wall time of REPEATS fresh processes, run one after another; run it alone on the machine
(docs/speed.md, "Start-up").
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python (bare interpreter)": [sys.executable, "-c", "pass"],
    "import torch (the baseline)": [sys.executable, "-c", "import torch"],
    "import minimax": [sys.executable, "-c", "import minimax"],
    "import minimax; minimax.log_d (loads torch)": [sys.executable, "-c", "import minimax; minimax.log_d"],
    "minimax --help": [sys.executable, "-m", "minimax", "--help"],
    "minimax train --help": [sys.executable, "-m", "minimax", "train", "--help"],
    "minimax eval fid --help": [sys.executable, "-m", "minimax", "eval", "fid", "--help"],
}


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    for cmd in CASES.values():  # warm the file cache once
        wall(cmd)
    times = {name: statistics.median(wall(cmd) for _ in range(args.repeats)) for name, cmd in CASES.items()}
    torch_time = times["import torch (the baseline)"]
    print(f"| what | median of {args.repeats} (s) | / import torch |")
    print("| --- | --- | --- |")
    for name, t in times.items():
        print(f"| {name} | {t:.3f} | {t / torch_time:.2f} |")


if __name__ == "__main__":
    main()
