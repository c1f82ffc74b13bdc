"""How much Stacked MNIST's KL depends on the digit classifier: the same 26,000 samples of each run read by two
classifiers — `minimax eval modes`'s (the feature CNN, 6 epochs, seed 0, cached) and the same network trained
from seed 1 — with each one's test accuracy, the modes and KL under each, and the share of digits they read
alike. Samples are drawn as `minimax eval modes` draws them (N = 26,000, noise seed 0, the weight average of G
when the run keeps one).

    python benchmarks/stacked_mnist_classifiers.py RUN [RUN ...] --data-dir DIR [--step S | --every-checkpoint]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from minimax.data.images import mnist_like
from minimax.evaluation.modes import DIGIT_EPOCHS
from minimax.metrics import classifier
from minimax.metrics.modes import histogram_metrics, stacked_modes
from minimax.run.checkpoint import list_checkpoints
from minimax.run.rundir import step_of
from minimax.run.sampling import generate
from minimax.run.trained import load_trained

N = 26_000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--step", type=int, help="score this checkpoint (default: the latest)")
    p.add_argument("--every-checkpoint", action="store_true", help="score each checkpoint the runs keep")
    args = p.parse_args()
    digits = mnist_like("mnist", args.data_dir, "cpu", "tanh", "train")
    test = mnist_like("mnist", args.data_dir, "cpu", "tanh", "t10k")
    nets = {"eval modes (seed 0)": classifier.load_or_train("mnist-digits", digits.images, digits.labels,
                                                            epochs=DIGIT_EPOCHS),
            "seed 1": classifier.train_feature_net(digits.images, digits.labels, DIGIT_EPOCHS, seed=1).eval()}
    for name, net in nets.items():
        print(f"classifier {name}: test accuracy {classifier.accuracy(net, test.images, test.labels):.4f}")
    print("| run | step | modes / KL (eval modes' classifier) | modes / KL (seed-1 classifier) | digits read alike |")
    print("| --- | --- | --- | --- | --- |")
    for run, path in checkpoints(args.runs, args.step, args.every_checkpoint):
        game = load_trained(run, checkpoint=path)
        samples = generate(game, N, seed=0).reshape(N, -1).cpu().float()
        reads, cells = [], []
        for net in nets.values():
            modes = stacked_modes(lambda x, net=net: classifier.predict(net, x, (1, 28, 28)), samples)
            reads.append(modes)
            r = histogram_metrics(modes, 1000)
            cells.append(f"{r['modes']} / {r['kl']:.3f}")
        a, b = (torch.stack([m // 100, m // 10 % 10, m % 10], 1) for m in reads)
        print(f"| {run} | {game.step} | {cells[0]} | {cells[1]} | {(a == b).float().mean().item():.4f} |", flush=True)


def checkpoints(runs: list[str], step: int | None, every: bool):
    """(run, checkpoint file or None for the latest) in the order scored."""
    for run in runs:
        if every:
            yield from ((run, c) for c in list_checkpoints(Path(run)))
        elif step is not None:
            yield run, next(c for c in list_checkpoints(Path(run)) if step_of(c) == step)
        else:
            yield run, None


if __name__ == "__main__":
    main()
