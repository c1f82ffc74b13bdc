"""Stacked MNIST's modes (VEEGAN's and PacGAN's protocol): each channel's digit read by a digit classifier,
the distinct triples counted of 1,000 and KL(q ‖ uniform) of their histogram (:mod:`minimax.metrics.modes`);
N = 26,000. With ``every_checkpoint``, the curve over the run's kept checkpoints."""
from __future__ import annotations

from pathlib import Path

import torch

from ..catalogue import STACKED
from ..data.images import mnist_like
from ..errors import MinimaxError
from ..metrics import classifier
from ..metrics.modes import histogram_metrics, stacked_modes
from ..run.checkpoint import list_checkpoints
from ..run.rundir import step_of
from ..run.sampling import generate
from ..run.trained import load_trained
from .job import classifier_record, eight_bits, make_job
from .options import EvalOptions

DIGIT_EPOCHS = 6  # the digit reader trains longer than the FID network (>= 99% on test digits)

COMPONENTS = [{
    "kind": "metric", "name": "modes", "order": 6, "datasets": (STACKED,), "headline": ("modes", "kl"),
    "help": "Stacked MNIST: modes covered of 1,000 and KL to uniform (N = 26,000)",
    "report": (("Stacked MNIST modes", "{modes:.0f} of 1000, KL to uniform {kl:.3f} nats"),),
    "default_n": 26_000,  # VEEGAN's and PacGAN's N
    "options": {"every_checkpoint": {"type": "bool", "default": False,
                                     "help": "also score every checkpoint the run kept: modes against iterations"}},
}]
SCORES = {"modes": "Stacked MNIST digit triples seen (of 1,000)", "n_modes": "1000",
          "kl": "KL(q ‖ uniform) of the triples' histogram (nats)",
          "classifier_test_accuracy": "the digit classifier's",
          "curve": "--every-checkpoint: modes and KL at each kept checkpoint",
          "skipped_checkpoints": "checkpoints that did not verify"}


def run(opts: EvalOptions, run_dir: str | None) -> dict:
    """The modes and KL of the run's samples (and with every_checkpoint, of each kept checkpoint's)."""
    job = make_job(opts, run_dir, (STACKED,))
    digits = mnist_like("mnist", opts.data_dir, "cpu", "tanh", "train")
    test = mnist_like("mnist", opts.data_dir, "cpu", "tanh", "t10k")
    net = classifier.load_or_train("mnist-digits", digits.images, digits.labels, opts.cache_dir, log=opts.say,
                                   epochs=DIGIT_EPOCHS)
    network = classifier_record(f"minimax MNIST digit classifier, {DIGIT_EPOCHS} epochs", net, test)
    accuracy = network["test_accuracy"]

    def score(samples: torch.Tensor) -> dict:
        modes = stacked_modes(lambda x: classifier.predict(net, x, (1, 28, 28)), samples)
        return histogram_metrics(modes, 1000)

    curve, skipped = [], []
    if opts.option("every_checkpoint") and job.players is not None:
        for path in list_checkpoints(Path(run_dir)):
            if step_of(path) >= job.players.step:  # (the latest that verifies is scored below)
                continue
            try:
                trained = load_trained(run_dir, checkpoint=path)
            except MinimaxError as e:  # a corrupt older checkpoint: said, recorded, and the curve goes on
                skipped.append(path.name)
                opts.say(f"  step {step_of(path):>7}: skipped ({e})")
                continue
            r = score(eight_bits(generate(trained, job.n, seed=job.seed).reshape(job.n, -1).cpu().float()))
            curve.append({"step": trained.step, "modes": r["modes"], "kl": r["kl"]})
            opts.say(f"  step {trained.step:>7}: {r['modes']:>4} modes  KL {r['kl']:.3f}")
    samples, source = job.samples()
    result = {**score(samples), "classifier_test_accuracy": accuracy, "source": source}
    if curve:
        result["curve"] = [*curve, {"step": job.players.step, "modes": result["modes"], "kl": result["kl"]}]
    if skipped:
        result["skipped_checkpoints"] = skipped
    opts.say(f"Stacked MNIST: {result['modes']} of 1000 modes, KL(q || uniform) {result['kl']:.3f} nats ({source}; "
             f"digit classifier test accuracy {accuracy:.4f})")
    return {**result, "protocol": job.protocol(source, {"modes": "uniform over 1000 digit triples"}, network)}
