"""Training data: every source offers ``sample(m, generator, device)`` in model space,
``shape`` and ``to_data_space``; the built-in toy sets also know their exact density."""
from __future__ import annotations

from ..errors import MinimaxError
from .toy import TOY_DATASETS, GaussianMixture

IMAGE_DATASETS = ("mnist", "fashion-mnist", "stacked-mnist", "cifar10", "folder")
DATASETS = (*TOY_DATASETS, *IMAGE_DATASETS)


def load_dataset(cfg, device="cpu", output: str = "tanh", split: str = "train"):
    """The dataset named by ``cfg.dataset`` on ``device``; images scaled to the generator's
    ``output`` range ('tanh': [-1, 1], 'sigmoid': [0, 1])."""
    name = cfg.dataset
    if name in TOY_DATASETS:
        return TOY_DATASETS[name]()
    if name in ("mnist", "fashion-mnist"):
        from .images import mnist_like

        return mnist_like(name, cfg.data_dir, device, output, split)
    if name == "stacked-mnist":
        from .images import mnist_like
        from .stacked import StackedMNIST

        if split != "train":
            raise MinimaxError("stacked-mnist is drawn from MNIST's training split only (its metric is mode "
                               "coverage, not a held-out likelihood)")
        return StackedMNIST(mnist_like("mnist", cfg.data_dir, device, output, "train"))
    if name == "cifar10":
        from .images import cifar10

        return cifar10(cfg.data_dir, device, output, "train" if split == "train" else "test")
    if name == "folder":
        from .images import image_folder

        return image_folder(cfg.data_dir, device, output, cfg.image_size)
    raise MinimaxError(f"unknown dataset {name!r}")


__all__ = ["DATASETS", "load_dataset", "GaussianMixture", "TOY_DATASETS", "IMAGE_DATASETS"]
