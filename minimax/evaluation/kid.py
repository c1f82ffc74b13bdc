"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD²_u with the cubic polynomial kernel
k(x, y) = (xᵀy/d + 1)³, mean ± std over random subsets (the estimator in :mod:`minimax.metrics.kid`)."""
from __future__ import annotations

from ..catalogue import IMAGE_SETS
from ..metrics.kid import SUBSET_SIZE, check_subset_size, kid
from .job import accuracy_note, feature_job, reference_label
from .options import EvalOptions

COMPONENTS = [{
    "kind": "metric", "name": "kid", "order": 3, "datasets": IMAGE_SETS, "headline": ("kid",),
    "help": "Kernel Inception Distance: unbiased MMD^2 (cubic kernel), mean ± std over subsets",
    "report": (("KID", "{kid:.5f} ± {kid_std:.5f} (N = {p[n_samples]} samples, {p[features]} features)"),),
    "features": True, "reference": True,
    "options": {"subsets": {"type": "int", "default": 100, "min": 1, "max": 100_000, "help": "number of subsets"},
                "subset_size": {"type": "int", "default": None, "auto": "auto", "min": 2,
                                "help": "samples per subset; auto: 1000, or the smaller set's size when it has fewer "
                                        "images (said in the record)"}},
}]
SCORES = {"kid": "MMD²_u with the cubic polynomial kernel, mean over subsets, unscaled (not ×10³)",
          "kid_std": "its standard deviation over subsets", "subsets": "subsets", "subset_size": "samples per subset",
          "classifier_test_accuracy": "as for fid"}


def chosen_size(opts: EvalOptions) -> int | None:
    """--subset-size as given, or None for 'auto' (the default)."""
    return opts.option("subset_size")


def subset_size(opts: EvalOptions, n_real: int, n_fake: int) -> tuple[int, str | None]:
    """(m, a note or None): the size given, checked against both sets; else 1,000 (torch-fidelity's and the
    paper's), lowered to the smaller set's size when it has fewer images (MMD²_u is unbiased for any m ≥ 2, with
    more variance: the note says so in the record)."""
    size = chosen_size(opts)
    if size is not None:
        check_subset_size(size, n_real, n_fake)
        return size, None
    size = min(SUBSET_SIZE, n_real, n_fake)
    check_subset_size(size, n_real, n_fake)
    if size == SUBSET_SIZE:
        return size, None
    which = "reference" if n_real <= n_fake else "scored"
    return size, (f"the default {SUBSET_SIZE} was lowered to {size}: the {which} set has {size} images (an unbiased "
                  "estimate, with more variance than subsets of 1,000)")


def check(opts: EvalOptions, n: int) -> None:
    """The subsets' count and a given size against N (the reference set's size is checked once it is loaded)."""
    size = chosen_size(opts)
    if size is not None:
        check_subset_size(size, n, n)


def run(opts: EvalOptions, run_dir: str | None) -> dict:
    """The run's (or with --real, real images') scores and their protocol record."""
    subsets = opts.option("subsets")
    job, features, real_f, shape, reference = feature_job(
        opts, run_dir, check=lambda job, reference: subset_size(opts, reference["size"], job.n))
    size, note = subset_size(opts, reference["size"], job.n)
    samples, source = job.samples()
    result = {**kid(real_f, features(samples, shape), subsets, size, seed=job.seed), "source": source}
    opts.say(f"KID = MMD²_u, unscaled ({features.kind} features): {result['kid']:.5f} ± {result['kid_std']:.5f} "
             f"({subsets} subsets of "
             f"{size}; {source} vs {reference_label(reference)}{accuracy_note(features)})")
    if note:
        opts.say(f"KID subset size: {note}")
    return {**result, "protocol": job.protocol(source, reference, features.record, subsets=subsets,
                                               subset_size=size, **({"subset_size_note": note} if note else {}))}
