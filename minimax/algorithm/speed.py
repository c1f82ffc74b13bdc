"""How the players are run fast, without changing the math of a step.

* convolutional players run in NHWC (``channels_last``), the layout the conv kernels prefer;
* ``compile = "on"``: the forward passes go through ``torch.compile`` (the plain modules stay for
  sampling, evaluation and checkpoints);
* D(cat(x, G(z))) in one forward is the same math as two forwards unless D couples the samples of
  a batch (BatchNorm), so D sees real and generated samples jointly where it can;
* ``amp = "bf16"``: the forward passes under bfloat16 autocast (parameters and losses stay fp32).
"""
from __future__ import annotations

import torch
from torch import nn


def is_convolutional(module: nn.Module) -> bool:
    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in module.modules())


def use_channels_last(G: nn.Module, D: nn.Module, *more: nn.Module) -> bool:
    """Put convolutional players (and ``more`` copies of them) in NHWC; returns whether they are."""
    if not is_convolutional(D):
        return False
    for m in (G, D, *more):
        m.to(memory_format=torch.channels_last)
    return True


def joint_logits(d, x: torch.Tensor, fake: torch.Tensor, c: torch.Tensor | None):
    """(D(x), D(G(z))) from one forward on cat(x, G(z)) (labels c for both halves): the same math as two
    forwards for a D that treats the samples of a batch independently."""
    logits = d(torch.cat([x, fake.to(x.dtype)]), None if c is None else torch.cat([c, c])).float()
    half = len(logits) // 2
    return logits[:half], logits[half:]


def couples_batch(module: nn.Module) -> bool:
    """Whether a sample's output depends on the other samples of its batch (BatchNorm in training)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def forward_fn(module: nn.Module, compile: str):
    """The callable used for training: ``torch.compile(module)`` if asked, else the module.

    Compiled backward graphs may donate (reuse) their saved buffers, which is only valid for a backward that
    keeps no graph; the diagnostics take ``autograd.grad(..., retain_graph=True)`` of the generator loss, so
    donation is turned off (torch refuses such a backward otherwise)."""
    if compile != "on":
        return module
    torch._functorch.config.donated_buffer = False
    return torch.compile(module)


def autocast(device: torch.device, amp: str):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp == "bf16")


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 matrix products run natively on ``device`` (CUDA's bf16, or a CPU with AVX512-BF16 or AMX);
    elsewhere torch emulates them and bf16 autocast runs slower than fp32 (measured: ~30x on an AVX2 CPU)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes: assume native, as before
        return True
