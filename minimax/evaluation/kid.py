"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD²_u with the cubic polynomial kernel
k(x, y) = (xᵀy/d + 1)³, mean ± std over random subsets (the estimator in :mod:`minimax.metrics.kid`)."""
from __future__ import annotations

from ..config import positive_int
from ..metrics.kid import check_subset_size, kid
from .job import accuracy_note, feature_job, reference_label
from .options import EvalOptions

SCORES = {"kid": "MMD²_u with the cubic polynomial kernel, mean over subsets, unscaled (not ×10³)",
          "kid_std": "its standard deviation over subsets", "subsets": "subsets", "subset_size": "samples per subset",
          "classifier_test_accuracy": "as for fid"}


def check(opts: EvalOptions, n: int) -> None:
    """The subsets' count and size against N (the reference set's size is checked once it is loaded)."""
    positive_int(opts.subsets, "--subsets")
    check_subset_size(positive_int(opts.subset_size, "--subset-size"), n, n)


def run(opts: EvalOptions, run_dir: str | None) -> dict:
    """The run's (or with --real, real images') scores and their protocol record."""
    subsets = positive_int(opts.subsets, "--subsets")
    size = positive_int(opts.subset_size, "--subset-size")
    job, features, real_f, shape, reference = feature_job(
        opts, run_dir, check=lambda job, reference: check_subset_size(size, reference["size"], job.n))
    samples, source = job.samples()
    result = {**kid(real_f, features(samples, shape), subsets, size, seed=job.seed), "source": source}
    opts.say(f"KID = MMD²_u, unscaled ({features.kind} features): {result['kid']:.5f} ± {result['kid_std']:.5f} "
             f"({subsets} subsets of "
             f"{size}; {source} vs {reference_label(reference)}{accuracy_note(features)})")
    return {**result, "protocol": job.protocol(source, reference, features.record, subsets=subsets,
                                               subset_size=size)}
