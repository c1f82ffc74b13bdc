"""Fréchet distance between Gaussians fitted to the features of real and generated images (Heusel et al.
2017; the distance in :mod:`minimax.metrics.frechet`): ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2(Σ_r Σ_g)^½), with the
dataset's classifier features or Inception-v3's pool features (pytorch-fid's network)."""
from __future__ import annotations

from ..catalogue import IMAGE_SETS
from ..errors import MinimaxError
from ..metrics.frechet import GaussianFit, frechet_between
from .job import accuracy_note, feature_dim, feature_job, reference_label
from .options import EvalOptions

COMPONENTS = [{
    "kind": "metric", "name": "fid", "order": 2, "datasets": IMAGE_SETS, "headline": ("fid",),
    "help": "Frechet distance of features (classifier, or --features inception) to the test split or --real-dir",
    "report": (("FID", "{fid:.2f} (N = {p[n_samples]} samples, {p[features]} features)"),),
    "features": True, "reference": True,
}]
SCORES = {"fid": "the Fréchet distance between Gaussians fitted to the features", "n_samples": "N",
          "n_test": "reference images",
          "classifier_test_accuracy": "the feature classifier's accuracy (MNIST-style)"}


def check(opts: EvalOptions, n: int) -> None:
    """N below the feature dimension makes the samples' covariance singular."""
    dim = feature_dim(opts)
    if n < dim:
        raise MinimaxError(f"N = {n} samples (--n, or the images of --fake-dir) is below the feature dimension {dim}: "
                           "the covariance of the samples would be singular and the FID meaningless; score "
                           f"{dim} or more (10000 is usual), or use eval kid, which suits small sets")


def run(opts: EvalOptions, run_dir: str | None) -> dict:
    """The run's (or with --real, real images') scores and their protocol record."""
    job, features, real_f, shape, reference = feature_job(opts, run_dir)  # (N ≥ the feature dimension: preflight)
    samples, source = job.samples()
    real, fake = GaussianFit(features.dim), GaussianFit(features.dim)
    real.update(real_f)
    fake.update(features(samples, shape))
    result = {"fid": frechet_between(real, fake), "n_samples": len(samples), "n_test": reference["size"],
              "source": source}
    if "test_accuracy" in features.record:
        result["classifier_test_accuracy"] = features.record["test_accuracy"]
    opts.say(f"Frechet distance ({features.kind} features): {result['fid']:.3f} ({source} vs "
             f"{reference_label(reference)}{accuracy_note(features)})")
    return {**result, "protocol": job.protocol(source, reference, features.record)}
