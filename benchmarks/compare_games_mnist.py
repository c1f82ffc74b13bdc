"""The games on MNIST at equal wall time: DCGAN-28 players, each game trained for the same number of
seconds, then scored by `minimax eval fid` (Fréchet distance of the project's classifier features,
10,000 samples against the 10,000 test digits).

    python benchmarks/compare_games_mnist.py --data-dir DIR --seconds 240 --out runs/compare-mnist
    python benchmarks/compare_games_mnist.py --data-dir DIR --seconds 150 --games minimax wgan-gp --seeds 2 3 4 5 6
    python benchmarks/compare_games_mnist.py --out runs/held-b --table runs/held-a     # two queues' runs together

Each run is `minimax train --dataset mnist --model dcgan --game G` (DCGAN's Adam 2e-4, β1 = 0.5, batch 64 for
every game, constant learning rate) under the game's presets (minimax.catalogue: wgan-gp's paper preset with its
MNIST preset on top; spectral norm and no BatchNorm in D for f-reverse-kl and f-hellinger). After ``--seconds``
the run is sent SIGTERM: it finishes the iteration in hand, writes a checkpoint and exits, and that checkpoint is
scored. Runs one at a time (time them alone); ``--threads 1`` gives each run and its evaluation one thread, so two
queues can run side by side (each with its own ``--out``; ``--table OUT2 ...`` prints them together, each game
against the 2014 game's runs on the same seeds). ``--train-args "..."`` adds the same flags to every run (e.g.
``--r1 1 --r2 1 --d-norm none``, the R3GAN penalties with a D that has no BatchNorm); the runs are then named
GAME+ARGS. Results: OUT/results.jsonl and a Markdown table on stdout.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from minimax.catalogue import MNIST_FID_GOAL, TUNING_SEEDS  # noqa: E402
from minimax.games import GAMES  # noqa: E402
from minimax.run.checkpoint import read_latest  # noqa: E402


def refuse_tuning_seeds(p: argparse.ArgumentParser, held_out: bool, seeds) -> None:
    """With --held-out, no seed the presets were tuned on may enter the table."""
    tuned = sorted(set(seeds) & set(TUNING_SEEDS))
    if held_out and tuned:
        p.error(f"seeds {tuned} are the presets' tuning seeds; a held-out table uses others (issue #40: 2-6)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", help="the MNIST files (needed to train; not with --table)")
    p.add_argument("--games", nargs="+", default=list(GAMES))
    p.add_argument("--seconds", type=float, default=240)
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="one run per game and seed (tune on 0-1, "
                   "report on 2-6: issue #40's protocol)")
    p.add_argument("--out", default="runs/compare-mnist")
    p.add_argument("--train-args", default="", help="flags added to every minimax train command (one string)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads of each run and its FID evaluation "
                   "(default: torch's choice). Two queues at --threads 1 side by side, each with its own --out, is "
                   "how the held-out MNIST table was measured")
    p.add_argument("--table", nargs="*", metavar="OUT", default=None,
                   help="only print the table of OUT/results.jsonl (and of these further OUT folders)")
    p.add_argument("--held-out", action="store_true",
                   help="a held-out table: refuse the seeds the presets were tuned on "
                        "(minimax.catalogue.TUNING_SEEDS), in the runs to train and in the results to print")
    args = p.parse_args()
    out = Path(args.out)
    if args.table is not None:
        files = [d / "results.jsonl" for d in [out, *map(Path, args.table)]]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            p.error(f"no results: {', '.join(missing)}")
        results = [json.loads(line) for f in files for line in open(f)]
        refuse_tuning_seeds(p, args.held_out, [r["seed"] for r in results])
        print(table(results))
        return 0
    refuse_tuning_seeds(p, args.held_out, args.seeds)
    if not args.data_dir:
        p.error("--data-dir is needed to train (the folder with MNIST's files)")
    out.mkdir(parents=True, exist_ok=True)
    minimax = [sys.executable, "-m", "minimax"]
    extra = shlex.split(args.train_args)
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)  # the FID evaluation's threads; train takes --threads
    threads = ["--threads", str(args.threads)] if args.threads else []
    suffix = "".join(extra).replace("--", "+").replace(" ", "")  # the runs are named GAME+ARGS
    with open(out / "results.jsonl", "a") as log:
        for game, seed in [(g, s) for g in args.games for s in args.seeds]:
            name = game + suffix
            run_dir = out / f"mnist-{name}-{seed}"
            proc = subprocess.Popen([*minimax, "train", "--dataset", "mnist", "--data-dir", args.data_dir,
                                     "--model", "dcgan", "--batch-size", "64", "--game", game, "--seed", str(seed),
                                     "--steps", "1000000", "--checkpoint-every", "500", "--log-every", "100",
                                     "--out", str(run_dir), "--no-plots", "--tensorboard", "off", "--progress", "off",
                                     *threads, *extra],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            t0 = time.time()
            try:
                proc.wait(timeout=args.seconds)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGTERM)
                proc.wait()
            rec = {"game": game, "args": args.train_args, "seed": seed,
                   "seconds": round(time.time() - t0, 1), "exit": proc.returncode, "threads": args.threads}
            if proc.returncode in (0, 143):  # finished, or stopped by the budget with a checkpoint
                rec["iterations"] = read_latest(run_dir)[1]["step"]
                fid = subprocess.run([*minimax, "eval", "fid", str(run_dir), "--data-dir", args.data_dir],
                                     capture_output=True, text=True, env=env)
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
    """One row per run, then per game (and added flags): its seeds, mean iterations, mean ± std FID and, against
    the 2014 game's runs on the same seeds (same session, same protocol), the ratio of the mean FIDs, the worst
    seed's ratio and whether the mean ratio meets the goal (MNIST_FID_GOAL; a failed run counts as missing it)."""
    rows = ["| game | seed | seconds | iterations | FID (classifier features) |", "|---|---|---|---|---|"]
    by_game: dict[str, dict[int, float]] = {}
    iterations: dict[str, list[int]] = {}
    for r in results:
        fid = f"{r['fid']:.1f}" if "fid" in r else f"— ({r.get('error', 'exit ' + str(r['exit']))[:80]})"
        game = f"{r['game']} {r.get('args', '')}".strip()
        by_game.setdefault(game, {})[r.get("seed", 0)] = r.get("fid", math.inf)
        iterations.setdefault(game, []).extend([r["iterations"]] if "iterations" in r else [])
        rows.append(f"| {game} | {r.get('seed', 0)} | {r['seconds']:.0f} | {r.get('iterations', '—')} | {fid} |")
    rows += ["", "| game | seeds | iterations (mean) | FID mean ± std | ratio to the 2014 game (means) | worst seed "
             "| goal |", "|---|---|---|---|---|---|---|"]
    reference = by_game.get("minimax", {})
    for game, fid_of in by_game.items():
        fids = list(fid_of.values())
        spread = f" ± {statistics.stdev(fids):.1f}" if len(fids) > 1 and math.isfinite(sum(fids)) else ""
        seeds = ",".join(map(str, fid_of))
        ratio = worst = goal = ""
        if game != "minimax" and set(fid_of) <= set(reference):
            mean_ratio = statistics.mean(fids) / statistics.mean(reference[s] for s in fid_of)
            ratio, worst = f"{mean_ratio:.2f}", f"{max(fid_of[s] / reference[s] for s in fid_of):.2f}"
            goal = "yes" if mean_ratio <= MNIST_FID_GOAL else "no"
        its = f"{statistics.mean(iterations[game]):,.0f}" if iterations[game] else "—"
        rows.append(f"| {game} | {seeds} | {its} | {statistics.mean(fids):.1f}{spread} | {ratio} | {worst} | {goal} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
