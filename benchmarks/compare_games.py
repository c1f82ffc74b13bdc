"""The small-scale "Are GANs created equal?" (Lucic et al. 2018) on the 2-D mixtures: every game of
minimax, the same data, players, iterations and seeds; each run's mode coverage, high-quality fraction
and reverse KL (the numbers of `minimax train`'s summary), collected into one table.

    python benchmarks/compare_games.py --datasets ring grid --seeds 0 1 2 3 4 --jobs 2 --out runs/compare

Each run is `minimax train --dataset D --game G --seed S` with the dataset's preset (tuned for the 2014
game) and the game's own preset where it has one (wgan-gp: Gulrajani et al.'s λ = 10, k = 5, Adam 1e-4,
β = (0, 0.9)); ``--set key=value`` adds settings to every run. Runs go ``--jobs`` at a time (one torch
thread each); ``--time-limit`` stops launching and kills what is still running (reported as missing).
Results: OUT/results.jsonl (one line per run) and a Markdown table on stdout; ``--table`` prints the table
of an existing results.jsonl. A run that stops on a non-finite loss (exit 3) is counted as diverged.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from minimax.catalogue import GAME_GOALS as GOAL  # noqa: E402  (issue #40: mean modes and high quality over seeds)
from minimax.games import GAMES  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_games_mnist import refuse_tuning_seeds  # noqa: E402  (one rule for both tables)


def meets_goal(dataset: str, runs: list[dict]) -> bool:
    """Whether the runs' mean modes and mean high-quality fraction reach GOAL[dataset] (no goal: True)."""
    goal_modes, goal_hq = GOAL.get(dataset, (0, 0))
    return (statistics.mean(r["modes"] for r in runs) >= goal_modes
            and statistics.mean(r["high_quality"] for r in runs) >= goal_hq)


def command(dataset: str, game: str, seed: int, out: Path, device: str, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "minimax", "train", "--dataset", dataset, "--game", game, "--seed", str(seed),
            "--device", device, "--out", str(out), "--no-plots", "--tensorboard", "off", "--progress", "off",
            "--snapshots", "1", "--keep-checkpoints", "1", *extra]


def run_all(todo: list[tuple[tuple, list[str], Path]], jobs: int, time_limit: float, log, results: list[dict],
            fields: Callable[[tuple], dict] = lambda key: dict(zip(("dataset", "game", "seed"), key))) -> None:
    """Runs the commands ``todo`` (key, argv, run dir) ``jobs`` at a time, one torch thread each; appends one
    record per run (``fields(key)``, seconds, exit, the summary's modes / high quality / reverse KL) to
    ``results`` and to the open file ``log``. After ``time_limit`` seconds nothing more starts and what is
    running is killed."""
    todo = list(todo)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start, running = time.time(), {}
    while todo or running:
        while todo and len(running) < jobs and time.time() - start < time_limit:
            key, argv, run_dir = todo.pop(0)
            running[subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)] = \
                (key, run_dir, time.time())
        if time.time() - start >= time_limit:
            todo.clear()
            for proc in running:
                proc.kill()
        for proc in [q for q in running if q.poll() is not None]:
            key, run_dir, t0 = running.pop(proc)
            rec = {**fields(key), "seconds": round(time.time() - t0, 1), "exit": proc.returncode}
            summary = run_dir / "summary.json"
            if proc.returncode == 0 and summary.exists():
                sm = json.loads(summary.read_text())
                sm.update({k: float(v) for k, v in sm.get("non_finite", {}).items()})  # (reverse KL inf)
                rec.update({k: sm.get(k) for k in ("modes", "n_modes", "high_quality", "reverse_kl", "step")})
            else:
                rec["error"] = proc.stderr.read().decode(errors="replace").strip().splitlines()[-1:] \
                    if proc.stderr else []
            results.append(rec)
            log.write(json.dumps(rec) + "\n")
            log.flush()
        time.sleep(0.2)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["ring", "grid"])
    p.add_argument("--games", nargs="+", default=list(GAMES))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--time-limit", type=float, default=float("inf"), help="seconds")
    p.add_argument("--set", nargs="*", default=[], help="extra settings key=value for every run")
    p.add_argument("--out", default="runs/compare")
    p.add_argument("--table", action="store_true", help="only print the table of OUT/results.jsonl")
    p.add_argument("--held-out", action="store_true",
                   help="a held-out table: refuse the seeds the presets were tuned on "
                        "(minimax.catalogue.TUNING_SEEDS), in the runs to train and in the results to print")
    args = p.parse_args()
    if args.table:
        results = [json.loads(line) for line in open(Path(args.out) / "results.jsonl")]
        refuse_tuning_seeds(p, args.held_out, [r["seed"] for r in results])
        print(table(results))
        return 0
    refuse_tuning_seeds(p, args.held_out, args.seeds)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    extra = [a for kv in args.set for a in (f"--{kv.split('=')[0].replace('_', '-')}", kv.split("=", 1)[1])]
    # the slowest runs (k = 5) first, so that they do not finish last alone
    todo = sorted(((d, g, s) for d in args.datasets for g in args.games for s in args.seeds),
                  key=lambda t: (t[1] != "wgan-gp", t[0], t[1], t[2]))
    results: list[dict] = []
    with open(out / "results.jsonl", "a") as log:
        run_all([((d, g, s), command(d, g, s, out / f"{d}-{g}-{s}", args.device, extra), out / f"{d}-{g}-{s}")
                 for d, g, s in todo], args.jobs, args.time_limit, log, results)
    print(table(results))
    return 0


def _ms(runs: list[dict], key: str, scale: float = 1.0, fmt: str = "{:.1f}") -> str:
    """mean ± std over the runs; with infinite values (reverse KL when no sample is of high quality), the median."""
    v = [float(r[key]) * scale for r in runs]
    if not all(math.isfinite(x) for x in v):
        return (fmt + " (median; {} of {} infinite)").format(statistics.median(v), sum(map(math.isinf, v)), len(v))
    return (fmt + " ± " + fmt).format(statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0)


def table(results: list[dict]) -> str:
    """Mean ± std over seeds per (dataset, game): modes, high-quality fraction, reverse KL, seconds per run, and
    whether the means meet issue #40's goal (GOAL; a diverged run counts as missing it)."""
    rows = ["| data | game | runs | modes | high quality | reverse KL | s/run | goal |",
            "|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["dataset"], r["game"]) for r in results}, key=lambda k: (k[0], GAMES.index(k[1])))
    for d, g in keys:
        runs = [r for r in results if (r["dataset"], r["game"]) == (d, g)]
        ok = [r for r in runs if r.get("modes") is not None]
        diverged = sum(r["exit"] == 3 for r in runs)
        count = f"{len(ok)}" + (f" (+{diverged} diverged)" if diverged else "")
        if not ok:
            rows.append(f"| {d} | {g} | {count} | | | | | no |")
            continue
        meets = len(ok) == len(runs) and meets_goal(d, ok)
        rows.append(f"| {d} | {g} | {count} | {_ms(ok, 'modes')}/{ok[0]['n_modes']} | "
                    f"{_ms(ok, 'high_quality', 100)}% | {_ms(ok, 'reverse_kl', fmt='{:.3f}')} | "
                    f"{statistics.mean(r['seconds'] for r in ok):.0f} | {'yes' if meets else 'no'} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
