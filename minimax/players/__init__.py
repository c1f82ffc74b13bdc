"""The two players: generator G (noise -> data) and discriminator D (data -> logit).

Architectures: ``mlp`` (any data), ``paper`` (Goodfellow et al. 2014's MNIST pair),
``dcgan`` (Radford et al. 2016, 28/32/64 px images), ``veegan`` (the DCGAN of the Stacked MNIST benchmark,
VEEGAN/PacGAN), ``r3gan`` (Huang et al. 2024: residual, grouped convolutions, no normalisation; 28 to 256 px).
With ``pack`` = p > 1 the mlp, dcgan, veegan and r3gan D are PacGAN discriminators (p samples per logit).
Conditional players G(z, c), D(x, c) for the conditional game: :mod:`minimax.players.conditioning`. Each
architecture declares itself in its module (``COMPONENTS``: its options, how it conditions, whether it packs, its
preset; :mod:`minimax.registry`), with a ``players(shape, latent_dim, classes, pack, g_output, **options)`` that
builds (G, D).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from .. import registry
from ..catalogue import CONDITIONS
from ..errors import MinimaxError
from ..games.regularizers import spectral_normalise
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .mlp import MLPDiscriminator, MLPGenerator
from .paper import PaperDiscriminator, PaperGenerator
from .r3gan import R3GANDiscriminator, R3GANGenerator
from .veegan import VEEGANDiscriminator, VEEGANGenerator

MODELS: tuple[str, ...] = tuple(registry.players())


@contextmanager
def eval_mode(module: torch.nn.Module):
    """``with eval_mode(G) as G:`` the module in eval mode (BatchNorm running statistics, no dropout)
    for the block, then back in the mode it was in."""
    was_training = module.training
    try:
        yield module.eval()
    finally:
        module.train(was_training)


def output_range(model: str) -> str:
    """The generator's output non-linearity, which fixes the scale of image data (the model's declaration)."""
    return registry.players()[model].g_output


MARGINAL_CLIP = 1e-3


@torch.no_grad()
def init_output_bias_from_marginals(G: torch.nn.Module, pixels: torch.Tensor, output: str) -> None:
    r"""Start G's output biases so that G(z) ≈ the mean training image when the weights are small.

    With p_j the mean of pixel j over the training set (in [0, 1]), clipped to [ε, 1 - ε]:

        sigmoid output:  b_j = logit(p_j) = log(p_j / (1 - p_j))      so σ(b_j) = p_j
        tanh output:     b_j = atanh(2 p_j - 1) = ½ logit(p_j)         so tanh(b_j) = 2 p_j - 1

    This is pylearn2's ``init_sigmoid_bias_from_marginals``, which the 2014 paper's MNIST recipe
    (mnist.yaml) uses for G's output layer. pylearn2 clips at ε = 1e-7 (b = -16 for a pixel that is
    never lit, where σ' ≈ 1e-7 and G can hardly ever light it); minimax clips at ε = 1e-3 (b = -6.9).
    """
    last = [m for m in G.modules() if isinstance(m, torch.nn.Linear)][-1]
    p = pixels.double().mean(0).clamp(MARGINAL_CLIP, 1 - MARGINAL_CLIP)
    if p.numel() != last.bias.numel():
        raise MinimaxError(f"g_output_bias = 'marginals': G has {last.bias.numel()} outputs, "
                           f"the data {p.numel()} pixels")
    b = torch.logit(p) if output == "sigmoid" else 0.5 * torch.logit(p)
    last.bias.copy_(b.to(last.bias.dtype))


def build_players(cfg, data, init_from_data: bool = True) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Build (G, D) for ``cfg.model`` and the data's shape. Call after seeding torch. ``init_from_data=False``
    skips the initialisation that reads the training images (--g-output-bias marginals), for players whose
    weights are loaded next."""
    G, D = player_architectures(cfg, data)
    if cfg.g_output_bias == "marginals" and init_from_data:
        able = [n for n, p in registry.players().items() if p.marginals]
        if cfg.model not in able or not hasattr(data, "pixels") or len(data.shape) != 3:
            raise MinimaxError(f"g_output_bias = 'marginals' needs image data and the {' or '.join(able)} model, "
                               f"not {cfg.model!r} on {cfg.dataset!r}")
        init_output_bias_from_marginals(G, data.pixels(), data.g_output)
    if cfg.spectral_norm == "on":
        spectral_normalise(D)
    return G, D


def player_classes(cfg, data) -> int:
    """K, the number of classes the players are conditioned on (0 for the unconditional game).
    A conditional game needs labelled data with at least two classes and the model's way of conditioning."""
    if cfg.condition == "none":
        return 0
    wanted = registry.players()[cfg.model].condition
    if wanted is None:
        able = {n: p.condition for n, p in registry.players().items() if p.condition}
        raise MinimaxError(f"model {cfg.model!r} has no conditional form; condition {cfg.condition!r} needs "
                           f"{', '.join(f'{m} ({c})' for m, c in able.items())}")
    if cfg.condition != wanted:
        raise MinimaxError(f"condition {cfg.condition!r} is not available for model {cfg.model!r}; "
                           f"it conditions by {wanted!r}")
    classes = getattr(data, "n_classes", 0)
    if classes == 0:
        raise MinimaxError(f"condition {cfg.condition!r} needs class labels; dataset {cfg.dataset!r} has none"
                           + (" (put each class's images in a sub-folder)" if cfg.dataset == "folder" else ""))
    if classes < 2:
        raise MinimaxError(f"condition {cfg.condition!r} needs at least 2 classes; dataset {cfg.dataset!r} has "
                           f"{classes}")
    return classes


def player_architectures(cfg, data) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The architectures of (G, D) for ``cfg.model`` and the data's shape, freshly initialised: the model's
    ``players`` (its declaration's ``object``) with the options it reads."""
    shape = tuple(data.shape)
    k = player_classes(cfg, data)
    declared = registry.players()[cfg.model]
    if cfg.pack != 1 and not declared.pack:
        packs = [n for n, p in registry.players().items() if p.pack]
        raise MinimaxError(f"pack > 1 is available for the {', '.join(packs[:-1])} and {packs[-1]} models, not "
                           f"{cfg.model}")
    if cfg.pack != 1 and k and not declared.pack_with_condition:
        both = [n for n, p in registry.players().items() if p.pack_with_condition]
        raise MinimaxError(f"pack > 1 with condition {cfg.condition!r} is available for the {' and '.join(both)} "
                           "model only")
    if declared.images and len(shape) != 3:
        raise MinimaxError(f"model {cfg.model!r} needs image data; dataset {cfg.dataset!r} has shape {shape}")
    build = registry.component(declared.module, declared.object)
    return build(shape, cfg.latent_dim, k, cfg.pack, getattr(data, "g_output", "identity"), **cfg.player_options)


make_players = player_architectures  # the name before 0.4 (beside build_players); kept for one release

__all__ = ["MODELS", "CONDITIONS", "player_classes", "build_players", "player_architectures", "eval_mode",
           "init_output_bias_from_marginals", "output_range", "MLPGenerator", "MLPDiscriminator", "PaperGenerator",
           "PaperDiscriminator", "DCGANGenerator", "DCGANDiscriminator", "VEEGANGenerator",
           "VEEGANDiscriminator", "R3GANGenerator", "R3GANDiscriminator"]
