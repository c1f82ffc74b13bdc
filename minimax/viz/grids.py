"""Image grids: samples [n, C, H, W] in [0, 1] tiled into one picture (PNG bytes, an array, or a file)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from ..files import atomic_write_bytes


def image_grid_png(images: np.ndarray, pad: int = 2, cols: int | None = None) -> bytes:
    """Tile images [n, C, H, W] with values in [0, 1] into one PNG (bytes), ``cols`` (default ⌈√n⌉) per row."""
    canvas = image_grid_array(images, pad, cols)
    pixels = (canvas * 255 + 0.5).astype(np.uint8)
    img = Image.fromarray(pixels)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def image_grid_array(images: np.ndarray, pad: int = 2, cols: int | None = None) -> np.ndarray:
    """The tiled grid of :func:`image_grid_png` as floats in [0, 1]: [H, W] (one channel) or [H, W, C]."""
    x = np.clip(np.asarray(images, dtype=np.float32), 0, 1)
    n, c, h, w = x.shape
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    canvas = np.ones((c, rows * (h + pad) + pad, cols * (w + pad) + pad), dtype=np.float32)
    for i in range(n):
        r, q = divmod(i, cols)
        canvas[:, pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = x[i]
    return canvas[0] if c == 1 else canvas.transpose(1, 2, 0)


def save_image_grid(images: np.ndarray, path: Path, cols: int | None = None) -> None:
    """The image grid of :func:`image_grid_png`, written atomically to ``path``."""
    atomic_write_bytes(Path(path), image_grid_png(images, cols=cols))


def animation_gif(frames: np.ndarray, cols: int | None = None, ms: int = 120, pad: int = 2) -> bytes:
    """A looping GIF (bytes) of image grids: ``frames`` [T, n, C, H, W] in [0, 1], one grid of n images per
    frame, played forwards then backwards (so the loop has no jump), ``ms`` milliseconds a frame."""
    grids = [(image_grid_array(f, pad, cols) * 255 + 0.5).astype(np.uint8) for f in frames]
    order = list(range(len(grids))) + list(range(len(grids) - 2, 0, -1))
    images = [Image.fromarray(grids[i]) for i in order]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=ms, loop=0)
    return buf.getvalue()
