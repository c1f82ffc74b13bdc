"""A trained generator to use from Python: ``minimax.load(run)`` -> :class:`Generator`, an ``nn.Module`` that
maps noise to data space, x = to_data_space(G(z)) (G(z, c) in the conditional game).

    G = minimax.load("runs/mine")                 # the weight average when the run kept one, else G
    G = G.to("cuda")
    x = G.sample(16, seed=0)                      # [16, C, H, W] pixels in [0, 1]
    z = G.noise(16, seed=1)                       # z ~ p_z, the run's prior
    x = G(z)                                      # the same map, differentiable (G(z, c) for a conditional run)
    G.class_names, G.latent_dim, G.prior, G.weights, G.step

Which weights (``weights=``): 'average', the weight average the run kept (--g-ema, --g-uniform-average-from;
refused when it kept none); 'raw', G's own; 'auto' (default), the average when there is one (what ``minimax
sample`` draws from). An image run needs no training images (its data card, :mod:`minimax.run.datacard`).
``minimax sample``, ``minimax.sample`` and ``minimax export`` draw through this object.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..data.prior import sample_noise
from ..errors import MinimaxError
from .sampling import check_draw, conditional_draw, draw, generate_from
from .setup import why_no_cuda
from .trained import Trained, load_trained

WEIGHTS = ("auto", "average", "raw")


class Generator(nn.Module):
    """G of a trained run followed by the data's map to data space (see the module docstring); in eval mode."""

    def __init__(self, G: nn.Module, run: Trained, weights: str):
        super().__init__()
        self.G = G
        self.cfg, self.data, self.conditional = run.cfg, run.data, run.conditional
        self.weights, self.step, self.run_dir = weights, run.step, run.run_dir
        self.eval()

    # what minimax.run.sampling.generate draws through
    @property
    def sampler(self) -> nn.Module:
        return self.G

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    @property
    def prior(self) -> str:
        """'normal' (z ~ N(0, I)) or 'uniform' (z ~ U[-1, 1]^latent_dim)."""
        return self.cfg.prior

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes of a conditional run, label by label (empty for an unconditional one)."""
        return tuple(self.cfg.class_names) if self.conditional else ()

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one sample in data space ([C, H, W] for images)."""
        return tuple(self.data.shape)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """x = to_data_space(G(z)), or G(z, c) with c the class indices for a conditional run. z: floats of shape
        [m, latent_dim]; c: m integers in [0, K)."""
        self._check_inputs(z, c)
        if self.conditional:
            return self.data.to_data_space(self.G(z, c))
        return self.data.to_data_space(self.G(z))

    def _check_inputs(self, z, c) -> None:
        """One-line errors for inputs G cannot take (instead of a shape error deep inside the players)."""
        if not isinstance(z, torch.Tensor) or not z.is_floating_point() or z.ndim != 2 \
                or z.shape[1] != self.latent_dim:
            got = f"{tuple(z.shape)} {z.dtype}" if isinstance(z, torch.Tensor) else type(z).__name__
            raise MinimaxError(f"z must be a float tensor of shape [m, {self.latent_dim}] (m noise vectors of the "
                               f"run's latent_dim), got {got}")
        if not self.conditional:
            if c is not None:
                raise MinimaxError("this run is unconditional: call G(z) without classes")
            return
        if c is None:
            raise MinimaxError("this run is conditional: call G(z, c) with c the class indices")
        k = len(self.class_names)
        if not isinstance(c, torch.Tensor) or c.is_floating_point() or c.is_complex() or c.dtype == torch.bool \
                or tuple(c.shape) != (z.shape[0],):
            got = f"{tuple(c.shape)} {c.dtype}" if isinstance(c, torch.Tensor) else type(c).__name__
            raise MinimaxError(f"c must be an integer tensor of shape [{z.shape[0]}] (one class index in [0, {k}) "
                               f"per z), got {got}")
        if not torch.compiler.is_compiling() and len(c) and not (0 <= int(c.min()) and int(c.max()) < k):
            raise MinimaxError(f"c holds class indices outside [0, {k}) ({', '.join(self.class_names[:5])}"
                               f"{', ...' if k > 5 else ''}): got {int(c.min())} to {int(c.max())}")

    def noise(self, n: int, seed: int = 0) -> torch.Tensor:
        """n noise vectors z ~ p_z (the run's prior) on this generator's device, from ``seed``."""
        check_draw(n, seed, (self.latent_dim,))
        rng = torch.Generator(device=self.device).manual_seed(seed)
        return sample_noise(n, self.latent_dim, self.prior, rng, self.device)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, classes: Sequence[int | str] | str | None = None) -> torch.Tensor:
        """n samples in data space from the noise stream ``seed`` (conditional: c ~ p_data(c)); with ``classes``
        (indices or names, or 'all'), n of each class, class after class. The same numbers as ``minimax
        sample`` draws with the same seed."""
        check_draw(n, seed, self.shape, classes)
        return draw(self, n, classes, seed)

    @torch.no_grad()
    def sample_labelled(self, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, c) of a conditional run: the n samples :meth:`sample` draws with ``seed`` and their classes
        c ~ p_data(c)."""
        if not self.conditional:
            raise MinimaxError("this run is unconditional (condition 'none'): its samples have no class")
        check_draw(n, seed, self.shape)
        z, c = conditional_draw(self, n, torch.Generator(device=self.device).manual_seed(seed))
        return generate_from(self, z, c), c


def load(run: str | Path, weights: str = "auto", checkpoint: str | Path | None = None,
         device: str | torch.device | None = None) -> Generator:
    """The generator of the run directory ``run`` at its latest checkpoint (or the file ``checkpoint``), on the
    device the run names (or ``device``): see the module docstring."""
    if not isinstance(run, (str, Path)):
        raise MinimaxError(f"load takes a run directory (a str or Path), not {type(run).__name__}")
    if weights not in WEIGHTS:
        raise MinimaxError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}"[:300])
    if device is not None:
        device = _device(device)
    G = generator_of(load_trained(run, checkpoint), weights)
    if device is None:
        return G
    try:
        return G.to(device)
    except (RuntimeError, TypeError, AssertionError) as e:
        raise MinimaxError(f"cannot move the generator to device {str(device)!r}: "
                           f"{str(e).splitlines()[0][:200] if str(e) else type(e).__name__}") from None


def _device(device) -> torch.device:
    """A device the generator can compute on ('cpu', 'cuda', 'cuda:N', 'mps'), available in this torch."""
    try:
        d = torch.device(device)
    except (RuntimeError, TypeError):
        raise MinimaxError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}"[:300]) from None
    if d.type not in ("cpu", "cuda", "mps"):
        raise MinimaxError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {str(device)!r}")
    if d.type == "cuda" and not torch.cuda.is_available():
        raise MinimaxError(f"device {str(device)!r}: {why_no_cuda()}")
    return d


def generator_of(run: Trained, weights: str = "auto") -> Generator:
    """The :class:`Generator` of loaded players (``weights`` as in :func:`load`)."""
    if run.g_is_average:  # a pretrained run keeps one generator, the weight average
        if weights == "raw":
            raise MinimaxError("this pretrained run keeps only the weight average of G (weights 'average')")
        return Generator(run.G, run, "average")
    if weights == "average" and run.G_average is None:
        raise MinimaxError("this run kept no weight average of G (--g-ema, --g-uniform-average-from); "
                           "use G's own weights (--weights raw)")
    G = run.G if weights == "raw" else run.sampler
    return Generator(G, run, "average" if G is run.G_average else "raw")
