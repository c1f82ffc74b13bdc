"""Atomic file writes: a reader sees the old file or the new one, never a mix (checkpoints, records, plots).
Only a new path or an existing regular file is ever written: a device, FIFO or folder is refused (an atomic
write renames a new file over its target, which would replace ``/dev/null`` itself)."""
from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from pathlib import Path

from .errors import MinimaxError


def writable_file(path: str | Path, flag: str = "") -> Path:
    """``path`` (a symbolic link followed to its target) if it is new or a regular file whose folder exists;
    anything else is a one-line :class:`MinimaxError` naming ``flag`` and the path."""
    shown = f"{flag} {path}" if flag else str(path)
    if str(path).endswith(("/", os.sep)):
        raise MinimaxError(f"cannot write {shown}: it names a folder; give a file name")
    path = Path(os.path.realpath(path))  # a link is written through, never replaced by a file
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise MinimaxError(f"cannot write {shown}: {e.strerror or e}") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else \
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else \
            "not a regular file"
        raise MinimaxError(f"cannot write {shown}: it is {kind}, not a regular file")
    if not path.parent.is_dir():
        raise MinimaxError(f"cannot write {shown}: folder {path.parent} does not exist")
    return path


def strict_json(obj) -> tuple[object, dict[str, str]]:
    """(``obj`` with every non-finite float replaced by None, {dotted key: "inf" | "-inf" | "nan"} of those
    values): JSON has no NaN or Infinity (Python writes them, other tools reject them), so a record keeps null
    and says what it was."""
    gone: dict[str, str] = {}

    def clean(v, key: str):
        if isinstance(v, float) and not math.isfinite(v):
            gone[key] = repr(v)
            return None
        if isinstance(v, dict):
            return {k: clean(x, f"{key}.{k}" if key else str(k)) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x, f"{key}[{i}]") for i, x in enumerate(v)]
        return v

    return clean(obj, ""), gone


def json_record(record: dict) -> bytes:
    """A record as strict JSON text: non-finite numbers as null, listed under ``non_finite`` with what they were."""
    clean, gone = strict_json(record)
    if gone:
        clean["non_finite"] = gone
    return json.dumps(clean, indent=2, allow_nan=False).encode()


def _file_mode() -> int:
    """0o666 less the process umask: the mode open() would have given a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix."""
    path = writable_file(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode())  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
