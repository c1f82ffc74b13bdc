"""Turn a trained run into a zoo entry (minimax/zoo/runs/<name>/, shipped in the package; docs/zoo.md).

    python benchmarks/make_zoo.py RUN NAME --title "..." --command "minimax train ..." --minutes 12 \
        --machine "AMD EPYC, 2 cores" [--float16] [--data-dir DIR --fid] [--parzen]

The entry keeps the run's config, data card and summary, and one players-only checkpoint (G = the generator the
run samples from: its weight average when it kept one; D; no optimisers or streams), in float16 with --float16
(half the bytes; the samples then differ from the float32 run's by the amount printed and recorded). The metrics
are measured on the entry as shipped: the toy sets' modes and high-quality share (the summary's protocol), FID
with the dataset's classifier features against the test split (--fid), the Parzen log-likelihood (--parzen).
"""
from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
from pathlib import Path

import torch

import minimax
from minimax.run import checkpoint as ckpt
from minimax.run.rundir import (
    CHECKPOINTS,
    CONFIG,
    DATA_CARD,
    LATEST,
    METRICS,
    SAMPLES,
    SUMMARY,
    checkpoint_name,
    step_of,
)
from minimax.zoo import ENTRY, RUNS

FRAMES = 5  # snapshots kept (evenly spaced, the first and last): the replay of a pretrained run, in ~0.5 MB


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run")
    p.add_argument("name")
    p.add_argument("--title", required=True)
    p.add_argument("--command", required=True, help="the command that trained the run")
    p.add_argument("--minutes", type=float, required=True)
    p.add_argument("--machine", required=True)
    p.add_argument("--float16", action="store_true")
    p.add_argument("--data-dir")
    p.add_argument("--fid", action="store_true")
    p.add_argument("--parzen", action="store_true")
    p.add_argument("--conditional", action="store_true")
    p.add_argument("--modes", action="store_true")
    args = p.parse_args()

    run, out = Path(args.run), RUNS / args.name
    if out.exists():
        shutil.rmtree(out)
    (out / CHECKPOINTS).mkdir(parents=True)
    for name in (CONFIG, DATA_CARD, SUMMARY, METRICS):
        if (run / name).is_file():
            shutil.copy(run / name, out / name)
    snaps = sorted({step_of(p) for p in (run / SAMPLES).iterdir() if step_of(p) is not None})
    keep = {snaps[round(i * (len(snaps) - 1) / (FRAMES - 1))] for i in range(FRAMES)} if len(snaps) > FRAMES else snaps
    (out / SAMPLES).mkdir()
    for p in (run / SAMPLES).iterdir():  # a few of the replay's frames: the report shows the run's course
        if step_of(p) in keep:
            shutil.copy(p, out / SAMPLES / p.name)
    tensors, meta = ckpt.read_latest(run)
    dtype = torch.float16 if args.float16 else None
    name = checkpoint_name(meta["step"])
    (out / CHECKPOINTS / name).write_bytes(ckpt.players_only(tensors, meta, dtype=dtype))
    (out / CHECKPOINTS / LATEST).write_text(name + "\n")
    config = json.loads((out / CONFIG).read_text())  # where it was trained and read its data: not the user's
    (out / CONFIG).write_text(json.dumps({**config, "data_dir": None, "out": None}, indent=2))
    summary = json.loads((out / SUMMARY).read_text())
    summary["run_dir"] = None  # (where it was trained says nothing to a user)
    (out / SUMMARY).write_text(json.dumps(summary, indent=2))

    shipped, full = minimax.load(out), minimax.load(run)
    x, y = shipped.sample(1000, seed=0), full.sample(1000, seed=0)
    gap = float((x - y).abs().max())
    metrics = {}
    for key in ("modes", "high_quality", "reverse_kl"):
        if key in summary:
            v = summary[key]
            metrics[key] = f"{v:.1%}" if key == "high_quality" else round(v, 3) if isinstance(v, float) else v
    if args.fid:
        r = minimax.evaluate(str(out), "fid", data_dir=args.data_dir, n=10_000, write=False)
        metrics["fid (classifier features, 10k vs test)"] = round(r["fid"], 2)
    if args.conditional:
        r = minimax.evaluate(str(out), "conditional", data_dir=args.data_dir, write=False)
        metrics["class accuracy (mean over classes)"] = f"{r['accuracy_mean']:.1%}"
        metrics["intra-class FID (mean)"] = round(r["intra_fid_mean"], 1)
    if args.modes:
        r = minimax.evaluate(str(out), "modes", data_dir=args.data_dir, write=False)
        metrics["modes (of 1,000; 26,000 samples)"] = r["modes"]
        metrics["KL to uniform (nats)"] = round(r["kl"], 3)
    if args.parzen:
        r = minimax.evaluate(str(out), "parzen", data_dir=args.data_dir, write=False)
        metrics["parzen log-likelihood (nats)"] = f"{r['parzen_ll']:.1f} ± {r['parzen_se']:.1f}"
    made = {"name": args.name, "title": args.title, "command": args.command, "minutes": args.minutes,
            "machine": args.machine, "step": meta["step"], "metrics": metrics,
            "weights": shipped.weights, "stored": "float16" if dtype else "float32",
            "largest pixel or coordinate change from the float32 weights (1000 samples, seed 0)": gap,
            "made": datetime.date.today().isoformat(), "minimax_version": minimax.__version__}
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) + [ENTRY]
    made["files"] = sorted(files)
    (out / ENTRY).write_text(json.dumps(made, indent=2) + "\n")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{args.name}: {size / 1e6:.2f} MB, {metrics}, float16 gap {gap:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
