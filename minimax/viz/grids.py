"""Image grids: samples [n, C, H, W] in [0, 1] tiled into one picture (PNG bytes, an array, or a file)."""
from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..files import atomic_write_bytes

MAX_SCALE = 16


def image_grid_png(images: np.ndarray, pad: int = 2, cols: int | None = None, scale: int = 1,
                   row_labels: Sequence[str] | None = None) -> bytes:
    """Tile images [n, C, H, W] with values in [0, 1] into one PNG (bytes), ``cols`` (default ⌈√n⌉) per row,
    each pixel drawn as a ``scale``×``scale`` block, ``row_labels`` (one per row) written left of the rows."""
    img = _picture(image_grid_array(images, pad, cols), scale, row_labels, images.shape[2], pad)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _picture(canvas: np.ndarray, scale: int, row_labels: Sequence[str] | None, h: int, pad: int) -> Image.Image:
    """The grid as a PIL image: upscaled by ``scale`` (nearest neighbour: each pixel a block, nothing smoothed),
    with the rows' labels in a white margin on the left (PIL's built-in font, no font file needed)."""
    img = Image.fromarray((canvas * 255 + 0.5).astype(np.uint8))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    if not row_labels:
        return img
    font = ImageFont.load_default()
    labels = [str(t)[:40] for t in row_labels]
    draw = ImageDraw.Draw(img)
    width = max(int(draw.textlength(t, font=font)) for t in labels) + 2 * pad * scale + 4
    out = Image.new(img.mode, (img.width + width, img.height), 255 if img.mode == "L" else (255, 255, 255))
    out.paste(img, (width, 0))
    draw = ImageDraw.Draw(out)
    ink = 0 if img.mode == "L" else (0, 0, 0)
    for r, text in enumerate(labels):
        middle = (pad + r * (h + pad) + h / 2) * scale
        draw.text((2, middle), text, fill=ink, font=font, anchor="lm")
    return out


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


def save_image_grid(images: np.ndarray, path: Path, cols: int | None = None, scale: int = 1,
                    row_labels: Sequence[str] | None = None) -> None:
    """The image grid of :func:`image_grid_png`, written atomically to ``path``."""
    atomic_write_bytes(Path(path), image_grid_png(images, cols=cols, scale=scale, row_labels=row_labels))


def image_png(image: np.ndarray) -> bytes:
    """One image [C, H, W] in [0, 1] as PNG bytes at its own size (8 bits, greyscale or RGB)."""
    return image_grid_png(image[None], pad=0)


def animation_gif(frames: np.ndarray, cols: int | None = None, ms: int = 120, pad: int = 2, scale: int = 1) -> bytes:
    """A looping GIF (bytes) of image grids: ``frames`` [T, n, C, H, W] in [0, 1], one grid of n images per
    frame, played forwards then backwards (so the loop has no jump), ``ms`` milliseconds a frame, each pixel a
    ``scale``×``scale`` block."""
    h = frames.shape[3]
    grids = [_picture(image_grid_array(f, pad, cols), scale, None, h, pad) for f in frames]
    order = list(range(len(grids))) + list(range(len(grids) - 2, 0, -1))
    images = [grids[i] for i in order]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=ms, loop=0)
    return buf.getvalue()
