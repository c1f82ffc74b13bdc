"""The players' optimisers and their learning rates."""
from __future__ import annotations

import torch


def make_optimizer(params, cfg, lr: float) -> torch.optim.Optimizer:
    """Adam(lr, (β1, β2)) or SGD(lr, momentum), with the fused kernels (one pass over memory
    for the whole update; 8x faster than the default for Adam on a CPU) where the build has
    them, else the multi-tensor ``foreach`` ones. Same update rule either way."""
    params = list(params)
    if cfg.optimizer == "adam":
        def make(**k):
            return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), **k)
    else:
        def make(**k):
            return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, **k)
    try:
        return make(fused=True)
    except (RuntimeError, TypeError, ValueError):
        return make(foreach=True)


def match_state_layout(opt: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor (Adam's moments, SGD's momentum) its parameter's memory layout.

    A checkpoint stores tensors contiguous; the convolutional players train in channels_last. Restored as
    they are read, the moments of a channels_last weight differ from the weight in layout, and the optimiser
    step after a resume was not bitwise the step of the uninterrupted run (measured: DCGAN runs diverged from
    their straight twin at the first step after a resume)."""
    for group in opt.param_groups:
        for p in group["params"]:
            state = opt.state.get(p, {})
            for key, v in state.items():
                if torch.is_tensor(v) and v.shape == p.shape and v.stride() != p.stride():
                    state[key] = torch.empty_like(p, dtype=v.dtype).copy_(v)


def schedule(kind: str, step: int, steps: int) -> float:
    """The learning-rate factor before iteration ``step + 1``: 1 ('none'), or 1 - step/steps ('linear')."""
    return 1.0 - step / steps if kind == "linear" else 1.0


def set_learning_rate(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def grad_norm(grads) -> torch.Tensor:
    """‖∇‖₂ over all parameter tensors (None entries count as zero)."""
    sq = [g.pow(2).sum() for g in grads if g is not None]
    return torch.stack(sq).sum().sqrt() if sq else torch.zeros(())


def base_lr(cfg, player: str) -> float:
    """A player's learning rate before the schedule: --g-lr / --d-lr, else --lr."""
    return (cfg.g_lr if player == "g" else cfg.d_lr) or cfg.lr
