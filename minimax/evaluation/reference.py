"""The reference set — the real images a run's samples are compared with — and its features, cached by content.

Which images:

- MNIST-style sets and CIFAR-10: the test split;
- Stacked MNIST (no test split): REFERENCE_SIZE stacks of training digits drawn from their own seed;
- a folder run: its training folder (``--data-dir``);
- with ``--real-dir DIR`` (any run): every image under DIR, read as a training folder is read
  (:func:`minimax.data.images.image_folder`: centre-cropped to a square, resized to the run's side with PIL's
  antialiased bilinear filter), so reference and samples reach the feature network at one resolution; the
  Inception network then resizes both to 299×299 as pytorch-fid does
  (:func:`minimax.metrics.inception.to_network_input`).

The Inception features φ of the reference set are cached (clean-fid and torch-fidelity cache reference statistics the
same way) under a key that is the SHA-256 of the reference pixels as loaded, their shape, the feature network's
identity and CACHE_VERSION: an edited image, another side, another network or new feature code is a new key,
never a stale score. φ itself is kept, not only its mean and covariance: KID and precision/recall need it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from ..catalogue import STACKED
from ..data import load_dataset
from ..data.images import image_folder
from ..errors import MinimaxError
from ..files import atomic_write_bytes, check_regular, default_cache_dir

REFERENCE_SIZE = 10_000  # real stacks drawn as Stacked MNIST's reference set (it has no test split)
REFERENCE_SEED = 1  # their stream (noise seeds of generated samples are --seed)
CACHE_VERSION = "1"  # bump when the feature code changes what φ of given pixels is
RESIZE = ("centre crop to a square, PIL bilinear (antialiased) to the run's side; the Inception network resizes "
          "to 299 bilinearly (align_corners=False, as pytorch-fid)")


@dataclass
class Reference:
    """Real images in [0, 1] flattened to [N, D], their shape [C, H, W] and their protocol record."""

    pixels: torch.Tensor
    shape: tuple[int, ...]
    record: dict  # gains "sha256": the SHA-256 of the pixels as loaded and their shape, the set's identity

    def __post_init__(self):
        h = hashlib.sha256(json.dumps(list(self.shape)).encode())
        h.update(self.pixels.contiguous().float().numpy().tobytes())
        self.record["sha256"] = h.hexdigest()


def check_shapes(job, data) -> None:
    """The run's images and the evaluation set's must have one shape (never reshape one into the other)."""
    if job.players is not None and tuple(job.players.data.shape) != tuple(data.shape):
        raise MinimaxError(f"the run makes images of shape {tuple(job.players.data.shape)}, the evaluation set in "
                           f"--data-dir has {tuple(data.shape)}")


def reference_set(job) -> Reference:
    """The real images ``job``'s samples are compared with (see the module's docstring)."""
    opts, cfg = job.opts, job.cfg
    side = job.shape[-1]
    if opts.real_dir is not None:
        data = image_folder(opts.real_dir, "cpu", "tanh", side)
        return Reference(data.pixels(), tuple(data.shape), {"folder": str(opts.real_dir), "size": len(data),
                                                            "side": side, "resize": RESIZE})
    if cfg.dataset == "folder":
        data = job.real_data()
        return Reference(data.pixels(), tuple(data.shape), {"folder": str(cfg.data_dir), "split": "training folder",
                                                            "size": len(data), "side": side, "resize": RESIZE})
    if cfg.dataset == STACKED:
        data = job.real_data()
        return Reference(data.pixels(REFERENCE_SIZE, REFERENCE_SEED), tuple(data.shape),
                         {"split": "stacks of train[:50000]", "size": REFERENCE_SIZE, "seed": REFERENCE_SEED})
    test = load_dataset(cfg, "cpu", split="t10k")
    check_shapes(job, test)
    return Reference(test.pixels(), tuple(test.shape), {"split": "test", "size": len(test)})


def network_id(record: dict) -> str:
    """The feature network's identity in its protocol record: the weights file's SHA-256 or the digest."""
    return str(record.get("sha256") or record.get("digest"))


def cache_path(cache_dir: str | Path | None, key: str) -> Path:
    return Path(cache_dir or default_cache_dir()) / "reference-features" / f"{key[:40]}.safetensors"


def _digest(phi: torch.Tensor) -> str:
    return hashlib.sha256(phi.contiguous().numpy().tobytes()).hexdigest()


def read_cached(path: Path, key: str, n: int, dim: int) -> tuple[torch.Tensor | None, str]:
    """(φ, "") from a reference-feature cache entry that verifies, else (None, what is wrong with it)."""
    try:
        check_regular(path)
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            phi = f.get_tensor("features")
    except (SafetensorError, KeyError, OSError, ValueError, MinimaxError) as e:
        return None, f"are unreadable ({type(e).__name__})"
    if meta.get("key") != key:
        return None, "were stored under another key"
    if phi.dtype != torch.float32 or tuple(phi.shape) != (n, dim):
        return None, f"hold {phi.dtype} of shape {tuple(phi.shape)}, not float32 [{n}, {dim}]"
    if not bool(torch.isfinite(phi).all()):
        return None, "hold non-finite numbers"
    if meta.get("sha256") != _digest(phi):
        return None, "do not match the digest stored with them (changed since they were written)"
    return phi, ""


def reference_features(reference: Reference, features, cache_dir=None, say=print) -> torch.Tensor:
    """φ of the reference images. Inception's (minutes on a CPU for 10,000 images) are read from the cache when
    its file is a regular file (not a link) that verifies: the key it was stored under, float32 [N, dim] finite
    numbers, and the SHA-256 of those numbers stored beside them. Anything else is said in one line and the
    features are computed again (and the entry replaced)."""
    if features.kind != "inception":  # the classifier's features take a second: not worth a file
        return features(reference.pixels, reference.shape)
    key = hashlib.sha256(f"{CACHE_VERSION}|{network_id(features.record)}|{reference.record['sha256']}".encode()
                         ).hexdigest()
    path = cache_path(cache_dir, key)
    n = len(reference.pixels)
    if path.is_symlink():
        say(f"reference features: {path} is a symbolic link, not a cache entry; computing them again")
    elif path.exists():
        phi, problem = read_cached(path, key, n, features.dim)
        if phi is not None:
            say(f"reference features: {n} images, read from the cache ({path})")
            return phi
        say(f"reference features in {path} {problem}; computing them again")
    phi = features(reference.pixels, reference.shape).float().contiguous()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, save({"features": phi}, metadata={"key": key, "n": str(n), "sha256": _digest(phi)}),
                           inside=path.parent)
        say(f"reference features: {n} images, computed and cached in {path}")
    except (OSError, MinimaxError) as e:  # a read-only cache costs the next run time, never this result
        say(f"reference features: {n} images, computed (not cached: {getattr(e, 'strerror', None) or e})")
    return phi
