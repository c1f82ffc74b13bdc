r"""DCGAN players (Radford, Metz & Chintala 2016) for 28, 32 and 64 pixel images.

G: z → project to (c·2^(n-1), s0, s0) → n × [ConvT 4×4 stride 2, BN, ReLU] → tanh image,
D: image → n × [Conv 4×4 stride 2, (BN | layer norm | none), LeakyReLU 0.2] → conv to one logit,
with s0 = 7 for 28 px and 4 for 32/64 px; no BN on D's first layer or G's output.
All conv weights ~ N(0, 0.02²); BN scale ~ N(1, 0.02²), shift 0 (§4 of the paper).
"""
from __future__ import annotations

import torch
from torch import nn

SIZES = {28: (7, 2), 32: (4, 3), 64: (4, 4)}  # image side -> (base side s0, number of x2 upsamplings)


def dcgan_init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _check(size: int) -> tuple[int, int]:
    if size not in SIZES:
        raise ValueError(f"DCGAN supports image sizes {sorted(SIZES)}, got {size}")
    return SIZES[size]


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int, channels: int, size: int, width: int = 64):
        super().__init__()
        s0, n = _check(size)
        c = width * 2 ** (n - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, c, s0, 1, 0, bias=False), nn.BatchNorm2d(c),
                                   nn.ReLU(True)]
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


def _norm(kind: str, channels: int) -> nn.Module:
    """BatchNorm (DCGAN), layer normalisation over (C, H, W) per example (GroupNorm with one group), or none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


class DCGANDiscriminator(nn.Module):
    """DCGAN's D; ``norm`` = 'layer' or 'none' makes each example's output depend on that example only
    (needed by per-example gradient penalties, Gulrajani et al. 2017 §4)."""

    def __init__(self, channels: int, size: int, width: int = 64, norm: str = "batch"):
        super().__init__()
        s0, n = _check(size)
        c = width
        layers: list[nn.Module] = [nn.Conv2d(channels, c, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for _ in range(n - 1):
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=norm == "none"), _norm(norm, c * 2), nn.LeakyReLU(0.2, True)]
            c *= 2
        layers.append(nn.Conv2d(c, 1, s0, 1, 0))
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(x.shape[0])
