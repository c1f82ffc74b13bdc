"""Image datasets, held whole as one uint8 tensor on the training device.

A minibatch is drawn by index, ``x = images[randint(N, (m,))]``, on the device:
no per-item Python, no worker processes, no host-to-device copy per step.
Each minibatch is m i.i.d. draws from the empirical distribution of the
training images, which is exactly what Algorithm 1 asks for ("sample a
minibatch of m examples from the data generating distribution").

Pixels are scaled to the generator's output range: [-1, 1] for tanh outputs
(MLP, DCGAN), [0, 1] for sigmoid outputs (the 2014 paper's MNIST generator).

MNIST-style sets keep the paper's split: training uses train[:50000];
train[50000:60000] is the validation split (the Parzen σ is chosen on
train[50000:51000]); the 10,000 test images are never trained on.
"""
from __future__ import annotations

import io
import os
import pickle
import struct
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import MinimaxError
from .idx import read_idx

TRAIN_SPLIT = 50_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


class ImageData:
    """N images as uint8 [N, C, H, W] on ``device``; samples are float in the model's range."""

    def __init__(self, name: str, images: torch.Tensor, device: torch.device | str = "cpu",
                 output: str = "tanh", labels: torch.Tensor | None = None,
                 class_names: tuple[str, ...] | None = None):
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError("images must be a uint8 tensor of shape [N, C, H, W]")
        if len(images) == 0:
            raise MinimaxError(f"dataset {name} has no images")
        if labels is not None and (labels.shape != (len(images),) or labels.dtype != torch.int64):
            raise ValueError("labels must be an int64 tensor with one label per image")
        self.name = name
        self.device = torch.device(device)
        self.images = images.to(self.device)
        self.labels = labels  # class labels where the files have them (kept on the CPU; the metrics use them)
        self.class_names = class_names if labels is None or class_names else \
            tuple(str(c) for c in range(int(labels.max()) + 1))
        self._device_labels = None  # the labels on the training device, made by the conditional game's first draw
        self.g_output = output
        self.left_out: tuple[str, ...] = ()  # files of a folder that are not images (their names), for describe()
        self.of: int | None = None  # the images of the split when this is its first N (first())

    def describe(self) -> str:
        """What was loaded, in words: '600 images, 32×32 RGB, 3 classes (discs, squares, triangles); left out, not
        images: README.txt, .DS_Store'."""
        c, h, w = self.shape
        text = f"{len(self):,} images" + (f" (the first of {self.of:,})" if self.of else "")
        text += f", {h}×{w} {'grey' if c == 1 else 'RGB' if c == 3 else f'{c} channels'}"
        if self.labels is not None:
            names = ", ".join(self.class_names[:10]) + (", ..." if len(self.class_names) > 10 else "")
            text += f", {len(self.class_names)} classes ({names})"
        if self.left_out:
            shown = ", ".join(self.left_out[:5]) + (f" and {len(self.left_out) - 5} more" if len(self.left_out) > 5
                                                    else "")
            text += f"; left out, not images: {shown}"
        return text

    @property
    def n_classes(self) -> int:
        """Number of classes (0 when the files have no labels)."""
        return 0 if self.labels is None else len(self.class_names)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.images)

    def first(self, n: int) -> "ImageData":
        """The first n images (and labels): a fixed subset, for training on limited data."""
        if n > len(self.images):
            raise MinimaxError(f"train_images {n} is more than the {len(self.images)} training images of {self.name}")
        labels = None if self.labels is None else self.labels[:n]
        first = ImageData(self.name, self.images[:n], self.device, self.g_output, labels, self.class_names)
        first.of = len(self.images)
        return first

    def pixels(self) -> torch.Tensor:
        """All images as floats in [0, 1], flattened to [N, C·H·W] (the metrics' data space)."""
        return self.images.float().div(255.0).reshape(len(self.images), -1)

    def to_model_space(self, u8: torch.Tensor) -> torch.Tensor:
        x = u8.float().div_(255.0)
        return x.mul_(2).sub_(1) if self.g_output == "tanh" else x

    def sample(self, m: int, generator: torch.Generator, device=None) -> torch.Tensor:
        idx = torch.randint(len(self.images), (m,), generator=generator, device=self.device)
        return self.to_model_space(self.images[idx])

    def _labels_on_device(self) -> torch.Tensor:
        if self.labels is None:
            raise MinimaxError(f"dataset {self.name} has no class labels")
        if self._device_labels is None:
            self._device_labels = self.labels.to(self.device)
        return self._device_labels

    def sample_labelled(self, m: int, generator: torch.Generator, device=None):
        """(x, c): m images drawn like :meth:`sample` and their class labels."""
        idx = torch.randint(len(self.images), (m,), generator=generator, device=self.device)
        return self.to_model_space(self.images[idx]), self._labels_on_device()[idx]

    def sample_labels(self, m: int, generator: torch.Generator) -> torch.Tensor:
        """m labels c ~ p_data(c), the training set's class frequencies (the label of a random training
        image), drawn on the generator's device."""
        labels = self._labels_on_device().to(generator.device)
        return labels[torch.randint(len(labels), (m,), generator=generator, device=generator.device)]

    def to_data_space(self, x: torch.Tensor) -> torch.Tensor:
        """Model outputs -> pixels in [0, 1] (:func:`model_to_pixels`)."""
        return model_to_pixels(x, self.g_output)


def model_to_pixels(x: torch.Tensor, g_output: str) -> torch.Tensor:
    """G's outputs -> pixels in [0, 1]: (x + 1)/2 for a tanh generator's [-1, 1], x for a sigmoid's [0, 1];
    clipped to [0, 1] (a generator without a squashing output, R3GAN's, may leave the range)."""
    if g_output == "tanh":
        x = (x + 1) / 2
    return x.clamp(0, 1)


# ----------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST (IDX)
def _find(data_dir: Path, name: str) -> Path:
    """``name`` or ``name.gz`` directly in data_dir or in torchvision's <Set>/raw/ layout."""
    candidates = []
    for folder in (data_dir, *sorted(data_dir.glob("*/raw"))):
        for fname in (name + ".gz", name):
            candidates.append(folder / fname)
    for c in candidates:
        if c.is_file():
            return c
    raise MinimaxError(f"missing file {name}[.gz] in {data_dir} (get it with: minimax download DATASET "
                       f"--data-dir {data_dir})")


MNIST_CLASSES = 10  # MNIST and Fashion-MNIST


def load_idx_split(data_dir: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images [N, 28, 28] uint8, labels [N]) of the 'train' (60k) or 't10k' (10k) files."""
    d = Path(data_dir)
    if not d.is_dir():
        raise MinimaxError(f"data directory {d} does not exist")
    images = read_idx(_find(d, f"{split}-images-idx3-ubyte"))
    labels = read_idx(_find(d, f"{split}-labels-idx1-ubyte"))
    if images.ndim != 3 or images.dtype != np.uint8:
        raise MinimaxError(f"{split} images in {d}: expected a uint8 array [N, rows, cols], got {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise MinimaxError(f"{split} labels in {d}: {len(labels)} labels for {len(images)} images")
    if len(labels) and not (labels.min() >= 0 and labels.max() < MNIST_CLASSES):
        raise MinimaxError(f"{split} labels in {d}: class indices must be in 0..{MNIST_CLASSES - 1}, "
                           f"found {int(labels.min())}..{int(labels.max())}")
    return images, labels


def mnist_like(name: str, data_dir, device, output: str, split: str = "train") -> ImageData:
    """Training split train[:50000] (split='train'), validation train[50000:] ('valid'), or 't10k'."""
    if data_dir is None:
        raise MinimaxError(f"dataset {name} needs --data-dir (the folder with its IDX files)")
    if split == "t10k":
        images, labels = load_idx_split(data_dir, "t10k")
    else:
        images, labels = load_idx_split(data_dir, "train")
        part = slice(None, TRAIN_SPLIT) if split == "train" else slice(TRAIN_SPLIT, None)
        images, labels = images[part], labels[part]
    return ImageData(name, torch.from_numpy(images.copy()).unsqueeze(1), device, output,
                     labels=torch.from_numpy(labels.astype(np.int64)))


# ----------------------------------------------------------------------------------------------
# CIFAR-10 (python batches), unpickled without running arbitrary code
class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Resolves only the globals a pickled numpy array needs; anything else is refused."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def restricted_load(raw: bytes):
    return _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()


def load_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images [N, 3, 32, 32] uint8, labels [N] int64) of one CIFAR-10 python batch."""
    try:
        batch = restricted_load(path.read_bytes())
    except FileNotFoundError:
        raise MinimaxError(f"missing file {path}") from None
    except Exception as e:  # any malformed or hostile pickle
        raise MinimaxError(f"{path} is not a CIFAR-10 batch ({type(e).__name__}: {e})"[:300]) from None
    data = batch.get(b"data", batch.get("data")) if isinstance(batch, dict) else None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise MinimaxError(f"{path} is not a CIFAR-10 batch (no uint8 'data' array of shape [N, 3072])")
    labels = batch.get(b"labels", batch.get("labels"))
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        labels = None
    if labels is None or labels.shape != (len(data),) or len(labels) and not (0 <= labels.min() <= labels.max() < 10):
        raise MinimaxError(f"{path} is not a CIFAR-10 batch (no 'labels' list of {len(data)} classes in 0..9)")
    return data.reshape(-1, 3, 32, 32), labels


def cifar10(data_dir, device, output: str, split: str = "train") -> ImageData:
    if data_dir is None:
        raise MinimaxError("dataset cifar10 needs --data-dir (the folder with data_batch_1..5)")
    d = Path(data_dir)
    if (d / "cifar-10-batches-py").is_dir():
        d = d / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    batches = [load_cifar_batch(d / n) for n in names]
    images, labels = (np.concatenate(part) for part in zip(*batches))
    return ImageData("cifar10", torch.from_numpy(images), device, output, labels=torch.from_numpy(labels),
                     class_names=CIFAR10_CLASSES)


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


# ----------------------------------------------------------------------------------------------
# a folder of images
MAX_PIXELS = Image.MAX_IMAGE_PIXELS  # PIL's decompression-bomb limit (89,478,485): refused before decoding


def eight_bit(im: Image.Image) -> Image.Image:
    """A 16-bit greyscale image (PIL mode I;16*, or I holding values above 255) as 8-bit L, scaled by 255/65535
    and rounded, in integer arithmetic on one int32 copy; PIL's own conversion clips every value above 255."""
    if not (im.mode.startswith("I;16") or im.mode == "I"):
        return im
    a = np.asarray(im)
    top = 65535 if im.mode.startswith("I;16") or a.max() > 255 else 255
    a = np.clip(a, 0, top).astype(np.int32)
    return Image.fromarray(((a * 255 + top // 2) // top).astype(np.uint8), "L")


# what PIL raises for a file it cannot read: corrupt chunks, bombs, truncation
PIL_ERRORS = (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError, struct.error,
              EOFError)


def _unreadable(p: Path, e: Exception) -> MinimaxError:
    return MinimaxError(f"cannot read image {p}: {type(e).__name__}: {e}"[:300])


def image_files(d: Path) -> list[Path]:
    """The image files under ``d``, sorted; regular files only (a FIFO or device named *.png would block or never
    end); a sub-folder that cannot be read is a one-line error, not a class silently left out."""
    return _regular(_walk(d), image=True)


def _regular(paths: list[Path], image: bool) -> list[Path]:
    """The regular files among ``paths`` that are images (by suffix), or that are not, sorted."""
    return sorted(p for p in paths if (p.suffix.lower() in IMAGE_SUFFIXES) == image and p.is_file())


def _walk(d: Path) -> list[Path]:
    """Every name under ``d`` that is not a folder (links to folders followed, a link back into ``d`` refused)."""
    found = []

    def refuse(e: OSError):
        raise MinimaxError(f"cannot read folder {e.filename}: {e.strerror or e}")

    top = os.path.realpath(d)
    for root, dirs, names in os.walk(d, onerror=refuse, followlinks=True):
        for sub in dirs:  # a link back to the folder or above it would read it again, without end
            real = os.path.realpath(os.path.join(root, sub))
            if real == top or top.startswith(real.rstrip(os.sep) + os.sep):
                raise MinimaxError(f"folder {Path(root) / sub} is a link to {real}, which holds {d} itself: the images "
                                   "would be read again and again; remove the link")
        found += [Path(root) / n for n in names]
    return found


def _header(p: Path) -> tuple[str, tuple[int, int]]:
    """(mode, size) of an image file from its header, without decoding its pixels; one-line errors for a file PIL
    cannot read and for one larger than MAX_PIXELS (decoding it could take gigabytes)."""
    try:
        with warnings.catch_warnings():  # (PIL's two-line DecompressionBombWarning: refused below in one line)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                mode, size = im.mode, im.size
    except PIL_ERRORS as e:
        raise _unreadable(p, e) from None
    if size[0] * size[1] > MAX_PIXELS:
        raise MinimaxError(f"image {p} is {size[0]}x{size[1]} pixels, more than the {MAX_PIXELS:,} minimax decodes "
                           "(a decompression bomb, or a picture to shrink first)")
    return mode, size


def _decode(p: Path, grey: bool, size: int) -> np.ndarray:
    """One image decoded, centre-cropped to a square and resized to ``size``: uint8 [C, size, size]."""
    try:
        with Image.open(p) as im:
            im.load()
            im = eight_bit(im).convert("L" if grey else "RGB")
    except PIL_ERRORS as e:
        raise _unreadable(p, e) from None
    w, h = im.size
    s = min(w, h)
    im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    a = np.asarray(im.resize((size, size), Image.BILINEAR), dtype=np.uint8)
    return a[None] if grey else a.transpose(2, 0, 1)


def shared_side(data_dir, flag: str) -> int:
    """The side of the square every image under ``data_dir`` is centre-cropped to (the smaller of its width and
    height), read from the files' headers; a one-line error when they differ (then the side must be given)."""
    d = Path(data_dir)
    if not d.is_dir():
        raise MinimaxError(f"{flag} {d} is not a folder of images")
    sides = set()
    for p in image_files(d):
        sides.add(min(_header(p)[1]))
        if len(sides) > 1:
            raise MinimaxError(f"the images in {flag} {d} have different sides ({', '.join(map(str, sorted(sides)))} "
                               "px, and maybe more): give --image-size")
    if not sides:
        raise MinimaxError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {d}")
    side = sides.pop()
    if not 4 <= side <= 1024:
        raise MinimaxError(f"the images in {flag} {d} are {side} px; give --image-size (4 to 1024)")
    return side


def image_folder(data_dir, device, output: str, image_size: int, split: str = "train") -> ImageData:
    """Every PNG/JPEG/... under ``data_dir`` (recursively), centre-cropped to a square and resized to
    ``image_size``×``image_size``; greyscale if every image is greyscale, else RGB (the same in every split). An image's
    class is the sub-folder of ``data_dir`` it lies in (sorted names, label 0, 1, ...); when some image lies directly in
    ``data_dir`` the set has no labels. The headers are read first (every file checked, its size bounded), then each
    image is decoded and resized in turn: memory holds one full-size image at a time."""
    if data_dir is None:
        raise MinimaxError("dataset folder needs --data-dir (a folder of images)")
    d = Path(data_dir)
    if not d.is_dir():
        raise MinimaxError(f"data directory {d} does not exist")
    everything = _walk(d)  # (one walk: the images, and the files left out that the run's first line names)
    files = _regular(everything, image=True)
    if not files:
        raise MinimaxError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {d}")
    modes = [_header(p)[0] for p in files]  # (every file checked before any is decoded)
    grey = all(m in ("L", "1", "I;16", "I") for m in modes)
    arrays = [_decode(p, grey, image_size) for p in files]
    tops = [p.relative_to(d).parts for p in files]
    labels = names = None
    if all(len(parts) > 1 for parts in tops):
        names = tuple(sorted({parts[0] for parts in tops}))
        index = {n: i for i, n in enumerate(names)}
        labels = torch.tensor([index[parts[0]] for parts in tops], dtype=torch.int64)
    data = ImageData(d.name or "folder", torch.from_numpy(np.stack(arrays)), device, output, labels=labels,
                     class_names=names)
    data.left_out = tuple(str(p.relative_to(d)) for p in _regular(everything, image=False))
    return data


COMPONENTS = [
    {"kind": "dataset", "name": "mnist", "object": "mnist_like", "arguments": {"name": "mnist"}, "test_split": True,
     "download": True, "order": 4, "help": "MNIST digits, 28 x 28 (IDX files in --data-dir)"},
    {"kind": "dataset", "name": "fashion-mnist", "object": "mnist_like", "arguments": {"name": "fashion-mnist"},
     "test_split": True, "download": True, "order": 5, "help": "Fashion-MNIST, 28 x 28 (IDX files in --data-dir)"},
    {"kind": "dataset", "name": "cifar10", "object": "cifar10", "test_split": True, "download": True, "order": 7,
     "help": "CIFAR-10, 3 x 32 x 32 (its python batches in --data-dir)"},
    {"kind": "dataset", "name": "folder", "object": "image_folder", "reads": ["image_size"], "order": 8,
     "help": "your own images: every PNG/JPEG under --data-dir, a sub-folder per class"},
]
