"""Reading and writing files safely.

* Atomic writes: a reader sees the old file or the new one, never a mix (checkpoints, records, plots). Only a new
  path or an existing regular file is ever written: a device, FIFO or folder is refused (an atomic write renames
  a new file over its target, which would replace ``/dev/null`` itself). A replaced file keeps its mode and owner.
* A run's own files (``inside=run_dir``: records, summary, logs, checkpoints, snapshots; a cache's entries) are
  never written through a symbolic link, nor anywhere outside that folder: a link planted in a run cannot make
  minimax overwrite another run's files.
* Reads of files minimax did not just create open without blocking and refuse anything but a regular file, so a
  FIFO in a run (or given as ``--config``) is a one-line error instead of a hang."""
from __future__ import annotations

import json
import math
import os
import shutil
import stat
import tempfile
from pathlib import Path

from .errors import MinimaxError


def default_cache_dir() -> Path:
    """Where minimax caches what it computed or unpacked: $MINIMAX_CACHE, else $XDG_CACHE_HOME/minimax, else
    ~/.cache/minimax."""
    root = os.environ.get("MINIMAX_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "minimax")
    return Path(root)


def writable_file(path: str | Path, flag: str = "") -> Path:
    """``path`` (a symbolic link followed to its target) if it is new or a regular file whose folder exists;
    anything else is a one-line :class:`MinimaxError` naming ``flag`` and the path."""
    shown = f"{flag} {path}" if flag else str(path)
    if str(path).endswith(("/", os.sep)):
        raise MinimaxError(f"cannot write {shown}: it names a folder; give a file name")
    path = Path(os.path.realpath(path))  # a link is written through, never replaced by a file
    mode = _mode_for_writing(path, shown, os.stat)
    if mode is not None:
        _refuse_irregular(mode, "write", shown)
    if not path.parent.is_dir():
        raise MinimaxError(f"cannot write {shown}: folder {path.parent} does not exist")
    return path


def _kind(mode: int) -> str:
    return "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else \
        "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else \
        "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"


def _refuse_irregular(mode: int, verb: str, shown: str) -> None:
    """A one-line error unless ``mode`` is a regular file's: "cannot read X: it is a FIFO, not a regular file"."""
    if not stat.S_ISREG(mode):
        raise MinimaxError(f"cannot {verb} {shown}: it is {_kind(mode)}, not a regular file")


def _mode_for_writing(path: Path, shown: str, look) -> int | None:
    """The mode of what is at ``path`` (``look``: os.stat follows a link, os.lstat does not); None when nothing is
    there; any other refusal of the machine is a one-line error."""
    try:
        return look(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as e:
        raise MinimaxError(f"cannot write {shown}: {e.strerror or e}") from None


def own_file(path: str | Path, inside: str | Path) -> Path:
    """``path`` if it may be written as one of the files of the folder ``inside`` (a run, a cache): not a symbolic
    link, new or a regular file, in ``inside`` or a folder under it once every link above it is resolved."""
    path = Path(path)
    mode = _mode_for_writing(path, str(path), os.lstat)
    if mode is not None and stat.S_ISLNK(mode):
        raise MinimaxError(f"cannot write {path}: it is a symbolic link (minimax writes the files of {inside} in "
                           "place, never through a link)")
    if mode is not None:
        _refuse_irregular(mode, "write", str(path))
    folder, root = Path(os.path.realpath(path.parent)), Path(os.path.realpath(inside))
    if folder != root and root not in folder.parents:
        raise MinimaxError(f"cannot write {path}: its folder leads out of {inside} (to {folder})")
    if not folder.is_dir():
        raise MinimaxError(f"cannot write {path}: folder {path.parent} does not exist")
    return path


def check_regular(path: str | Path, what: str = "") -> Path:
    """``path`` if it is a regular file (links followed); a FIFO, device, socket or folder is a one-line error
    (a reader would block on a FIFO or read a device forever). A missing file raises FileNotFoundError as before."""
    _refuse_irregular(os.stat(path).st_mode, "read", f"{what + ' ' if what else ''}{path}")
    return Path(path)


def read_bytes(path: str | Path, what: str = "") -> bytes:
    """The bytes of a regular file, opened without blocking (a FIFO is refused, not waited on)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        _refuse_irregular(os.fstat(fd).st_mode, "read", f"{what + ' ' if what else ''}{path}")
        os.set_blocking(fd, True)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: str | Path, what: str = "") -> str:
    return read_bytes(path, what).decode("utf-8")


def open_append(path: str | Path, inside: str | Path):
    """A text file object appending to ``path``, one of ``inside``'s own files (:func:`own_file`): never through
    a link (O_NOFOLLOW), never blocking on a FIFO."""
    path = own_file(path, inside)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW, _file_mode())
    except OSError as e:  # a link or FIFO put there since the check (ELOOP, ENXIO)
        raise MinimaxError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        _refuse_irregular(os.fstat(fd).st_mode, "write", str(path))
    except MinimaxError:
        os.close(fd)
        raise
    os.set_blocking(fd, True)
    return os.fdopen(fd, "a", encoding="utf-8")


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
    return 0o666 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes, inside: str | Path | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix. With ``inside``
    (a run or cache folder) ``path`` is one of that folder's own files (:func:`own_file`: never through a link);
    without, a link is written through to its target. A replaced file keeps its mode and, where the process may
    set it, its owner."""
    path = writable_file(path) if inside is None else own_file(path, inside)
    try:
        old = os.stat(path)
    except FileNotFoundError:
        old = None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, stat.S_IMODE(old.st_mode) if old else _file_mode())  # mkstemp creates 0600
        if old is not None and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
            try:
                os.chown(tmp, old.st_uid, old.st_gid)
            except OSError:  # not ours to give away: the new file stays the writer's
                pass
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


def new_folder(path: str | Path, flag: str = "") -> Path:
    """``path`` if a folder of files may be written there: new, or an empty folder (not a link), its parent
    existing; else a one-line error naming ``flag``."""
    shown = f"{flag} {path}" if flag else str(path)
    path = Path(path)
    mode = _mode_for_writing(path, shown, os.lstat)
    if mode is not None and not stat.S_ISDIR(mode):
        raise MinimaxError(f"cannot write {shown}: it is {_kind(mode) if not stat.S_ISREG(mode) else 'a file'}; "
                           "give a new folder")
    if mode is not None and any(os.scandir(path)):
        raise MinimaxError(f"cannot write {shown}: the folder is not empty; give a new or empty folder")
    if not path.absolute().parent.is_dir():
        raise MinimaxError(f"cannot write {shown}: folder {path.absolute().parent} does not exist")
    return path


def is_path_component(name: str) -> bool:
    """Whether ``name`` may be one folder or file name under a folder minimax writes: not empty, not ``.`` or
    ``..``, no separator and no NUL (a class name read from a run's files names a sub-folder of PNG output)."""
    return isinstance(name, str) and name not in ("", ".", "..") and not any(ch in name for ch in "/\\\0") \
        and len(name.encode("utf-8", "surrogateescape")) <= 255


def atomic_write_folder(path: str | Path, files, flag: str = "") -> int:
    """Write ``files`` (pairs of a relative name, ``a/b.png`` at most one folder deep, and its bytes; made lazily)
    as the folder ``path`` (:func:`new_folder`), all at once: they are written into a hidden folder beside it,
    which is then renamed to ``path``, so ``path`` holds every file or none. Returns the number of files."""
    path = new_folder(path, flag).absolute()
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    count = 0
    try:
        for name, data in files:
            parts = name.split("/")
            if len(parts) > 2 or not all(map(is_path_component, parts)):
                raise MinimaxError(f"cannot write {name!r} inside {flag or path}: not a name of a file there"[:300])
            target = tmp / name
            target.parent.mkdir(exist_ok=True)
            with open(target, "xb") as f:
                f.write(data)
            count += 1
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; a folder mkdir would have made
        if path.exists():
            path.rmdir()  # (empty, checked above)
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(path.parent)
    return count


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
