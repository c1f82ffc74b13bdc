"""The feature network behind minimax's Fréchet distance: a small CNN classifier of the dataset.

    x ∈ [0, 1]^{C×H×W} → conv 3×3 (32) → ReLU → max-pool 2 → conv 3×3 (64) → ReLU → max-pool 2
      → linear (128) → ReLU  =: features φ(x)  → linear (classes) = logits

It is trained once per dataset (train[:50000], Adam, cross-entropy), from a fixed seed, and cached
as a safetensors file keyed by a digest of the training images, so every run of a machine is scored
by the same φ. Its test accuracy is reported with every score: a φ that cannot tell the classes
apart would make the distance meaningless.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from safetensors.torch import load_file, save
from torch import nn
from torch.nn import functional as F

from ..errors import MinimaxError
from ..files import atomic_write_bytes, default_cache_dir

FEATURE_DIM = 128
VERSION = "1"


class FeatureNet(nn.Module):
    def __init__(self, channels: int, size: int, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(64 * (size // 4) ** 2, FEATURE_DIM)
        self.head = nn.Linear(FEATURE_DIM, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """φ(x) for pixels in [0, 1], shape [N, C, H, W] -> [N, 128]."""
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


EPOCHS = 2  # the FID network's training; the Stacked MNIST digit reader trains longer (metrics.modes)


def train_feature_net(images: torch.Tensor, labels: torch.Tensor, epochs: int = EPOCHS, batch: int = 128,
                      seed: int = 0) -> FeatureNet:
    """Fit φ's classifier on uint8 images [N, C, H, W] with integer labels; deterministic given ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = FeatureNet(images.shape[1], images.shape[2], int(labels.max()) + 1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=gen)
        for i in range(0, len(images), batch):
            idx = order[i:i + batch]
            loss = F.cross_entropy(net(images[idx].float() / 255), labels[idx].long())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return net.eval()


@torch.no_grad()
def features(net: FeatureNet, pixels: torch.Tensor, shape: tuple[int, ...], batch: int = 1000) -> torch.Tensor:
    """φ of flattened pixels in [0, 1] ([N, C·H·W]), in batches."""
    x = pixels.reshape(-1, *shape).float()
    return torch.cat([net.features(x[i:i + batch]) for i in range(0, len(x), batch)])


@torch.no_grad()
def predict(net: FeatureNet, pixels: torch.Tensor, shape: tuple[int, ...], batch: int = 1000) -> torch.Tensor:
    """The classifier's label of each image, for pixels in [0, 1] ([N, C·H·W] or [N, C, H, W]), in batches."""
    x = pixels.reshape(-1, *shape)
    return torch.cat([net(x[i:i + batch].float()).argmax(1) for i in range(0, len(x), batch)])


def accuracy(net: FeatureNet, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    """The fraction of uint8 images [N, C, H, W] labelled correctly."""
    hits = int((predict(net, images.float() / 255, tuple(images.shape[1:]), batch) == labels.long()).sum())
    return hits / len(images)


def data_digest(images: torch.Tensor, labels: torch.Tensor, epochs: int = EPOCHS) -> str:
    h = hashlib.sha256(VERSION.encode() if epochs == EPOCHS else f"{VERSION}-e{epochs}".encode())
    h.update(images.contiguous().numpy().tobytes())
    h.update(labels.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def network_digest(net: torch.nn.Module) -> str:
    """The first 16 hex digits of the SHA-256 of a network's parameters and buffers (names and values), the
    feature network's identity in an evaluation record."""
    h = hashlib.sha256()
    for name, t in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def load_or_train(name: str, images: torch.Tensor, labels: torch.Tensor, cache_dir: str | Path | None = None,
                  log=print, epochs: int = EPOCHS) -> FeatureNet:
    """φ for this training set (trained for ``epochs``): read from the cache when a valid file is there, else
    trained and cached."""
    path = Path(cache_dir or default_cache_dir()) / f"features-{name}-{data_digest(images, labels, epochs)}.safetensors"
    net = FeatureNet(images.shape[1], images.shape[2], int(labels.max()) + 1)
    if path.is_file() and not path.is_symlink():  # (a link or FIFO is not a cache entry: trained again, then refused)
        try:
            net.load_state_dict(load_file(path))
            return net.eval()
        except Exception as e:  # safetensors raises its own error types for malformed files
            log(f"feature network {path} is unreadable ({type(e).__name__}); training it again")
    log(f"training the feature network for {name} first: {epochs} epochs over {len(images):,} images, a few minutes "
        f"on a CPU, once (cached in {path.parent})")
    net = train_feature_net(images, labels, epochs)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, save({k: v.contiguous() for k, v in net.state_dict().items()}), inside=path.parent)
    except OSError as e:
        raise MinimaxError(f"cannot write the feature network to {path}: {e.strerror or e}") from None
    return net
