"""The two players: generator G (noise -> data) and discriminator D (data -> logit)."""
from __future__ import annotations

import torch

from ..errors import MinimaxError
from .mlp import MLPDiscriminator, MLPGenerator


def build_players(cfg, data) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Build (G, D) for ``cfg.model`` and the data's shape. Call after seeding torch."""
    shape = tuple(data.shape)
    if cfg.model == "mlp":
        G = MLPGenerator(cfg.latent_dim, shape, cfg.g_hidden, "relu", getattr(data, "g_output", "identity"),
                         batchnorm=cfg.g_norm == "batch")
        D = MLPDiscriminator(shape, cfg.d_hidden, "leaky_relu", cfg.d_dropout, cfg.pack)
        return G, D
    raise MinimaxError(f"model {cfg.model!r} is not available for dataset {cfg.dataset!r}")


__all__ = ["build_players", "MLPGenerator", "MLPDiscriminator"]
