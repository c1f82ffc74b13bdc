"""IDX files (the MNIST format), read with every field checked.

Layout (LeCun et al., http://yann.lecun.com/exdb/mnist/): a 4-byte magic
``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32 sizes, then the
data in row-major order. Files may be gzip-compressed. Anything that does not
match — wrong magic, unknown type, a size that disagrees with the byte count,
a truncated or corrupt gzip stream — is a one-line :class:`MinimaxError`.
"""
from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import MinimaxError

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
MAX_BYTES = 2**31  # refuse absurd headers before allocating anything


def _parse_header(raw: bytes, name: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, dims, header length) of an IDX header, each field checked."""
    if len(raw) < 4:
        raise MinimaxError(f"{name}: too short to be an IDX file ({len(raw)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code not in _TYPES or not 1 <= ndim <= 4:
        raise MinimaxError(f"{name}: not an IDX file (bad magic number 0x{raw[:4].hex()})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MinimaxError(f"{name}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_TYPES[dtype_code])
    if math.prod(dims) * dtype.itemsize > MAX_BYTES:  # exact integers: no overflow on hostile headers
        raise MinimaxError(f"{name}: header declares an implausible size {dims}")
    return dtype, dims, header


def parse_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into an array of the declared shape."""
    dtype, dims, header = _parse_header(raw, name)
    expected = math.prod(dims) * dtype.itemsize
    if len(raw) - header != expected:
        raise MinimaxError(f"{name}: size mismatch: header says {dims} ({expected} bytes of data), "
                           f"file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file, gzip-compressed (detected by its magic bytes) or raw.

    Never reads more than the header declares plus one byte, so a gzip bomb (gigabytes of zeros behind
    a small header) is refused after the header's size, not after decompressing everything."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
            f.seek(0)
            stream = gzip.GzipFile(fileobj=f) if gz else f
            try:
                head = stream.read(4)
                head += stream.read(4 * head[3]) if len(head) == 4 else b""
                dtype, dims, header = _parse_header(head, str(path))
                rest = header + math.prod(dims) * dtype.itemsize - len(head)
                raw = head + stream.read(rest + 1)  # one byte more than declared: a longer file is refused
            except (OSError, EOFError, zlib.error) as e:
                raise MinimaxError(f"{path}: corrupt or truncated gzip data ({e})"[:300]) from None
    except FileNotFoundError:
        raise MinimaxError(f"missing file {path}") from None
    except IsADirectoryError:
        raise MinimaxError(f"{path} is a directory, not an IDX file") from None
    except OSError as e:
        raise MinimaxError(f"cannot read {path}: {e.strerror or e}") from None
    return parse_idx(raw, str(path))
