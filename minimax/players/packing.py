r"""PacGAN packing (Lin et al. 2018): D judges p samples jointly.

A batch of m samples is read as m/p groups of p consecutive samples concatenated along the feature (channel)
axis; D gives one logit per group, so it plays the game on the product distributions p_data^p vs p_g^p
(a generator that drops a mode of mass ε loses ~pε instead of ε in total variation: mode collapse costs more).
"""
from __future__ import annotations

import torch


def pack(x: torch.Tensor, p: int) -> torch.Tensor:
    """[m, C, ...] -> [m/p, pC, ...]: each group of p consecutive samples stacked along the feature axis."""
    if p == 1:
        return x
    if x.shape[0] % p:
        raise ValueError(f"a batch of {x.shape[0]} samples cannot be packed in groups of {p}")
    return x.reshape(x.shape[0] // p, p * x.shape[1], *x.shape[2:])
