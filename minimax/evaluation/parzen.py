"""Parzen-window log-likelihood of the test set, the 2014 paper's Table 1 (its estimator and σ search in
:mod:`minimax.metrics.parzen`): σ chosen on 1,000 validation images (train[50000:51000]), the mean
log-likelihood of the test images under the samples' window, ± its standard error."""
from __future__ import annotations

from ..catalogue import MNIST_FAMILY
from ..data import load_dataset
from ..metrics.parzen import parzen_evaluate
from .job import make_job
from .options import EvalOptions
from .reference import check_shapes

COMPONENTS = [{
    "kind": "metric", "name": "parzen", "order": 1, "datasets": MNIST_FAMILY, "headline": ("parzen_ll",),
    "help": "Parzen-window log-likelihood on the MNIST test set (paper's Table 1)",
    "report": (("Parzen log-likelihood", "{parzen_ll:.1f} ± {parzen_se:.1f} nats (σ = {sigma:.3f})"),),
}]
SCORES = {"parzen_ll": "mean log-likelihood of the test images under the samples' Parzen window (nats)",
          "parzen_se": "its standard error, std/√N_test", "sigma": "the window width chosen on validation images",
          "valid_ll_by_sigma": "validation log-likelihood for each σ tried", "n_samples": "N",
          "n_test": "test images"}


def run(opts: EvalOptions, run_dir: str | None) -> dict:
    """The run's (or with --real, real images') scores and their protocol record."""
    job = make_job(opts, run_dir, MNIST_FAMILY)
    test_set = load_dataset(job.cfg, "cpu", split="t10k")
    check_shapes(job, test_set)
    valid = load_dataset(job.cfg, "cpu", split="valid").pixels()[:1000]
    samples, source = job.samples(eight_bit=False)  # (a density of the samples as G makes them)
    result = parzen_evaluate(samples, valid, test_set.pixels())
    result["source"] = source
    opts.say(f"Parzen log-likelihood: {result['parzen_ll']:.1f} ± {result['parzen_se']:.1f} nats "
             f"(sigma {result['sigma']:.4f}; {source}; {len(test_set)} test images)")
    return {**result, "protocol": job.protocol(source, {"split": "test", "size": len(test_set), "sigma_chosen_on":
                                                        "train[50000:51000]"}, None)}
