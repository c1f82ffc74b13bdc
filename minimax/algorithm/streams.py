r"""The random streams of one training run, each with one job, so a run is reproducible and
exactly resumable and nothing else in the process can perturb it:

* ``data``:  which minibatches x ~ p_data are drawn (lives where the data tensor lives);
* ``noise``: which z ~ p_z are drawn;
* torch's global stream (dropout masks): the run keeps its own copy and swaps it in only
  while the game plays (:meth:`RandomStreams.own_global`).

With several processes each rank has streams of its own; rank 0's are the 1-process ones.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch


def _capture_global(device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _restore_global(state: tuple[torch.Tensor, torch.Tensor | None], device: torch.device) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)


class RandomStreams:
    """The data, noise and dropout streams of one process of a run, seeded from ``seed`` and ``rank``.

    The dropout stream starts as torch's global state at construction (rank 0; seeded by the caller)
    or from a seed of its own (ranks > 0)."""

    def __init__(self, seed: int, rank: int, device: torch.device, data_device: torch.device):
        self.device = device
        rank_seed = seed * 1000 + 1_000_003 * rank
        self.data = torch.Generator(device=data_device).manual_seed(rank_seed + 1)
        self.noise = torch.Generator(device=device).manual_seed(rank_seed + 2)
        self.global_state = _capture_global(device)
        if rank > 0:
            self.global_state = (torch.Generator().manual_seed(rank_seed + 3).get_state(), self.global_state[1])

    @contextmanager
    def own_global(self):
        """Run the block with this run's copy of torch's global stream (used by dropout)."""
        outer = _capture_global(self.device)
        _restore_global(self.global_state, self.device)
        try:
            yield
        finally:
            self.global_state = _capture_global(self.device)
            _restore_global(outer, self.device)

    def state_dict(self) -> dict[str, torch.Tensor]:
        state = {"data": self.data.get_state(), "noise": self.noise.get_state(), "torch": self.global_state[0]}
        if self.global_state[1] is not None:
            state["cuda"] = self.global_state[1]
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.data.set_state(state["data"])
        self.noise.set_state(state["noise"])
        cuda = state.get("cuda") if self.device.type == "cuda" else None
        self.global_state = (state["torch"], cuda)
