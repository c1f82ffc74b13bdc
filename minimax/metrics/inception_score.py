r"""Inception Score (Salimans et al. 2016): IS = exp(E_x KL(p(y | x) ‖ p(y))), p(y) = E_x p(y | x).

Over N samples split into ``splits`` parts (10, as the paper and torch-fidelity; part j holds samples
⌊jN/splits⌋ to ⌊(j+1)N/splits⌋ − 1, the boundaries of Salimans et al.'s code and torch-fidelity's), each part j gives

    IS_j = exp( (1/n) Σ_i Σ_y p(y | x_i) [log p(y | x_i) - log p̂_j(y)] ),   p̂_j(y) = (1/n) Σ_i p(y | x_i),

and the score is mean ± std of IS_j, the std over the splits with ddof = 0 (numpy's np.std, as the original code
and torch-fidelity; torch-fidelity also shuffles the samples first, which i.i.d. samples do not need). It lies in
[1, number of classes]: 1 when every sample gets the same
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
    n = len(log_p)
    for part in (log_p[j * n // splits:(j + 1) * n // splits] for j in range(splits)):
        log_marginal = torch.logsumexp(part, 0) - math.log(len(part))
        scores.append(float(torch.exp((part.exp() * (part - log_marginal)).sum(1).mean())))
    t = torch.tensor(scores, dtype=torch.float64)
    return {"is": float(t.mean()), "is_std": float(t.std(correction=0)), "splits": splits}
