"""The health monitor on a held-out corpus drawn after its thresholds were frozen (issue #53).

The protocol, fixed before any run is drawn:

1. The thresholds live in ``minimax/run/monitor.py``; the commit that freezes them is named (``--commit``,
   default HEAD) and the script refuses to run if that file differs from the commit's, or if the commit is not
   HEAD or an ancestor of it: the monitor scored is the frozen one.
2. The runs are drawn from the commit's hash (a seeded ``random.Random``): a game of minimax's, a data set
   (ring or grid), a recipe — the game's own preset with probability ½, else one of four perturbations
   (RECIPES) — and a training seed in [10, 10⁶) (seeds 0-9 are the ones the in-sample corpus and the presets
   were tuned on, and are never drawn). Every run trains ``STEPS`` iterations at one thread.
3. Each run is labelled by its outcome, not its recipe (``monitor_corpus.toy_outcome``: every mode covered and
   ≥ 50% of samples within 3σ of a mode, exit 0; a non-finite stop is a failure), and flagged when the run
   reported a finding (cleared later or not) or stopped itself (exit ≠ 0).
4. At least ``MINIMUM`` runs are drawn; drawing goes on, in order, until ≥ 8 runs have failed and ≥ 8 are
   healthy by outcome, or ``LIMIT`` runs. The table is printed as it is and published as it is; a change of
   thresholds afterwards is a new commit and therefore a new draw.

    python benchmarks/monitor_heldout.py [--commit SHA] [--out runs/monitor-heldout]

Called again with the same ``--out`` after an interruption, it keeps the runs that finished (their rows print
with no time) and trains the rest: the draw is the same.

Run it alone (one run at a time, one thread each); ~1-4 minutes per run on a 2-core AMD EPYC.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
from pathlib import Path

from monitor_corpus import findings, toy_outcome, train

ROOT = Path(__file__).resolve().parents[1]
MONITOR = "minimax/run/monitor.py"
GAMES = ["minimax", "lsgan", "hinge", "wgan-gp", "f-kl", "f-reverse-kl", "f-pearson", "f-hellinger", "f-js",
         "rpgan", "ragan"]
DATA = ["ring", "grid"]
RECIPES = {  # name -> flags after the game's preset; "preset" has probability ½, the others ⅛ each
    "preset": [],
    "lr 1e-2, constant": ["--lr", "1e-2", "--lr-decay", "none"],
    "D slowed (D lr 1e-5)": ["--d-lr", "1e-5"],
    "G hurried (G lr 1e-2)": ["--g-lr", "1e-2"],
    "no spectral norm, lr 1e-3": ["--spectral-norm", "off", "--lr", "1e-3"],
}
STEPS = 3000
TUNING_SEEDS = range(10)
MINIMUM, LIMIT, EACH = 20, 40, 8


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def frozen(commit: str) -> str:
    """The full hash of ``commit`` once the monitor scored is the one it froze."""
    full = git("rev-parse", commit)
    if subprocess.run(["git", "merge-base", "--is-ancestor", full, "HEAD"], cwd=ROOT).returncode != 0:
        raise SystemExit(f"monitor_heldout: {commit} is not HEAD or an ancestor of it")
    if subprocess.run(["git", "diff", "--quiet", full, "--", MONITOR], cwd=ROOT).returncode != 0:
        raise SystemExit(f"monitor_heldout: {MONITOR} differs from {full[:10]}'s: freeze the thresholds in a commit "
                         "and draw from that commit")
    return full


def draw(commit: str):
    """The runs, in order, from the commit's hash: (game, data set, recipe, seed), without end."""
    rng = random.Random(int(commit, 16))
    while True:
        game, data = rng.choice(GAMES), rng.choice(DATA)
        recipe = "preset" if rng.random() < 0.5 else rng.choice([r for r in RECIPES if r != "preset"])
        seed = rng.randrange(10, 10**6)
        assert seed not in TUNING_SEEDS
        yield game, data, recipe, seed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--commit", default="HEAD", help="the commit that froze the monitor's thresholds")
    p.add_argument("--out", default="runs/monitor-heldout")
    a = p.parse_args()
    commit = frozen(a.commit)
    print(f"thresholds frozen at {commit[:10]}; {STEPS} iterations per run, one thread\n")
    print("| # | outcome | run (flags of `minimax train`) | metrics | findings (step: condition) | exit | s |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")
    rows = []
    for i, (game, data, recipe, seed) in enumerate(draw(commit), 1):
        flags = ["--dataset", data, "--game", game, "--seed", str(seed), "--steps", str(STEPS), "--threads", "1",
                 *RECIPES[recipe]]
        out = Path(a.out) / f"{i:02d}-{game}-{data}-{seed}"
        if (out / "summary.json").exists():  # trained to the end by an earlier, interrupted call: the same draw
            rc, secs = 0, float("nan")
        else:
            shutil.rmtree(out, ignore_errors=True)  # (a run cut short is trained again from the start)
            rc, secs = train(out, flags, None)
        ok, outcome = toy_outcome(out, rc)
        found = findings(out) if (out / "metrics.jsonl").exists() else []
        flagged = any(not f.endswith("cleared") for f in found) or rc != 0
        rows.append({"game": game, "data": data, "recipe": recipe, "seed": seed, "healthy": ok, "outcome": outcome,
                     "findings": found, "exit": rc, "flagged": flagged, "seconds": round(secs)})
        print(f"| {i} | {'healthy' if ok else 'failed'} | {game} on the {data}, {recipe} (`{' '.join(flags)}`) | "
              f"{outcome} | {'; '.join(found) or 'none'} | {rc} | {secs:.0f} |", flush=True)
        failed = sum(not r["healthy"] for r in rows)
        if len(rows) >= LIMIT or (len(rows) >= MINIMUM and failed >= EACH and len(rows) - failed >= EACH):
            break
    healthy = [r["flagged"] for r in rows if r["healthy"]]
    failed = [r["flagged"] for r in rows if not r["healthy"]]
    print(f"\nhealthy by outcome: {len(healthy)}, flagged: {sum(healthy)}; "
          f"failed by outcome: {len(failed)}, flagged: {sum(failed)} ({sum(failed) / max(len(failed), 1):.0%})")
    (Path(a.out) / "heldout.json").write_text(json.dumps({"commit": commit, "steps": STEPS, "runs": rows}, indent=1))


if __name__ == "__main__":
    main()
