"""Downloads for users who have a network: verified by checksum, written atomically.

Nothing in minimax downloads on its own; ``minimax download DATASET --data-dir DIR``
does, and training only reads files already on disk.
"""
from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from ..errors import MinimaxError

MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
CIFAR10_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)

# (file name, md5 of the published file)
RESOURCES = {
    "mnist": (MNIST_MIRRORS, [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]),
    "fashion-mnist": (FASHION_MIRRORS, [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]),
    "cifar10": (CIFAR10_MIRRORS, [("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")]),
}


def file_digest(path: Path, algorithm: str, chunk: int = 1 << 20) -> str:
    """The hex digest of a file's bytes ('md5', 'sha256'), read a block at a time."""
    h = hashlib.new(algorithm, usedforsecurity=algorithm != "md5")
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def md5sum(path: Path) -> str:
    return file_digest(path, "md5")


def fetch(url: str, dest: Path, md5: str | None = None, timeout: float = 60.0, sha256_prefix: str | None = None
          ) -> Path:
    """Download ``url`` to ``dest`` through a temporary file; keep it only if its md5 matches (or its SHA-256
    starts with ``sha256_prefix``: torch hub's check of a file named ``name-<prefix>.ext``)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part", delete=False) as tmp:
        tmp_path = Path(tmp.name)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                shutil.copyfileobj(response, tmp)
        except (OSError, ValueError) as e:
            tmp.close()
            tmp_path.unlink(missing_ok=True)
            raise MinimaxError(f"download of {url} failed: {e}"[:300]) from None
    if md5 is not None and (got := md5sum(tmp_path)) != md5:
        tmp_path.unlink(missing_ok=True)
        raise MinimaxError(f"download of {url} has md5 {got}, expected {md5}; file discarded")
    if sha256_prefix is not None and not (got := file_digest(tmp_path, "sha256")).startswith(sha256_prefix):
        tmp_path.unlink(missing_ok=True)
        raise MinimaxError(f"download of {url} has SHA-256 {got}, expected {sha256_prefix}...; file discarded")
    tmp_path.replace(dest)
    return dest


def download(dataset: str, data_dir: str | Path, mirrors: tuple[str, ...] | None = None) -> list[Path]:
    """Fetch every file of ``dataset`` into ``data_dir`` (files already present and verified are kept)."""
    if dataset not in RESOURCES:
        raise MinimaxError(f"no download for {dataset!r}; available: {', '.join(RESOURCES)}")
    default_mirrors, files = RESOURCES[dataset]
    out = []
    for name, md5 in files:
        dest = Path(data_dir) / name
        if dest.is_file() and md5sum(dest) == md5:
            out.append(dest)
            continue
        errors = []
        for base in mirrors or default_mirrors:
            try:
                out.append(fetch(base + name, dest, md5))
                break
            except MinimaxError as e:
                errors.append(str(e))
        else:
            raise MinimaxError(f"could not download {name}: {errors[-1]}")
    if dataset == "cifar10":
        with tarfile.open(out[0]) as tar:
            tar.extractall(Path(data_dir), filter="data")
    return out
