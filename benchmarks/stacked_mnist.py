"""Stacked MNIST: the table of PacGAN's Table 2 beside minimax's runs, and modes against iterations.

Train (each ~30 minutes on 2 cores; one at a time: two torch processes slow each other):

    for s in 0 1 2; do minimax train --config configs/stacked-mnist-pacgan2.toml --data-dir DIR --seed $s \\
        --out runs/pac2-s$s; done
    minimax train --config configs/stacked-mnist-dcgan.toml --data-dir DIR --out runs/dcgan-s0

then score every kept checkpoint and print the table and the curve (and draw it with --png):

    minimax eval modes runs/pac2-s0 runs/pac2-s1 runs/pac2-s2 runs/dcgan-s0 --data-dir DIR --every-checkpoint
    python benchmarks/stacked_mnist.py runs/pac2-s0 runs/pac2-s1 runs/pac2-s2 runs/dcgan-s0 --png curve.png

The R1 + R2 runs (configs/stacked-mnist-rpgan.toml and its ablation): docs/results-stacked-mnist.md lists them.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

PUBLISHED = [  # PacGAN (Lin et al. 2018) Table 2: VEEGAN's architecture, mean over 10 runs, 50 epochs
    ("DCGAN (published)", 99.0, 3.40),
    ("ALI (published)", 16.0, 5.40),
    ("Unrolled GAN (published)", 48.7, 4.32),
    ("VEEGAN (published)", 150.0, 2.95),
    ("PacDCGAN2 (published)", 1000.0, 0.06),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--png", help="draw modes and KL against iterations")
    args = p.parse_args()
    rows = []
    for run in args.runs:
        record = json.loads((Path(run) / "modes.json").read_text())
        cfg = json.loads((Path(run) / "config.json").read_text())
        rows.append((run, cfg, record))
    print("| run | pack | iterations | modes (of 1,000) | KL(q ‖ uniform) |")
    print("| --- | --- | --- | --- | --- |")
    for name, modes, kl in PUBLISHED:
        print(f"| {name} | | 100,000 | {modes:g} | {kl:.2f} |")
    for run, cfg, r in rows:
        step = r["protocol"]["step"]
        print(f"| {run} (seed {cfg['seed']}) | {cfg['pack']} | {step:,} | {r['modes']} | {r['kl']:.3f} |")
    steps = sorted({p["step"] for _, _, r in rows for p in r.get("curve", [])})
    print("\nmodes (KL) against iterations\n| iteration | " + " | ".join(run for run, _, _ in rows) + " |")
    print("| --- |" + " --- |" * len(rows))
    for s in steps:
        cells = []
        for _, _, r in rows:
            point = next((p for p in r.get("curve", []) if p["step"] == s), None)
            cells.append("" if point is None else f"{point['modes']} ({point['kl']:.2f})")
        print(f"| {s:,} | " + " | ".join(cells) + " |")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
        for _, cfg, r in rows:
            c = r.get("curve", [])
            label = f"{run_label(cfg)} seed {cfg['seed']}"
            style = "-" if cfg["pack"] > 1 else "--"
            a.plot([p["step"] for p in c], [p["modes"] for p in c], style, marker="o", ms=3, label=label)
            b.plot([p["step"] for p in c], [p["kl"] for p in c], style, marker="o", ms=3, label=label)
        a.axhline(1000, color="k", lw=0.5)
        a.set(xlabel="iteration", ylabel="modes covered (of 1,000)", title="Stacked MNIST, N = 26,000")
        b.set(xlabel="iteration", ylabel="KL(q ‖ uniform), nats", yscale="log")
        a.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.png, dpi=110)
        print(f"\nwrote {args.png}")


def run_label(cfg: dict) -> str:
    """PacGAN's names (PacDCGAN2, DCGAN) for its players and game without penalties, else game, penalties,
    packing and players."""
    penalties = " + R1 + R2" if cfg.get("r1") and cfg.get("r2") else " + R1" if cfg.get("r1") else ""
    if cfg["game"] == "minimax" and not penalties and cfg["model"] == "veegan":
        return "DCGAN" if cfg["pack"] == 1 else f"PacDCGAN{cfg['pack']}"
    game = "2014 game" if cfg["game"] == "minimax" else cfg["game"]
    return f"{game}{penalties}, pack {cfg['pack']}, {cfg['model']}"


if __name__ == "__main__":
    main()
