r"""Precision and recall of k-nearest-neighbour manifolds (Kynkäänniemi et al. 2019), and density and
coverage (Naeem et al. 2020): sample quality and mode coverage as separate numbers.

Each feature vector φ of a set S gets the ball B(φ, r_k(φ, S)) of radius its distance to its k-th nearest
neighbour in S (itself excluded); the set's manifold is the union of its balls,

    manifold(S) = ∪_{φ ∈ S} B(φ, r_k(φ, S)),   f(ψ, S) = 1[ψ ∈ manifold(S)].

With real features R = {φ_i} (N of them) and generated features G = {ψ_j} (M of them), k = 3:

    precision = (1/M) Σ_j f(ψ_j, R)    (generated samples that land on the real manifold: quality)
    recall    = (1/N) Σ_i f(φ_i, G)    (real samples that land on the generated manifold: coverage)
    density   = 1/(kM) Σ_j Σ_i 1[ψ_j ∈ B(φ_i, r_k(φ_i, R))]   (how many real balls hold each sample; ≈ 1 when Q = P)
    coverage  = (1/N) Σ_i 1[∃ j: ψ_j ∈ B(φ_i, r_k(φ_i, R))]   (real balls that hold a generated sample)

A generator that drops modes keeps precision and loses recall (and coverage); one whose samples lie off the
data (blur, noise) keeps recall and loses precision (and density). Distances are Euclidean, computed in
blocks so that N × M never has to fit in memory at once.

A point exactly on a ball's edge: precision and recall count it inside, as Kynkäänniemi et al. define f
(‖ψ − φ‖ ≤ r_k(φ)); density and coverage count it outside, as Naeem et al.'s code (prdc) does (‖ψ − φ‖ < r_k(φ)).
With continuous features ties have probability zero and all four equal prdc's (tests/test_kid_pr_is.py checks
it against prdc 0.2); they matter for repeated images (a ball of radius 0).
"""
from __future__ import annotations

import torch

K = 3
BLOCK = 2048


def kth_neighbour_radii(x: torch.Tensor, k: int = K) -> torch.Tensor:
    """r_k(x_i, X): the distance from each row to its k-th nearest other row."""
    if len(x) <= k:
        raise ValueError(f"k-NN radii with k = {k} need more than {k} points, got {len(x)}")
    out = []
    for i in range(0, len(x), BLOCK):
        d = torch.cdist(x[i:i + BLOCK], x)
        out.append(d.kthvalue(k + 1, dim=1).values)  # the smallest is the point itself (distance 0)
    return torch.cat(out)


def _ball_counts(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """For each point, how many balls B(centre_i, radius_i) contain it: (closed balls, ≤; open balls, <)."""
    closed, open_ = [], []
    for i in range(0, len(points), BLOCK):
        d = torch.cdist(points[i:i + BLOCK], centres)
        closed.append((d <= radii).sum(1))
        open_.append((d < radii).sum(1))
    return torch.cat(closed), torch.cat(open_)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = K) -> dict:
    """``{"precision", "recall", "density", "coverage", "k"}`` between real and generated features [n, d]."""
    real, fake = real.to(torch.float64), fake.to(torch.float64)
    r_real, r_fake = kth_neighbour_radii(real, k), kth_neighbour_radii(fake, k)
    in_real, in_real_open = _ball_counts(fake, real, r_real)  # per generated sample: real balls holding it
    in_fake, _ = _ball_counts(real, fake, r_fake)  # per real sample: generated balls holding it
    covered = torch.zeros(len(real), dtype=torch.bool)
    for i in range(0, len(real), BLOCK):  # a real ball is covered when a generated sample falls inside it
        d = torch.cdist(real[i:i + BLOCK], fake)
        covered[i:i + BLOCK] = d.min(1).values < r_real[i:i + BLOCK]
    return {"precision": float((in_real > 0).double().mean()), "recall": float((in_fake > 0).double().mean()),
            "density": float(in_real_open.double().sum() / (k * len(fake))),
            "coverage": float(covered.double().mean()), "k": k}
