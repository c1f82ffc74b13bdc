r"""The statistics of the game, accumulated without ever synchronising with the device.

Every iteration adds its statistics (V̂, its two terms, the losses, mean D(x), mean D(G(z)), in
the objective's order) to a device tensor, and records on the device the first iteration whose
statistics were not finite, so divergence is reported with its exact step. Every ``log_every``
iterations :meth:`IterationStats.read` makes one host synchronisation and starts over.

A statistic named in ``sparse`` is measured on some iterations only (a lazy penalty, ``reg_every`` > 1): it has
its own count, its mean is over the iterations that measured it, and a record whose window measured it on no
iteration leaves it out.
"""
from __future__ import annotations

import torch

from . import distributed


class IterationStats:
    """Sums of per-iteration statistics since the last read, the first non-finite step, and the
    last diagnosed gradient norms."""

    def __init__(self, names: tuple[str, ...], diagnostic_names: tuple[str, ...], device: torch.device,
                 sparse: tuple[str, ...] = ()):
        self.names, self.diagnostic_names, self.device = names, diagnostic_names, device
        self.sparse = tuple(n for n in names if n in sparse)
        self.reset()

    def reset(self) -> None:
        self._sum = torch.zeros(len(self.names), device=self.device, dtype=torch.float64)
        self._count = 0
        # per-statistic counts, kept only when some statistic is measured on some iterations only
        self._counts = torch.zeros(len(self.names), device=self.device, dtype=torch.float64) if self.sparse else None
        self._first_bad = torch.full((), -1, device=self.device, dtype=torch.long)
        self._norms = None

    @torch.no_grad()
    def add(self, stats: torch.Tensor, step: int, norms: torch.Tensor | None = None,
            measured: torch.Tensor | None = None) -> None:
        """Add iteration ``step``'s statistics (and its gradient norms, when diagnosed). ``measured``: a boolean
        mask of the statistics this iteration measured (only with ``sparse`` statistics; the others count 0)."""
        if self._counts is not None:
            measured = torch.ones(len(self.names), dtype=torch.bool, device=stats.device) if measured is None \
                else measured
            stats = torch.where(measured, stats, torch.zeros((), dtype=stats.dtype, device=stats.device))
            self._counts += measured
        self._sum += stats
        self._count += 1
        bad = ~torch.isfinite(stats).all()
        self._first_bad = torch.where(bad & (self._first_bad < 0), step, self._first_bad)
        if norms is not None:
            self._norms = norms

    def read(self, step: int) -> dict:
        """The means of the statistics since the last read, the gradient norms of the last diagnosed
        iteration (not a mean), and ``first_nonfinite_step`` (-1: none); then start over.
        With several processes: means over every process's minibatches (one all_reduce)."""
        if distributed.current().active:
            never = torch.iinfo(torch.long).max
            first_bad = distributed.min_(torch.where(self._first_bad < 0, never, self._first_bad))
            self._first_bad = torch.where(first_bad == never, -1, first_bad)
            distributed.mean_(self._sum)
            if self._norms is not None:
                distributed.mean_(self._norms)
        if self._counts is None:
            means = (self._sum / max(self._count, 1)).tolist()
            out = {"step": step, **dict(zip(self.names, means))}
        else:  # (every process measures on the same iterations: the counts are the same everywhere)
            means, counts = (self._sum / self._counts.clamp(min=1)).tolist(), self._counts.tolist()
            out = {"step": step, **{n: v for n, v, c in zip(self.names, means, counts) if c > 0}}
        if self._norms is not None:
            out.update(zip(self.diagnostic_names, self._norms.tolist()))
        out["first_nonfinite_step"] = int(self._first_bad)
        self.reset()
        return out

    def state_dict(self) -> tuple[dict[str, torch.Tensor], int]:
        """The pending sums (a checkpoint between log steps keeps the next record exact) and their count."""
        tensors = {"sum": self._sum, "first_bad": self._first_bad}
        if self._counts is not None:
            tensors["counts"] = self._counts
        if self._norms is not None:
            tensors["norms"] = self._norms
        return tensors, self._count

    def load_state_dict(self, tensors: dict[str, torch.Tensor], count: int) -> None:
        self._sum = tensors["sum"].to(self.device)
        self._first_bad = tensors["first_bad"].to(self.device)
        self._norms = tensors["norms"].to(self.device) if "norms" in tensors else None
        self._count = int(count)
        if self._counts is not None:  # (a checkpoint of a run without lazy statistics: every one counted each time)
            self._counts = tensors["counts"].to(self.device) if "counts" in tensors else \
                torch.full_like(self._sum, float(count))
