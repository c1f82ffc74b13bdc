r"""Inception Score (Salimans et al. 2016): IS = exp(E_x KL(p(y | x) ‖ p(y))), p(y) = E_x p(y | x).

Over N samples split into ``splits`` equal parts (10, as the paper and torch-fidelity), each part j gives

    IS_j = exp( (1/n) Σ_i Σ_y p(y | x_i) [log p(y | x_i) - log p̂_j(y)] ),   p̂_j(y) = (1/n) Σ_i p(y | x_i),

and the score is mean ± std of IS_j. It lies in [1, number of classes]: 1 when every sample gets the same
class distribution, the number of classes when each sample is one class with certainty and the classes are
used equally. Computed from logits with log_softmax (finite for any logit).
"""
from __future__ import annotations

import math

import torch

from ..errors import MinimaxError

SPLITS = 10


def inception_score(logits: torch.Tensor, splits: int = SPLITS) -> dict:
    """``{"is": mean, "is_std": std over splits, "splits"}`` from class logits [N, classes]."""
    if len(logits) < splits:
        raise MinimaxError(f"the Inception Score over {splits} splits needs at least {splits} samples, "
                           f"got {len(logits)}")
    log_p = torch.log_softmax(logits.to(torch.float64), 1)
    scores = []
    for part in torch.tensor_split(log_p, splits):
        log_marginal = torch.logsumexp(part, 0) - math.log(len(part))
        scores.append(float(torch.exp((part.exp() * (part - log_marginal)).sum(1).mean())))
    t = torch.tensor(scores, dtype=torch.float64)
    return {"is": float(t.mean()), "is_std": float(t.std()) if splits > 1 else 0.0, "splits": splits}
