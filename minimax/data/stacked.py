r"""Stacked MNIST (Metz et al. 2017 §3.3; VEEGAN §5.2; PacGAN §5.2): 1,000 modes made of MNIST digits.

A sample is three MNIST digits drawn independently and uniformly from the training split train[:50000]
(never the validation or test images), stacked as the red, green and blue channels of one 28×28×3 image:

    x = (x_1, x_2, x_3),  x_i = image j_i,  j_i ~ U{0, ..., 49,999} independently,

so its mode (class) is the digit triple (d_1, d_2, d_3), c = 100 d_1 + 10 d_2 + d_3 ∈ {0, ..., 999}, and
p(c) ≈ 1/1000 (exactly Π_i n_{d_i}/50000 with n_d the count of digit d). Samples are drawn on the fly, one
index triple per sample, from the 50,000 images held once: no fixed 128k-image copy.
"""
from __future__ import annotations

import torch

from ..errors import MinimaxError
from .images import mnist_like

CHANNELS = 3
DIGITS = 10
MODES = DIGITS ** CHANNELS


def mode_index(digits: torch.Tensor) -> torch.Tensor:
    """[N, 3] digit triples -> mode c = 100 d_1 + 10 d_2 + d_3."""
    return (digits.long() * torch.tensor([DIGITS ** 2, DIGITS, 1], device=digits.device)).sum(1)


class StackedMNIST:
    """Three-channel stacks of MNIST training digits; samples in the generator's range (tanh: [-1, 1])."""

    def __init__(self, digits):
        if digits.labels is None or digits.shape != (1, 28, 28):
            raise MinimaxError("stacked-mnist needs labelled 28x28 single-channel digits")
        self.name = "stacked-mnist"
        self.digits = digits  # ImageData of train[:50000] on the training device: its scaling and labels serve
        self.device = digits.device
        self.images = digits.images[:, 0]
        self.labels = digits.labels
        self.g_output = digits.g_output
        self.to_model_space, self.to_data_space = digits.to_model_space, digits.to_data_space
        self.class_names = tuple(f"{c:03d}" for c in range(MODES))

    @property
    def n_classes(self) -> int:
        return MODES

    def describe(self) -> str:
        """What is drawn, in words: three digits per image from the training digits, 1,000 modes."""
        return f"stacks of 3 digits drawn from {len(self.images):,} training digits, 3×28×28, {MODES:,} modes"

    @property
    def shape(self) -> tuple[int, ...]:
        return (CHANNELS, 28, 28)

    def __len__(self) -> int:
        return len(self.images)

    def _indices(self, m: int, generator: torch.Generator) -> torch.Tensor:
        """[m, 3] training-image indices, one per channel, uniform and independent."""
        return torch.randint(len(self.images), (m, CHANNELS), generator=generator, device=self.device)

    def _draw(self, m: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self._indices(m, generator)
        return idx, self.to_model_space(self.images[idx])

    def sample(self, m: int, generator: torch.Generator, device=None) -> torch.Tensor:
        return self._draw(m, generator)[1]

    def sample_labelled(self, m: int, generator: torch.Generator, device=None):
        """(x, c): m stacks and their modes c = 100 d_1 + 10 d_2 + d_3."""
        idx, x = self._draw(m, generator)
        return x, mode_index(self.digits._labels_on_device()[idx])

    def sample_labels(self, m: int, generator: torch.Generator) -> torch.Tensor:
        """m modes c ~ p_data(c): the digit triple of three random training images."""
        labels = self.digits._labels_on_device().to(generator.device)
        idx = torch.randint(len(labels), (m, CHANNELS), generator=generator, device=generator.device)
        return mode_index(labels[idx])

    def pixels(self, n: int = 10_000, seed: int = 0) -> torch.Tensor:
        """n stacks drawn from a stream of their own seed, as floats in [0, 1] flattened to [n, 3·28·28] (the
        metrics' data space)."""
        gen = torch.Generator(device=self.device).manual_seed(seed)
        return self.images[self._indices(n, gen)].float().div(255.0).reshape(n, -1)


def load(data_dir, device, output: str, split: str = "train") -> StackedMNIST:
    """Stacked MNIST over MNIST's training split train[:50000] in ``data_dir``."""
    if split != "train":
        raise MinimaxError("stacked-mnist is drawn from MNIST's training split only (its metric is mode "
                           "coverage, not a held-out likelihood)")
    return StackedMNIST(mnist_like("mnist", data_dir, device, output, "train"))


COMPONENTS = [
    {"kind": "dataset", "name": "stacked-mnist", "object": "load", "order": 6,
     "help": "three MNIST digits as an RGB image, 1,000 modes (MNIST's IDX files in --data-dir)",
     # the benchmark's players and recipe (PacGAN's VEEGAN_experiment: z ~ U[-1, 1]^100, Adam 2e-4, β1 0.5,
     # 64 D inputs per step: batch_size = 64·pack); bf16 autocast is 1.5x faster here (AMX)
     "preset": {"model": "veegan", "latent_dim": 100, "prior": "uniform", "batch_size": 64, "lr": 2e-4,
                "amp": "bf16"}},
]
