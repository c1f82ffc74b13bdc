"""Training data: each data set declares itself in its module (``COMPONENTS``, :mod:`minimax.registry`: its loader,
whether it holds images, has a test split, can be downloaded, and its preset); every source offers
``sample(m, generator, device)`` in model space,
``shape`` and ``to_data_space`` (:class:`DataSource`); the built-in toy sets also know their exact density
(:class:`KnownDensity`), which the mode metrics, the replay's field and D* use."""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from .. import registry
from ..errors import MinimaxError
from .stacked import StackedMNIST
from .toy import TOY_DATASETS, GaussianMixture


@runtime_checkable
class DataSource(Protocol):
    """What Algorithm 1 draws from: x ~ p_data in the model's space, and, for the conditional game, (x, c) pairs
    and labels c ~ p_data(c)."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def n_classes(self) -> int: ...

    def sample(self, m: int, generator: torch.Generator, device=None) -> torch.Tensor: ...

    def sample_labelled(self, m: int, generator: torch.Generator, device=None): ...

    def sample_labels(self, m: int, generator: torch.Generator) -> torch.Tensor: ...

    def to_data_space(self, x: torch.Tensor) -> torch.Tensor: ...

    def describe(self) -> str: ...  # what was loaded, in words (printed when training starts)


@runtime_checkable
class KnownDensity(DataSource, Protocol):
    """A source whose density p_data is known in closed form (the built-in 1-D and 2-D mixtures)."""

    centres: torch.Tensor
    std: float

    @property
    def dim(self) -> int: ...

    def log_prob(self, x: torch.Tensor) -> torch.Tensor: ...

    def log_prob_given(self, x: torch.Tensor, c: int) -> torch.Tensor: ...


def load_dataset(cfg, device="cpu", output: str = "tanh", split: str = "train"):
    """The dataset named by ``cfg.dataset`` on ``device``; images scaled to the generator's
    ``output`` range ('tanh': [-1, 1], 'sigmoid': [0, 1]). The training split is cut to its first
    ``cfg.train_images`` images when that is set (Stacked MNIST: the digits it stacks)."""
    data = _load(cfg, device, output, split)
    n = getattr(cfg, "train_images", 0)
    if n and split == "train":
        if isinstance(data, StackedMNIST):
            return StackedMNIST(data.digits.first(n))
        return data.first(n)
    return data


def _load(cfg, device, output: str, split: str):
    declared = registry.datasets().get(cfg.dataset)
    if declared is None:
        raise MinimaxError(f"unknown dataset {cfg.dataset!r}")
    loader = registry.component(declared.module, declared.object)
    return loader(data_dir=cfg.data_dir, device=device, output=output, split=split, **declared.arguments,
                  **{name: getattr(cfg, name) for name in declared.reads})


__all__ = ["DataSource", "KnownDensity", "load_dataset", "GaussianMixture", "TOY_DATASETS"]
