"""What a run will need, checked against what the machine has, before anything large is allocated.

The players are built once on PyTorch's ``meta`` device (shapes only, no memory, no random numbers
drawn) to count their parameters and the activations of one sample; a configuration whose estimate
exceeds the available memory is a one-line error instead of an out-of-memory kill minutes later.
"""
from __future__ import annotations

import math
import os

import torch
from torch import nn

from ..errors import MinimaxError

GIB = 2**30
# bytes per parameter: the weights, their gradient and two optimiser moments (Adam), fp32
BYTES_PER_PARAMETER = 16
# bytes per activation value: fp32, kept for the backward pass, with G's and D's on real and generated data
BYTES_PER_ACTIVATION = 4 * 6


def available_memory(device: torch.device) -> int:
    """Free bytes on ``device``: the GPU's free memory, else the host's MemAvailable (else its total)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 1 << 62


def _count(module: nn.Module, x: torch.Tensor) -> tuple[int, int, torch.Tensor]:
    """(parameters, activation values of the forward pass on ``x``, the output), on the meta device."""
    values = []
    hooks = [m.register_forward_hook(lambda m, i, o: values.append(o.numel() if torch.is_tensor(o) else 0))
             for m in module.modules()]
    try:
        out = module(x)
    finally:
        for h in hooks:
            h.remove()
    return sum(p.numel() for p in module.parameters()), sum(values), out


def estimate_bytes(build, latent_dim: int, batch_size: int) -> tuple[int, int]:
    """(bytes of parameters and optimiser state, bytes of activations of one iteration) of the players that
    ``build()`` makes, built and run on the meta device with torch's random state untouched."""
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        G, D = build()
        n = 2  # two samples (BatchNorm needs more than one); activations scale linearly with the batch
        g_params, g_acts, fake = _count(G, torch.empty(n, latent_dim))
        d_params, d_acts, _ = _count(D, fake)
    return (g_params + d_params) * BYTES_PER_PARAMETER, (g_acts + d_acts) * batch_size // n * BYTES_PER_ACTIVATION


def check_fits(build, latent_dim: int, batch_size: int, device: torch.device, k: int = 1, pack: int = 1) -> None:
    """Refuse, in one line, players and a batch that would not fit in the device's available memory (the
    activations of ``k`` D steps' minibatches counted, as held at once at worst), naming the largest batch size
    that fits (a multiple of ``pack``) when there is one. The activations grow linearly with the batch."""
    try:
        params, acts = estimate_bytes(build, latent_dim, batch_size * k)
    except MinimaxError:
        raise
    except Exception:  # a model the meta device cannot run: no estimate, no refusal
        return
    free = available_memory(device)
    if params + acts > free:
        largest = int((free - params) / (acts / batch_size)) // pack * pack if free > params else 0
        fix = (f": give --batch-size {largest} or less" if largest >= pack else
               ": even one example does not fit; give the players fewer or narrower layers (--widths, --blocks), "
               "or a device with more memory")
        raise MinimaxError(f"this configuration needs about {(params + acts) / GIB:.1f} GiB (players and "
                           f"optimiser state {params / GIB:.1f} GiB, activations at batch size {batch_size} "
                           f"{acts / GIB:.1f} GiB); {free / GIB:.1f} GiB are available on {device}{fix}")


def check_sample_memory(n: int, shape, flag: str) -> None:
    """Refuse a number of samples whose arrays (a few float copies) would not fit in memory."""
    need = n * math.prod(shape) * 4 * 4
    free = available_memory(torch.device("cpu"))
    if need > free:
        raise MinimaxError(f"{flag} {n}: the samples need about {need / GIB:.1f} GiB, "
                           f"{free / GIB:.1f} GiB are available")
