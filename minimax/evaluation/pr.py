"""Precision and recall of k-NN manifolds (Kynkäänniemi et al. 2019), density and coverage (Naeem et al.
2020), k = 3 (the estimators in :mod:`minimax.metrics.precision_recall`)."""
from __future__ import annotations

from ..catalogue import IMAGE_SETS
from ..errors import MinimaxError
from ..metrics.precision_recall import K, precision_recall
from .job import accuracy_note, feature_job, reference_label
from .options import EvalOptions

COMPONENTS = [{
    "kind": "metric", "name": "pr", "order": 4, "datasets": IMAGE_SETS,
    "headline": ("precision", "recall", "density", "coverage"),
    "help": "precision, recall, density and coverage (k-NN manifolds, k = 3)",
    "report": (("precision, recall", "{precision:.3f}, {recall:.3f} (density {density:.3f}, coverage {coverage:.3f}; "
                "{p[features]} features)"),),
    "features": True, "reference": True,
}]
SCORES = {"precision": "share of samples inside the real features' k-NN balls (Kynkäänniemi et al. 2019)",
          "recall": "share of real features inside the samples' k-NN balls", "density": "Naeem et al. 2020",
          "coverage": "share of real features whose ball holds a sample (Naeem et al. 2020)", "k": "neighbours",
          "classifier_test_accuracy": "as for fid"}


def check(opts: EvalOptions, n: int) -> None:
    """A k-NN ball needs more than k samples."""
    if n <= K:
        raise MinimaxError(f"N = {n} samples: precision and recall need more than k = {K} samples")


def run(opts: EvalOptions, run_dir: str | None) -> dict:
    """The run's (or with --real, real images') scores and their protocol record."""
    job, features, real_f, shape, reference = feature_job(opts, run_dir)  # (N > k: preflight)
    samples, source = job.samples()
    result = {**precision_recall(real_f, features(samples, shape)), "source": source}
    opts.say(f"precision {result['precision']:.4f}  recall {result['recall']:.4f}  density {result['density']:.4f}  "
             f"coverage {result['coverage']:.4f}  (k = {K}, {features.kind} features; {source} vs "
             f"{reference_label(reference)}{accuracy_note(features)})")
    return {**result, "protocol": job.protocol(source, reference, features.record)}
