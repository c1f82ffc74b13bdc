r"""R3GAN's players (Huang, Gokaslan, Kuleshov & Tompkin, NeurIPS 2024, §4 "a roadmap to a new baseline"):
residual G and D without normalisation, for square images of side 28, 32, 64, 128 or 256.

The paper's reading of a modern ConvNet (ConvNeXt-style) for a GAN, every part chosen so that R1/R2 are sound:

* **No normalisation anywhere.** R1 and R2 (:mod:`minimax.games.regularizers`) penalise ‖∇ₓD(x)‖² per example;
  BatchNorm makes D(x_i) depend on the other x_j of the batch, so ∇ₓΣD would not be a per-example gradient
  (the same reason WGAN-GP's critic has none, Gulrajani et al. 2017 §4). Each logit here depends on its own
  input only (tested).
* **Residual blocks, inverted bottleneck, grouped convolution**: ``x + W₃ φ(W₂ φ(W₁ x))`` with W₁ a 1×1 conv
  C → 2C, W₂ a 3×3 conv 2C → 2C in groups of 16 channels (ResNeXt's cardinality 2C/16), W₃ a 1×1 conv 2C → C,
  φ a leaky ReLU (slope 0.2) after a learned per-channel bias.
* **Fix-up initialisation** (Zhang et al. 2019): W₃ = 0, so every block starts as the identity; W₁, W₂ are
  drawn N(0, (g·L^{-1/4})²/fan_in) with g = √(2/(1 + 0.2²)) the leaky ReLU's gain and L the number of blocks in
  the network (Fixup's L^{-1/(2m-2)} for m = 3 layers per branch); every other layer N(0, 1/fan_in).
* **Bilinear resampling**: ×2 up in G and ×½ down in D through the fixed [1, 3, 3, 1] filter (bilinear
  interpolation at half-pixel centres, zero-padded at the border), with a 1×1 conv where the width changes
  (after the down-sampling in D, before the up-sampling in G) — no transposed or strided convolutions.
* **Bases instead of a first/last dense layer**: G's first stage is a learned s₀×s₀ basis per channel scaled by
  a linear map of z, ``B_c ⊙ (W z)_c``; D's last stage is a depthwise s₀×s₀ conv and a linear map (s₀ = 7 for
  28-px images, else 4). G's output is a 1×1 conv with no squashing non-linearity (R3GAN's; pixels are clipped
  when turned into images).

Widths are given per stage from the lowest resolution up (D mirrors G); ``blocks`` residual blocks per stage.
Conditional form (R3GAN's, ``classes`` = K > 0): G takes [z; E_G e_c] with E_G a learned K × latent_dim
embedding; D's last stage gives a vector φ(x) of width widths[0] and the logit is ⟨φ(x), E_D e_c⟩ (a
projection discriminator without the unconditional term).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import MinimaxError
from .packing import pack

COMPONENTS = [{
    "kind": "player", "name": "r3gan", "object": "players", "order": 5, "condition": "projection", "pack": True,
    "help": "R3GAN (Huang et al. 2024): residual, grouped convolutions, no normalisation; 28 to 256 px",
    "options": {
        "widths": {"type": "widths", "default": (), "empty": True, "help": "r3gan widths per stage",
                   "more": "lowest resolution first, comma-separated, multiples of 8 (empty: the image size's "
                           "default, e.g. 256,128,64 at 28 px)"},
        "blocks": {"type": "int", "default": 2, "min": 1, "max": 64, "help": "r3gan residual blocks per stage"},
    },
    # the batch every R3GAN measurement in docs/ uses on a CPU (the default 256 needs ~29 GiB at 32 px with the
    # default widths, refused on a 24 GiB machine; R3GAN trains CIFAR-10 at 512 on GPUs)
    "preset": {"batch_size": 64},
}]

SIZES = {28: (7, 2), 32: (4, 3), 64: (4, 4), 128: (4, 5), 256: (4, 6)}  # side -> (basis side s0, upsamplings)
GROUP_WIDTH = 16  # channels per group of the grouped 3×3 conv (R3GAN's presets: cardinality = 2C/16)
EXPANSION = 2  # the inverted bottleneck's widening
SLOPE = 0.2
GAIN = math.sqrt(2 / (1 + SLOPE ** 2))  # He gain of a leaky ReLU of slope 0.2
FILTER = (1.0, 3.0, 3.0, 1.0)  # bilinear ×2 resampling filter (per axis)
# a width per stage from the lowest resolution up, sized for a CPU (R3GAN's CIFAR-10 preset uses 768 throughout)
DEFAULT_WIDTHS = {28: (256, 128, 64), 32: (256, 256, 128, 64), 64: (256, 256, 128, 64, 32),
                  128: (256, 256, 256, 128, 64, 32), 256: (256, 256, 256, 128, 64, 32, 32)}


def stages(size: int) -> int:
    """Number of resolution stages for an image side: the basis, then one per ×2."""
    if size not in SIZES:
        raise ValueError(f"r3gan supports image sizes {sorted(SIZES)}, got {size}")
    return SIZES[size][1] + 1


def check_widths(widths: tuple[int, ...], size: int) -> None:
    """A width per stage, each a multiple of 8 (so that 2C splits into groups of 16)."""
    if len(widths) != stages(size):
        raise ValueError(f"r3gan at {size} px has {stages(size)} stages (a width each, lowest resolution first), "
                         f"got {len(widths)} widths")
    bad = [w for w in widths if (EXPANSION * w) % GROUP_WIDTH]
    if bad:
        raise ValueError(f"r3gan widths must be multiples of {GROUP_WIDTH // EXPANSION}, got {bad[0]}")


def plan(size: int, widths: tuple[int, ...] | None, blocks: int) -> tuple[tuple[int, ...], int, int]:
    """(widths per stage, the basis side s0, the network's number of residual blocks L) of one player."""
    widths = tuple(widths or DEFAULT_WIDTHS[size])
    check_widths(widths, size)
    return widths, SIZES[size][0], blocks * len(widths)


def one_hot(c: torch.Tensor | None, classes: int, like: torch.Tensor) -> torch.Tensor:
    """e_c in ``like``'s dtype (the input of a conditional player's class embedding)."""
    if c is None:
        raise ValueError("this player is conditional: give the class labels c")
    return F.one_hot(c, classes).to(like.dtype)


def msr_init(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    """W ~ N(0, gain²/fan_in) (He/MSR), biases 0; gain 0 gives a zero layer."""
    fan_in = layer.weight[0].numel()
    nn.init.normal_(layer.weight, 0.0, gain / math.sqrt(fan_in)) if gain else nn.init.zeros_(layer.weight)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def conv(c_in: int, c_out: int, kernel: int = 1, groups: int = 1, gain: float = 1.0) -> nn.Conv2d:
    """A bias-free 'same' convolution, MSR-initialised with ``gain``."""
    return msr_init(nn.Conv2d(c_in, c_out, kernel, padding=(kernel - 1) // 2, groups=groups, bias=False), gain)


class BiasedLeakyReLU(nn.Module):
    """φ(h) = leaky_relu(h + b, 0.2) with a learned bias b per channel (the convolutions have none)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(h + self.bias.view(1, -1, 1, 1).to(h.dtype), SLOPE)


class ResidualBlock(nn.Module):
    """x + W₃ φ(W₂ φ(W₁ x)): an inverted bottleneck (C → 2C → 2C → C) with a grouped 3×3 conv in the middle and
    no normalisation (R1/R2 need each output to depend on its own example only). W₃ starts at zero, so the block
    starts as the identity (Fixup); ``blocks`` (L, the network's total) scales W₁, W₂ by L^{-1/4}."""

    def __init__(self, channels: int, blocks: int):
        super().__init__()
        wide = EXPANSION * channels
        gain = GAIN * blocks ** (-1 / 4)  # L^{-1/(2m-2)}, m = 3 layers on the branch
        self.expand = conv(channels, wide, 1, gain=gain)
        self.act1 = BiasedLeakyReLU(wide)
        self.grouped = conv(wide, wide, 3, groups=wide // GROUP_WIDTH, gain=gain)
        self.act2 = BiasedLeakyReLU(wide)
        self.project = conv(wide, channels, 1, gain=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(self.act2(self.grouped(self.act1(self.expand(x)))))


def _filter(channels: int, scale: float, like: torch.Tensor) -> torch.Tensor:
    f = torch.tensor(FILTER, dtype=like.dtype, device=like.device)
    f2 = torch.outer(f, f) / f.sum() ** 2 * scale
    return f2.expand(channels, 1, 4, 4)


def upsample(x: torch.Tensor) -> torch.Tensor:
    """×2 bilinear: zero insertion, then the [1, 3, 3, 1]² filter (×4 to keep the mean), one channel at a time."""
    c = x.shape[1]
    return F.conv_transpose2d(x, _filter(c, 4.0, x), stride=2, padding=1, groups=c)


def downsample(x: torch.Tensor) -> torch.Tensor:
    """×½ bilinear with antialiasing: the [1, 3, 3, 1]² filter, then every second pixel, one channel at a time."""
    c = x.shape[1]
    if x.shape[-1] % 2:
        raise ValueError(f"cannot halve a side of {x.shape[-1]}")
    return F.conv2d(x, _filter(c, 1.0, x), stride=2, padding=1, groups=c)


class Up(nn.Module):
    """G's transition between stages: a 1×1 conv to the new width (if it changes), then bilinear ×2."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.linear = conv(c_in, c_out) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample(self.linear(x))


class Down(nn.Module):
    """D's transition between stages: bilinear ×½, then a 1×1 conv to the new width (if it changes)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.linear = conv(c_in, c_out) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(downsample(x))


class GenerativeBasis(nn.Module):
    """G's first stage: h_c = B_c · (W z)_c, a learned s₀×s₀ pattern B_c per channel scaled by a linear map of z."""

    def __init__(self, latent_dim: int, channels: int, side: int):
        super().__init__()
        self.basis = nn.Parameter(torch.randn(channels, side, side))
        self.linear = msr_init(nn.Linear(latent_dim, channels, bias=False))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.basis.unsqueeze(0) * self.linear(z)[:, :, None, None]


class DiscriminativeBasis(nn.Module):
    """D's last stage: a depthwise s₀×s₀ conv (one learned pattern per channel, the transpose of G's basis), then
    a linear map to ``out`` numbers."""

    def __init__(self, channels: int, out: int, side: int):
        super().__init__()
        self.basis = msr_init(nn.Conv2d(channels, channels, side, groups=channels, bias=False))
        self.linear = msr_init(nn.Linear(channels, out, bias=False))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(self.basis(h).flatten(1))


class R3GANGenerator(nn.Module):
    """G(z) (or G(z, c)): the basis at s₀×s₀, ``blocks`` residual blocks per stage, ×2 between stages, and a 1×1
    conv to the image's channels."""

    def __init__(self, latent_dim: int, channels: int, size: int, widths: tuple[int, ...] | None = None,
                 blocks: int = 2, classes: int = 0):
        super().__init__()
        widths, s0, total = plan(size, widths, blocks)
        self.classes = classes
        if classes:  # [z; E_G e_c], E_G: K → latent_dim (a linear map of the one-hot code)
            self.embed = msr_init(nn.Linear(classes, latent_dim, bias=False))
        layers: list[nn.Module] = [GenerativeBasis(latent_dim * (2 if classes else 1), widths[0], s0)]
        for i, w in enumerate(widths):
            if i:
                layers.append(Up(widths[i - 1], w))
            layers += [ResidualBlock(w, total) for _ in range(blocks)]
        layers.append(conv(widths[-1], channels))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        z = z.flatten(1)
        if self.classes:
            z = torch.cat([z, self.embed(one_hot(c, self.classes, z))], dim=1)
        return self.net(z)


class R3GANDiscriminator(nn.Module):
    """D(x) (or D(x, c)): a 1×1 conv from the image to widths[-1], then per stage (highest resolution first)
    ``blocks`` residual blocks and ×½, and the basis to one logit (or, conditional, to φ(x) with the logit
    ⟨φ(x), E_D e_c⟩). ``pack`` = p: PacGAN's D, p samples stacked along the channels per logit."""

    def __init__(self, channels: int, size: int, widths: tuple[int, ...] | None = None, blocks: int = 2,
                 classes: int = 0, pack: int = 1):
        super().__init__()
        widths, s0, total = plan(size, widths, blocks)
        self.classes, self.pack = classes, pack
        rev = widths[::-1]
        layers: list[nn.Module] = [conv(channels * pack, rev[0])]
        for i, w in enumerate(rev):
            layers += [ResidualBlock(w, total) for _ in range(blocks)]
            layers.append(Down(w, rev[i + 1]) if i + 1 < len(rev) else
                          DiscriminativeBasis(w, widths[0] if classes else 1, s0))
        self.net = nn.Sequential(*layers)
        if classes:  # E_D: K → widths[0], drawn N(0, 1/(K·widths[0])) as R3GAN's
            self.embed = msr_init(nn.Linear(classes, widths[0], bias=False), gain=1 / math.sqrt(widths[0]))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = pack(x, self.pack)
        h = self.net(x)
        if not self.classes:
            return h.view(x.shape[0])
        return (h * self.embed(one_hot(c, self.classes, h))).sum(1)


def parameter_count(latent_dim: int, channels: int, size: int, widths: tuple[int, ...], blocks: int,
                    classes: int = 0) -> tuple[int, int]:
    """(#G, #D) parameters in closed form, from the description above (the tests hold the modules to it)."""
    s0, _ = SIZES[size]

    def block(w: int) -> int:  # W1 + bias + W2 (grouped) + bias + W3
        wide = EXPANSION * w
        return w * wide + wide + wide * GROUP_WIDTH * 9 + wide + wide * w

    body = sum(blocks * block(w) for w in widths) + sum(a * b for a, b in zip(widths, widths[1:]) if a != b)
    z_in = latent_dim * (2 if classes else 1)
    g = widths[0] * s0 * s0 + z_in * widths[0] + body + widths[-1] * channels + classes * latent_dim
    d = channels * widths[-1] + body + widths[0] * s0 * s0 + widths[0] * (widths[0] if classes else 1) \
        + classes * widths[0]
    return g, d


def players(shape, latent_dim: int, classes: int, pack: int, g_output: str, widths: tuple[int, ...] = (),
            blocks: int = 2) -> tuple[nn.Module, nn.Module]:
    """(G, D) for square images of a side in SIZES, ``widths`` per stage (empty: the side's default)."""
    c, h, w = shape
    if h != w or h not in SIZES:
        raise MinimaxError(f"r3gan needs square images of side {sorted(SIZES)}, got {h}x{w}")
    if widths:
        try:
            check_widths(widths, h)
        except ValueError as e:
            raise MinimaxError(str(e)) from None
    return (R3GANGenerator(latent_dim, c, h, widths, blocks, classes=classes),
            R3GANDiscriminator(c, h, widths, blocks, classes=classes, pack=pack))
