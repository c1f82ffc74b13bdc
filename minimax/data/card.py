"""What a trained generator needs of its training images, kept in its run so the run is usable without them.

Sampling, interpolating, exporting and reporting a run of an image dataset use four facts about the data: the
image shape, the map from G's output to pixels (``to_data_space``), the class names, and p_data(c) (a
conditional run draws c ~ p_data(c), the label of a random training image). :class:`DataCard` holds them (the
labels themselves, so that classes are drawn exactly as from the data), with a SHA-256 digest of the pixels and
labels trained on (a resumed run warns when its data changed) and a few real images for the report:

    card = DataCard.of(data)                    # at the start of training
    card = DataCard.from_bytes(read("RUN/data.safetensors"))
    x = card.to_data_space(G(z))                # the run's pixels, with no image file read

The card draws no images: :meth:`sample` refuses with a one-line error (training needs the data).
"""
from __future__ import annotations

import hashlib
import json

import torch
from safetensors.torch import load, save

from ..errors import MinimaxError
from ..files import is_path_component
from .images import ImageData, model_to_pixels
from .stacked import CHANNELS, StackedMNIST, mode_index

REAL_IMAGES = 32  # real training images kept for the report (drawn with their own seed)


def data_digest(data) -> str:
    """SHA-256 of the training pixels (uint8, in order) and labels: equal digests, equal training sets."""
    digits = data.digits if isinstance(data, StackedMNIST) else data
    h = hashlib.sha256(json.dumps([type(data).__name__, list(digits.images.shape)]).encode())
    h.update(digits.images.cpu().contiguous().numpy().tobytes())
    if digits.labels is not None:
        h.update(digits.labels.cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class DataCard:
    """The facts of an image dataset that a trained G needs (see the module docstring), on the CPU."""

    def __init__(self, name: str, shape: tuple[int, ...], g_output: str, class_names: tuple[str, ...],
                 labels: torch.Tensor | None, stacked: bool, images: int, digest: str, real: torch.Tensor):
        self.name, self._shape, self.g_output = name, tuple(shape), g_output
        self.class_names, self.labels, self.stacked = tuple(class_names), labels, stacked
        self.images, self.digest, self.real = images, digest, real

    @classmethod
    def of(cls, data) -> "DataCard":
        """The card of loaded training data (an :class:`ImageData` or :class:`StackedMNIST`)."""
        if not isinstance(data, (ImageData, StackedMNIST)):
            raise TypeError(f"a data card is made of image data, not {type(data).__name__}")
        digits = data.digits if isinstance(data, StackedMNIST) else data
        gen = torch.Generator(device=data.device).manual_seed(0)
        x = data.sample(min(REAL_IMAGES, len(data)), gen)
        real = (data.to_data_space(x) * 255).round().to(torch.uint8).cpu()
        labels = None if digits.labels is None else digits.labels.cpu()
        names = data.class_names if labels is not None else ()
        return cls(data.name, data.shape, data.g_output, names, labels, isinstance(data, StackedMNIST), len(data),
                   data_digest(data), real)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def to_data_space(self, x: torch.Tensor) -> torch.Tensor:
        """G's outputs -> pixels in [0, 1], as the data did (:func:`~minimax.data.images.model_to_pixels`)."""
        return model_to_pixels(x, self.g_output)

    def sample_labels(self, m: int, generator: torch.Generator) -> torch.Tensor:
        """m labels c ~ p_data(c), drawn exactly as the data draws them (the same random numbers, the same
        labels): one training image's label, or for Stacked MNIST the mode of three."""
        if self.labels is None:
            raise MinimaxError(f"dataset {self.name} has no class labels")
        labels = self.labels.to(generator.device)
        size = (m, CHANNELS) if self.stacked else (m,)
        drawn = labels[torch.randint(len(labels), size, generator=generator, device=generator.device)]
        return mode_index(drawn) if self.stacked else drawn

    def sample(self, m: int, generator: torch.Generator, device=None) -> torch.Tensor:
        raise MinimaxError(f"the training images of {self.name} are not loaded (this run was read from its data "
                           "card): training needs the data")

    sample_labelled = sample

    # -- the file: RUN/data.safetensors --------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        tensors = {"real": self.real.contiguous()}
        if self.labels is not None:  # (stored in the smallest integer type that holds them: 50 KB for MNIST's)
            small = torch.uint8 if int(self.labels.max()) < 256 else torch.int32
            tensors["labels"] = self.labels.to(small).contiguous()
        meta = {"name": self.name, "shape": json.dumps(list(self.shape)), "g_output": self.g_output,
                "class_names": json.dumps(list(self.class_names)), "stacked": json.dumps(self.stacked),
                "images": str(self.images), "digest": self.digest}
        return save(tensors, metadata=meta)

    @classmethod
    def from_bytes(cls, raw: bytes, shown: str = "data card") -> "DataCard":
        """The card written by :meth:`to_bytes`; anything else is a one-line error naming ``shown``."""
        try:
            tensors = load(raw)
            meta = _metadata(raw)
            shape = tuple(int(s) for s in json.loads(meta["shape"]))
            names = tuple(str(n) for n in json.loads(meta["class_names"]))
            stacked, images, g_output = json.loads(meta["stacked"]), int(meta["images"]), meta["g_output"]
            labels, real = tensors.get("labels"), tensors["real"]
            if labels is not None and labels.dtype in (torch.uint8, torch.int32):
                labels = labels.long()
        except Exception as e:  # (safetensors' errors, a missing key, a malformed value)
            raise MinimaxError(f"{shown} is not a minimax data card ({type(e).__name__})") from None
        ok = (len(shape) == 3 and all(s > 0 for s in shape) and g_output in ("tanh", "sigmoid")
              and all(map(is_path_component, names))
              and isinstance(stacked, bool) and real.dtype == torch.uint8 and tuple(real.shape[1:]) == shape
              and (labels is None or (labels.dtype == torch.int64 and labels.ndim == 1 and len(labels) > 0
                                      and 0 <= int(labels.min()) and int(labels.max()) < (10 if stacked else len(names))
                                      and len(names) >= 1)))
        if not ok:
            raise MinimaxError(f"{shown} holds values a data card cannot have")
        return cls(meta["name"], shape, g_output, names, labels, stacked, images, meta["digest"], real)


def _metadata(raw: bytes) -> dict[str, str]:
    """The string metadata of a safetensors file's header."""
    size = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + size])["__metadata__"]
