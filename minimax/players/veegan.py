r"""The DCGAN of the Stacked MNIST benchmark (VEEGAN §5.2, Srivastava et al. 2017; PacGAN Table 2, Lin et al. 2018).

The players of PacGAN's ``stacked_MNIST_experiments/VEEGAN_experiment`` (built on carpedm20's DCGAN-tensorflow),
for 28×28 images with C channels (C = 3 for Stacked MNIST), every convolution 5×5 with stride 2 ('same' padding):

    G: z ∈ R^100 → linear → 512×2×2 → BN, ReLU → convT → 256×4×4 → BN, ReLU → convT → 128×7×7 → BN, ReLU
       → convT → 64×14×14 → BN, ReLU → convT → C×28×28 → tanh
    D: x ∈ R^{pC×28×28} → conv → 64×14×14 → LReLU(0.2) → conv → 128×7×7 → BN, LReLU → conv → 256×4×4 → BN, LReLU
       → conv → 512×2×2 → BN, LReLU → linear → one logit

With packing p (PacGAN), D judges p samples at once: the batch [m, C, H, W] is read as m/p groups of p
consecutive samples stacked along the channels, [m/p, pC, H, W] (PacGAN's ``tf.concat(G_sep, 3)``), so a
batch of m samples gives m/p logits and D plays the game on p_data^p against p_g^p.
Weights ~ N(0, 0.02²), BN scale ~ N(1, 0.02²) (DCGAN's initialisation; the TF code draws the linear layers
from N(0, 0.02²) as well).
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import MinimaxError
from .dcgan import dcgan_init
from .packing import pack

COMPONENTS = [{
    "kind": "player", "name": "veegan", "object": "players", "order": 4, "pack": True, "d_normalises_batch": True,
    "help": "VEEGAN's and PacGAN's Stacked MNIST DCGAN (28 px)",
}]

SIDE = 28
WIDTH = 64  # gf_dim = df_dim = 64


def _up(c_in: int, c_out: int, out_side: int, bias: bool = False) -> nn.ConvTranspose2d:
    """5×5 stride-2 transposed convolution of TF's 'same' geometry: side s -> out_side ∈ {2s - 1, 2s}."""
    in_side = (out_side + 1) // 2
    return nn.ConvTranspose2d(c_in, c_out, 5, 2, 2, output_padding=out_side - (2 * in_side - 1),
                              bias=bias)


class VEEGANGenerator(nn.Module):
    def __init__(self, latent_dim: int = 100, channels: int = 3):
        super().__init__()
        w = WIDTH
        self.project = nn.Linear(latent_dim, w * 8 * 2 * 2, bias=False)
        self.net = nn.Sequential(
            nn.BatchNorm2d(w * 8), nn.ReLU(True),
            _up(w * 8, w * 4, 4), nn.BatchNorm2d(w * 4), nn.ReLU(True),
            _up(w * 4, w * 2, 7), nn.BatchNorm2d(w * 2), nn.ReLU(True),
            _up(w * 2, w, 14), nn.BatchNorm2d(w), nn.ReLU(True),
            _up(w, channels, SIDE, bias=True), nn.Tanh(),
        )
        dcgan_init(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(self.project(z.flatten(1)).view(z.shape[0], WIDTH * 8, 2, 2))


class VEEGANDiscriminator(nn.Module):
    def __init__(self, channels: int = 3, pack: int = 1):
        super().__init__()
        w, self.pack = WIDTH, pack
        self.net = nn.Sequential(
            nn.Conv2d(channels * pack, w, 5, 2, 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(w, w * 2, 5, 2, 2, bias=False), nn.BatchNorm2d(w * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(w * 2, w * 4, 5, 2, 2, bias=False), nn.BatchNorm2d(w * 4), nn.LeakyReLU(0.2, True),
            nn.Conv2d(w * 4, w * 8, 5, 2, 2, bias=False), nn.BatchNorm2d(w * 8), nn.LeakyReLU(0.2, True),
        )
        self.logit = nn.Linear(w * 8 * 2 * 2, 1)
        dcgan_init(self)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.net(pack(x, self.pack))
        return self.logit(h.flatten(1)).squeeze(1)


def players(shape, latent_dim: int, classes: int, pack: int, g_output: str) -> tuple[nn.Module, nn.Module]:
    """(G, D) for SIDE x SIDE images."""
    if tuple(shape[1:]) != (SIDE, SIDE):
        raise MinimaxError(f"model veegan needs {SIDE}x{SIDE} images, got shape {tuple(shape)}")
    return VEEGANGenerator(latent_dim, shape[0]), VEEGANDiscriminator(shape[0], pack)
