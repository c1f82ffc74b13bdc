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


def couples_batch(module: nn.Module) -> bool:
    """Whether a sample's output depends on the other samples of its batch (BatchNorm in training)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def forward_fn(module: nn.Module, compile: str):
    """The callable used for training: ``torch.compile(module)`` if asked, else the module."""
    return torch.compile(module) if compile == "on" else module


def autocast(device: torch.device, amp: str):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp == "bf16")
