"""Limited data over time: each checkpoint of each run scored by the four measures ADA and DiffAugment argue with.

- FID on the digit classifier's features (as `minimax eval fid --features classifier`: 10,000 samples of noise
  seed 0 rounded to 8 bits, against the 10,000 test digits);
- D's mean sign on the n digits it trains on and on 1,000 digits it never saw (train[50000:51000], the
  validation digits), E[sign(D(x) − ½)] = E[sign(logit)] (Karras et al. 2020, Figure 1 and r_t): D in training
  mode (BatchNorm with the batch's statistics, as in its step), batches of 64 real digits, as they are and, for a
  run that augments, through the run's own augmentation at its p of that step (what D was trained on; seed 0);
- the augmentation probability p the run logged (ADA; constant for DiffAugment, 0 without);
- memorisation: the share of 10,000 samples whose nearest training digit (pixel L2) is nearer than the 10th
  percentile of the same distance for the 1,000 unseen digits (a generator drawing fresh digits: ~0.10; one
  that copies its training digits: → 1).

Scores are cached in RUN/curves.json, so a second call scores only new checkpoints.

    python benchmarks/limited_data_curves.py RUN [RUN ...] --data-dir DIR [--plot curves.png]
"""
from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import torch

from minimax.algorithm.augment import augment
from minimax.catalogue import parse_policies
from minimax.data.images import ImageData, mnist_like
from minimax.evaluation.job import eight_bits
from minimax.metrics import classifier
from minimax.metrics.frechet import frechet_distance
from minimax.run.checkpoint import list_checkpoints
from minimax.run.rundir import load_run_config, step_of
from minimax.run.sampling import generate
from minimax.run.trained import load_trained

N = 10_000
UNSEEN = 1_000
SHAPE = (1, 28, 28)


def moments(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    f = f.double()
    return f.mean(0), torch.cov(f.T)


@torch.no_grad()
def mean_sign(D: torch.nn.Module, x: torch.Tensor, batch: int = 64, policies: tuple[str, ...] = (), p: float = 0.0
              ) -> float:
    """E[sign(logit)] with D in training mode on batches of ``batch`` (a copy, so D's running statistics stay),
    each batch augmented with ``policies`` at probability ``p`` first (noise seed 0)."""
    D, rng = copy.deepcopy(D).train(), torch.Generator().manual_seed(0)
    signs = [torch.sign(D(augment(x[i:i + batch], policies, p, rng) if policies else x[i:i + batch]).float()).flatten()
             for i in range(0, len(x) - batch + 1, batch)]
    return torch.cat(signs).mean().item()


def nearest(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """For each row of a, the L2 distance to its nearest row of b."""
    return torch.cat([torch.cdist(a[i:i + 2000], b).min(1).values for i in range(0, len(a), 2000)])


def augment_p(run: Path) -> dict[int, float]:
    p = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        if "step" in r and "augment_p" in r:
            p[r["step"]] = r["augment_p"]
    return p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--plot", help="a PNG of the four curves, one line per run")
    args = ap.parse_args()
    train = mnist_like("mnist", args.data_dir, "cpu", "tanh", "train")
    valid = mnist_like("mnist", args.data_dir, "cpu", "tanh", "valid")
    test = mnist_like("mnist", args.data_dir, "cpu", "tanh", "t10k")
    net = classifier.load_or_train("mnist", train.images, train.labels)
    mu_t, cov_t = moments(classifier.features(net, test.pixels(), SHAPE))
    unseen_px = valid.pixels()[:UNSEEN]
    table = {}
    for run in map(Path, args.runs):
        cache = run / "curves.json"
        rows = {int(k): v for k, v in json.loads(cache.read_text()).items()} if cache.exists() else {}
        p_logged = augment_p(run)
        # what depends on the run, not on the checkpoint: its digits (in pixels and in its G's output range), the
        # memorisation threshold, the augmentation
        cfg = load_run_config(run)
        n, policies = cfg.train_images, parse_policies(cfg.augment)
        seen_px = train.pixels()[:n]
        threshold = torch.quantile(nearest(unseen_px, seen_px), 0.10)
        output = load_trained(run).data.g_output
        seen, unseen = (ImageData("mnist", u8, output=output).to_model_space(u8)
                        for u8 in (train.images[:n], valid.images[:UNSEEN]))
        for path in list_checkpoints(run):
            step = step_of(path)
            if step in rows and "sign_train_augmented" in rows[step]:
                continue
            t = load_trained(run, checkpoint=path)
            x = eight_bits(generate(t, N, seed=0).reshape(N, -1).cpu().float())
            mu, cov = moments(classifier.features(net, x, SHAPE))
            p = p_logged.get(step, 0.0) if cfg.ada_target else cfg.augment_p if policies else 0.0
            rows[step] = {
                "fid": frechet_distance(mu, cov, mu_t, cov_t),
                "sign_train": mean_sign(t.D, seen),
                "sign_unseen": mean_sign(t.D, unseen),
                "sign_train_augmented": mean_sign(t.D, seen, policies=policies, p=p),
                "sign_unseen_augmented": mean_sign(t.D, unseen, policies=policies, p=p),
                "p": p,
                "memorised": (nearest(x, seen_px) < threshold).float().mean().item(),
            }
            cache.write_text(json.dumps(rows, indent=1, sort_keys=True))
            print(f"{run} step {step}: " + ", ".join(f"{k} {v:.3f}" for k, v in rows[step].items()), flush=True)
        table[run] = dict(sorted(rows.items()))
        copy_fid = frechet_distance(*moments(classifier.features(net, seen_px, SHAPE)), mu_t, cov_t)
        print(f"{run}: a generator that copies its {n} training digits: FID {copy_fid:.2f}")
    print("| run | step | FID (classifier) | E sign D: train / unseen | the same augmented | p | "
          "share nearer than unseen |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for run, rows in table.items():
        for step, r in rows.items():
            print(f"| {run.name} | {step:,} | {r['fid']:.2f} | {r['sign_train']:+.2f} / {r['sign_unseen']:+.2f} | "
                  f"{r['sign_train_augmented']:+.2f} / {r['sign_unseen_augmented']:+.2f} | {r['p']:.2f} | "
                  f"{r['memorised']:.3f} |")
    if args.plot:
        plot(table, Path(args.plot))


def plot(table: dict, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 5, figsize=(20, 3.6))
    colours = {"none": "tab:red", "diffaug": "tab:blue", "ada": "tab:green"}
    for run, rows in table.items():
        arm = next((a for a in colours if f"-{a}-" in run.name), None)
        style = dict(color=colours.get(arm), ls="-" if run.name.endswith("s0") else "--", label=run.name)
        steps = list(rows)
        axes[0].plot(steps, [rows[s]["fid"] for s in steps], **style)
        axes[1].plot(steps, [rows[s]["sign_train"] for s in steps], **style)
        axes[1].plot(steps, [rows[s]["sign_unseen"] for s in steps], **{**style, "ls": ":", "label": None})
        axes[2].plot(steps, [rows[s]["sign_train_augmented"] for s in steps], **style)
        axes[2].plot(steps, [rows[s]["sign_unseen_augmented"] for s in steps], **{**style, "ls": ":", "label": None})
        axes[3].plot(steps, [rows[s]["p"] for s in steps], **style)
        axes[4].plot(steps, [rows[s]["memorised"] for s in steps], **style)
    titles = ("FID (classifier features, vs test)", "E[sign D] as they are:\ntraining digits (—), unseen (···)",
              "E[sign D] through the run's augmentation:\ntraining digits (—), unseen (···)", "augmentation p",
              "share of samples nearer a training digit\nthan 90 % of unseen digits are")
    for ax, title in zip(axes, titles):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("iteration")
    axes[0].set_yscale("log")
    axes[4].axhline(0.10, color="grey", lw=0.8)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
