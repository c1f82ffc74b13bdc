"""The games on MNIST at equal wall time: DCGAN-28 players, each game trained for the same number of
seconds, then scored by `minimax eval fid` (Fréchet distance of the project's classifier features,
10,000 samples against the 10,000 test digits).

    python benchmarks/compare_games_mnist.py --data-dir DIR --seconds 240 --out runs/compare-mnist
    python benchmarks/compare_games_mnist.py --data-dir DIR --seconds 150 --games minimax wgan-gp --seeds 2 3 4 5 6

Each run is `minimax train --dataset mnist --model dcgan --game G` (DCGAN's Adam 2e-4, β1 = 0.5, batch 64
for every game, constant learning rate; wgan-gp adds its paper's preset: λ = 10, 5 critic steps, Adam 1e-4,
β = (0, 0.9), layer norm in the critic). After ``--seconds`` the run is sent SIGTERM: it finishes the
iteration in hand, writes a checkpoint and exits, and that checkpoint is scored. Runs one at a time (time
them alone). ``--train-args "..."`` adds the same flags to every run (e.g. ``--r1 1 --r2 1 --d-norm none``, the
R3GAN penalties with a D that has no BatchNorm); the runs are then named GAME+ARGS. Results: OUT/results.jsonl
and a Markdown table on stdout.
"""
from __future__ import annotations

import argparse
import json
import math
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from minimax.games import GAMES  # noqa: E402
from minimax.run.checkpoint import read_latest  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--games", nargs="+", default=list(GAMES))
    p.add_argument("--seconds", type=float, default=240)
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="one run per game and seed (tune on 0-1, "
                   "report on 2-6: issue #40's protocol)")
    p.add_argument("--out", default="runs/compare-mnist")
    p.add_argument("--train-args", default="", help="flags added to every minimax train command (one string)")
    p.add_argument("--table", action="store_true", help="only print the table of OUT/results.jsonl")
    args = p.parse_args()
    out = Path(args.out)
    if args.table:
        print(table([json.loads(line) for line in open(out / "results.jsonl")]))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    minimax = [sys.executable, "-m", "minimax"]
    extra = shlex.split(args.train_args)
    suffix = "".join(extra).replace("--", "+").replace(" ", "")  # the runs are named GAME+ARGS
    with open(out / "results.jsonl", "a") as log:
        for game, seed in [(g, s) for g in args.games for s in args.seeds]:
            name = game + suffix
            run_dir = out / f"mnist-{name}-{seed}"
            proc = subprocess.Popen([*minimax, "train", "--dataset", "mnist", "--data-dir", args.data_dir,
                                     "--model", "dcgan", "--batch-size", "64", "--game", game, "--seed", str(seed),
                                     "--steps", "1000000", "--checkpoint-every", "500", "--log-every", "100",
                                     "--out", str(run_dir), "--no-plots", "--tensorboard", "off", "--progress", "off",
                                     *extra],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            t0 = time.time()
            try:
                proc.wait(timeout=args.seconds)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGTERM)
                proc.wait()
            rec = {"game": game, "args": args.train_args, "seed": seed,
                   "seconds": round(time.time() - t0, 1), "exit": proc.returncode}
            if proc.returncode in (0, 143):  # finished, or stopped by the budget with a checkpoint
                rec["iterations"] = read_latest(run_dir)[1]["step"]
                fid = subprocess.run([*minimax, "eval", "fid", str(run_dir), "--data-dir", args.data_dir],
                                     capture_output=True, text=True)
                if fid.returncode == 0:
                    rec.update(json.loads((run_dir / "fid.json").read_text()))
                else:
                    rec["error"] = fid.stderr.strip()[-300:]
            else:
                rec["error"] = proc.stderr.read().decode(errors="replace").strip()[-300:]
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(json.dumps(rec), flush=True)
    print(table([json.loads(line) for line in open(out / "results.jsonl")]))
    return 0


def table(results: list[dict]) -> str:
    """One row per run, then the mean ± std FID per game (and added flags) over its seeds."""
    rows = ["| game | seed | seconds | iterations | FID (classifier features) |", "|---|---|---|---|---|"]
    by_game: dict[str, list[float]] = {}
    for r in results:
        fid = f"{r['fid']:.1f}" if "fid" in r else f"— ({r.get('error', 'exit ' + str(r['exit']))[:80]})"
        game = f"{r['game']} {r.get('args', '')}".strip()
        by_game.setdefault(game, []).append(r.get("fid", math.inf))
        rows.append(f"| {game} | {r.get('seed', 0)} | {r['seconds']:.0f} | {r.get('iterations', '—')} | {fid} |")
    rows += ["", "| game | runs | FID mean ± std |", "|---|---|---|"]
    for game, fids in by_game.items():
        spread = f" ± {statistics.stdev(fids):.1f}" if len(fids) > 1 and math.isfinite(sum(fids)) else ""
        rows.append(f"| {game} | {len(fids)} | {statistics.mean(fids):.1f}{spread} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
