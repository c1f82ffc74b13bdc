r"""The FID Inception-v3 network (Szegedy et al. 2016) with the 2015-12-05 TensorFlow weights, loaded offline.

FID (Heusel et al. 2017), KID and the Inception Score are defined on this network: the 2,048-d pool features
φ(x) for FID/KID and the 1,008-way softmax p(y | x) for IS. The PyTorch port of the TF graph used by pytorch-fid
and torch-fidelity (``pt_inception-2015-12-05-6726825d.pth``, ``weights-inception-2015-12-05-6726825d.pth``;
6726825d = the first hex digits of the file's SHA-256) differs from torchvision's Inception-v3 in three places,
reproduced here: the average pools of the A, C and first E blocks leave the padding out of the mean
(count_include_pad=False), the last E block pools by max, and the classifier has 1,008 outputs.

Why not import pytorch-fid or torch-fidelity: both import torchvision when imported (pytorch_fid/inception.py;
torch_fidelity/__init__ → utils), which has no CPU build for this project's torch, and both fetch weights from
the network when none are given (torch-fidelity unpickles a given file with weights_only=False). The network is
~150 lines; its module names are torchvision's, so the published state dict loads strictly, key for key.

Input: pixels in [0, 1], [N, C, H, W] with C = 1 (repeated to RGB) or 3, resized to 299×299 (bilinear,
align_corners=False, as pytorch-fid) and scaled to [-1, 1].
"""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn
from torch.nn import functional as F

from ..data.download import fetch, file_digest
from ..errors import MinimaxError
from ..files import check_regular

FEATURE_DIM = 2048
CLASSES = 1008
STANDARD_SHA256_PREFIX = "6726825d"
STANDARD_NAMES = ("pt_inception-2015-12-05-6726825d.pth", "weights-inception-2015-12-05-6726825d.pth")
# where pytorch-fid publishes its weights (its FID_WEIGHTS_URL); `minimax download inception` fetches them
WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + STANDARD_NAMES[0]
SIDE = 299


class BasicConv2d(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, c_in: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 64, 1)
        self.branch5x5_1 = BasicConv2d(c_in, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(c_in, pool_features, 1)

    def forward(self, x):
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          self.branch_pool(_avg_pool(x))], 1)


class InceptionB(nn.Module):
    def __init__(self, c_in: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(c_in, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(c_in, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch3x3(x), self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          F.max_pool2d(x, 3, 2)], 1)


class InceptionC(nn.Module):
    def __init__(self, c_in: int, c7: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(c_in, 192, 1)
        self.branch7x7_1 = BasicConv2d(c_in, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(c_in, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(c_in, 192, 1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for i in range(1, 6):
            d = getattr(self, f"branch7x7dbl_{i}")(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg_pool(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, c_in: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(c_in, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(c_in, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x):
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, 2)], 1)


class InceptionE(nn.Module):
    """``max_pool``: the last block pools by max (the TF graph's quirk), the first by average without padding."""

    def __init__(self, c_in: int, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(c_in, 320, 1)
        self.branch3x3_1 = BasicConv2d(c_in, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(c_in, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(c_in, 192, 1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, 1, 1) if self.max_pool else _avg_pool(x)
        return torch.cat([self.branch1x1(x), self.branch3x3_2a(b3), self.branch3x3_2b(b3),
                          self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d), self.branch_pool(pooled)], 1)


def to_network_input(x: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1], [N, 1 or 3, H, W] → [N, 3, 299, 299] in [-1, 1]: grey repeated to RGB, then resized as
    pytorch-fid resizes (bilinear, align_corners=False, no antialiasing): output pixel i reads the input at
    s = (i + ½)·H/299 − ½, clamped to [0, H − 1], interpolated linearly between its two neighbours."""
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return F.interpolate(x.float(), size=(SIDE, SIDE), mode="bilinear", align_corners=False) * 2 - 1


class FIDInceptionV3(nn.Module):
    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(FEATURE_DIM, CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """φ(x) ∈ R^2048, the pool3 features, for pixels in [0, 1] of shape [N, 1 or 3, H, W]."""
        x = to_network_input(x)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(x, 3, 2)))
        x = F.max_pool2d(x, 3, 2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return x.mean((2, 3))

    def class_logits(self, phi: torch.Tensor) -> torch.Tensor:
        """W φ: the 1,008 class logits without the bias (torch-fidelity's "logits_unbiased", used for IS)."""
        return phi @ self.fc.weight.T


def file_sha256(path: Path) -> str:
    check_regular(path, "Inception weights")  # (a FIFO would block the read)
    return file_digest(path, "sha256")


def hub_candidates() -> list[Path]:
    """Where a torch hub download of the weights would be: $TORCH_HOME/hub/checkpoints/<standard names>."""
    hub = Path(os.environ.get("TORCH_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser()
               / "torch") / "hub" / "checkpoints"
    return [hub / name for name in STANDARD_NAMES]


def expected_prefix(path: Path) -> str:
    """The SHA-256 prefix the file must have: the hex digits after the last '-' of its name (torch hub's
    convention, ``name-<sha256 prefix>.ext``), else the standard file's."""
    m = re.search(r"-([0-9a-f]{8,64})\.[A-Za-z0-9]+$", path.name)
    return m.group(1) if m else STANDARD_SHA256_PREFIX


# the standard file holds 23.9 M fp32 numbers (95.6 MB); a file over twice that is not these weights and is refused
# before it is hashed (hashing a 60 GB file named like them would take minutes)
MAX_WEIGHTS_BYTES = 200 * 2**20


def find_weights(path: str | Path | None) -> Path:
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise MinimaxError(f"Inception weights {p} not found")
        return p
    for p in hub_candidates():
        if p.is_file():
            return p
    raise MinimaxError("no Inception weights: run `minimax download inception` once (needs a network; "
                       f"{WEIGHTS_URL}, SHA-256 {STANDARD_SHA256_PREFIX}...), or pass --inception-weights FILE, or "
                       f"put the file in {hub_candidates()[0].parent}; minimax never downloads during evaluation")


def download_weights(dest_dir: str | Path | None = None, url: str | None = None) -> Path:
    """pytorch-fid's Inception weights into ``dest_dir`` (default: the torch hub folder evaluation reads), kept only
    when the file's SHA-256 starts with the prefix in its name; a verified file already there is kept."""
    dest = Path(dest_dir) / STANDARD_NAMES[0] if dest_dir is not None else hub_candidates()[0]
    if dest.is_file() and file_sha256(dest).startswith(STANDARD_SHA256_PREFIX):
        return dest
    return fetch(url or WEIGHTS_URL, dest, sha256_prefix=STANDARD_SHA256_PREFIX, timeout=120.0)


def load_inception(path: str | Path | None = None) -> tuple[FIDInceptionV3, dict]:
    """(network in eval mode, its record) from ``path`` or the torch hub cache, after checking the file's SHA-256
    against the prefix in its name; tensors only (weights_only), never a pickled object."""
    p = find_weights(path)
    size = p.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise MinimaxError(f"Inception weights {p} hold {size / 2**20:.0f} MiB; the FID Inception-v3 file is 91 MiB "
                           "(a different file)")
    digest = file_sha256(p)
    want = expected_prefix(p)
    if not digest.startswith(want):
        raise MinimaxError(f"Inception weights {p}: SHA-256 {digest[:16]}… does not start with {want} (a corrupt or "
                           "different file); delete it and fetch it again")
    try:
        if p.suffix == ".safetensors":
            state = load_file(p)
        else:
            state = torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, SafetensorError) as e:
        raise MinimaxError(f"Inception weights {p} are not a plain file of tensors ({type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else ''})"[:300]) from None
    net = FIDInceptionV3()
    try:
        if not isinstance(state, dict):
            raise RuntimeError(f"it holds a {type(state).__name__}, not a state dict")
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise MinimaxError(f"{p} is not the FID Inception-v3 state dict: {' '.join(str(e).split())}"[:300]) from None
    return net.eval(), {"name": "inception-v3 (FID port of the 2015-12-05 TF graph)", "file": p.name,
                        "sha256": digest, "standard": digest.startswith(STANDARD_SHA256_PREFIX)}


@torch.no_grad()
def inception_outputs(net: FIDInceptionV3, pixels: torch.Tensor, shape: tuple[int, ...], batch: int = 100,
                      logits: bool = False):
    """φ [N, 2048] (and with ``logits`` the class logits [N, 1008]) of flattened pixels in [0, 1]."""
    x = pixels.reshape(-1, *shape)
    if x.shape[1] not in (1, 3):
        raise MinimaxError(f"Inception features need 1 or 3 channels, the images have {x.shape[1]}")
    phi = torch.cat([net.features(x[i:i + batch]) for i in range(0, len(x), batch)])
    return (phi, net.class_logits(phi)) if logits else phi
