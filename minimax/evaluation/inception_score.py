"""The Inception Score (Salimans et al. 2016), exp E_x KL(p(y|x) ‖ p(y)), mean ± std over splits, on
Inception-v3's class logits (the score in :mod:`minimax.metrics.inception_score`; no reference set)."""
from __future__ import annotations

from ..catalogue import IMAGE_SETS
from ..errors import MinimaxError
from ..metrics.inception import inception_outputs
from ..metrics.inception_score import inception_score
from .job import Features, make_job
from .options import EvalOptions

COMPONENTS = [{
    "kind": "metric", "name": "is", "order": 5, "datasets": IMAGE_SETS, "headline": ("is",),
    "help": "Inception Score, mean ± std over splits (--features inception)",
    "report": (("Inception Score", "{is:.3f} ± {is_std:.3f} (N = {p[n_samples]} samples)"),),
    "features": True, "default_features": "inception",
    "options": {"splits": {"type": "int", "default": 10, "min": 1, "max": 100_000, "help": "number of splits"}},
}]
SCORES = {"is": "the Inception Score, exp E KL(p(y|x) ‖ p(y)), mean over splits", "is_std": "its std over splits",
          "splits": "splits"}


def check(opts: EvalOptions, n: int) -> None:
    """The score is defined on the Inception network, and each split needs a sample."""
    if opts.features != "inception":
        raise MinimaxError("the Inception Score is defined on the Inception network: pass --features inception")
    if n < opts.option("splits"):
        raise MinimaxError(f"N = {n} samples is fewer than --splits {opts.option('splits')}")


def run(opts: EvalOptions, run_dir: str | None) -> dict:
    """The run's (or with --real, real images') scores and their protocol record."""
    splits = opts.option("splits")  # (Inception features and N ≥ splits: preflight)
    job = make_job(opts, run_dir, IMAGE_SETS)
    features = Features(opts, job.cfg)
    samples, source = job.samples()
    _, logits = inception_outputs(features.net, samples, job.shape, logits=True)
    result = {**inception_score(logits, splits), "source": source}
    opts.say(f"Inception Score: {result['is']:.3f} ± {result['is_std']:.3f} ({splits} splits; {source})")
    return {**result, "protocol": job.protocol(source, None, features.record, splits=splits)}
