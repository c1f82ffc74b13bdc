r"""DCGAN players (Radford, Metz & Chintala 2016) for 28, 32 and 64 pixel images.

G: z → project to (c·2^(n-1), s0, s0) → n × [ConvT 4×4 stride 2, BN, ReLU] → tanh image,
D: image → n × [Conv 4×4 stride 2, (BN | layer norm | none), LeakyReLU 0.2] → conv to one logit,
with s0 = 7 for 28 px and 4 for 32/64 px; no BN on D's first layer or G's output.
All conv weights ~ N(0, 0.02²); BN scale ~ N(1, 0.02²), shift 0 (§4 of the paper).

Conditional (``classes`` = K > 0; :mod:`minimax.players.conditioning`): G's BatchNorms become conditional
BatchNorms (γ_c, β_c per class) and D gains the projection term, l(x, c) = (w + v_c)ᵀ φ(x) + b with φ(x)
the last feature map (flattened) and (w, b) D's final convolution, v_c ~ N(0, 0.02²) at the start.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import MinimaxError
from .conditioning import ConditionalBatchNorm2d, run_layers
from .packing import pack

COMPONENTS = [{
    "kind": "player", "name": "dcgan", "object": "players", "order": 3, "condition": "projection", "pack": True,
    "help": "DCGAN (Radford et al. 2016), 28, 32 or 64 px", "d_normalises_batch": {"d_norm": "batch"},
    "options": {"d_norm": {"type": "str", "choices": ("batch", "layer", "none"), "default": "batch",
                           "help": "dcgan D's normalisation",
                           "more": "'batch' (DCGAN), 'layer' (per example, as WGAN-GP needs) or 'none'"}},
    # DCGAN's minibatch as the DCGAN measurements in docs/ use it (64; Radford et al. used 128), not the toy sets' 256
    "preset": {"batch_size": 64},
}]

SIZES = {28: (7, 2), 32: (4, 3), 64: (4, 4)}  # image side -> (base side s0, number of x2 upsamplings)


def dcgan_init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:  # a conditional BatchNorm's γ_c, β_c: its own init
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _check(size: int) -> tuple[int, int]:
    if size not in SIZES:
        raise ValueError(f"DCGAN supports image sizes {sorted(SIZES)}, got {size}")
    return SIZES[size]


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int, channels: int, size: int, width: int = 64, classes: int = 0):
        super().__init__()
        s0, n = _check(size)
        self.classes = classes
        c = width * 2 ** (n - 1)

        def bn(ch: int) -> nn.Module:
            return ConditionalBatchNorm2d(ch, classes) if classes else nn.BatchNorm2d(ch)

        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, c, s0, 1, 0, bias=False), bn(c), nn.ReLU(True)]
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), bn(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = z.view(z.shape[0], -1, 1, 1)
        return run_layers(self.net, h, c) if self.classes else self.net(h)


def _norm(kind: str, channels: int) -> nn.Module:
    """BatchNorm (DCGAN), layer normalisation over (C, H, W) per example (GroupNorm with one group), or none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


class DCGANDiscriminator(nn.Module):
    """DCGAN's D; ``norm`` = 'layer' or 'none' makes each example's output depend on that example only
    (needed by per-example gradient penalties, Gulrajani et al. 2017 §4). ``pack`` = p: PacGAN's D, one logit
    per p consecutive samples stacked along the channels (:func:`minimax.players.packing.pack`)."""

    def __init__(self, channels: int, size: int, width: int = 64, norm: str = "batch", classes: int = 0,
                 pack: int = 1):
        super().__init__()
        s0, n = _check(size)
        self.classes, self.pack = classes, pack
        c = width
        layers: list[nn.Module] = [nn.Conv2d(channels * pack, c, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for _ in range(n - 1):
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=norm == "none"), _norm(norm, c * 2), nn.LeakyReLU(0.2, True)]
            c *= 2
        layers.append(nn.Conv2d(c, 1, s0, 1, 0))
        self.net = nn.Sequential(*layers)
        if classes:
            self.projection = nn.Embedding(classes, c * s0 * s0)  # v_c, one per class
        dcgan_init(self)
        if classes:
            nn.init.normal_(self.projection.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if not self.classes:
            x = pack(x, self.pack)
            return self.net(x).view(x.shape[0])
        h = x
        for layer in self.net[:-1]:
            h = layer(h)
        return self.net[-1](h).view(x.shape[0]) + (self.projection(c) * h.flatten(1)).sum(1)


def players(shape, latent_dim: int, classes: int, pack: int, g_output: str, d_norm: str = "batch"
            ) -> tuple[nn.Module, nn.Module]:
    """(G, D) for square images of a side in SIZES."""
    c, h, w = shape
    if h != w or h not in SIZES:
        raise MinimaxError(f"dcgan needs square images of side {sorted(SIZES)}, got {h}x{w}")
    return DCGANGenerator(latent_dim, c, h, classes=classes), \
        DCGANDiscriminator(c, h, norm=d_norm, classes=classes, pack=pack)
