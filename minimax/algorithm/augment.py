r"""Differentiable augmentation of D's inputs, for training on few images.

D sees T(x) and T(G(z)) instead of x and G(z), with T a random transformation drawn afresh for every image, in
the D step and in the G step alike (G's gradient flows through T). This is DiffAugment (Zhao, Liu, Lin, Zhu &
Han, NeurIPS 2020): D cannot memorise a small training set when it never sees the same image twice, and since
both distributions pass through the same T, the game is played between T(p_data) and T(p_g).

Policies (``augment``, comma-separated; DiffAugment's three, on data in [−1, 1]):

* ``color``: brightness x + (u − ½), saturation (x − x̄_c)·2u' + x̄_c (x̄_c the mean over channels), contrast
  (x − x̄)·(u'' + ½) + x̄ (x̄ the image's mean), with u, u', u'' ~ U[0, 1] per image;
* ``translation``: a shift by up to ⅛ of the side in each direction (integers, uniform), zero-filled;
* ``cutout``: a square of half the side, centred uniformly at random, set to zero.

Each policy is applied to each image independently with probability p (``augment_p``; DiffAugment: p = 1).
**Leaking.** If p < 1 the transformed distribution is a mixture (1 − p)·q + p·T(q). For a group of k invertible
transformations (ADA's 90° rotations, flips), one of the k − 1 non-identity elements drawn uniformly with
probability p, the operator (1 − p)·I + p/(k − 1)·Σ_{g≠e} g has eigenvalues 1 and 1 − pk/(k − 1): it is singular
at p = (k − 1)/k (¾ for the rotations, ½ for a flip), where T(q) cannot tell q from g(q); Karras et al. (ADA,
NeurIPS 2020, §2.2) keep p below that point, where the identity stays the most likely element and T(p_g) =
T(p_data) forces p_g = p_data, and measure that their own pipeline stays non-leaking in practice up to p ≈ 0.8
(Fig. 3). None of
this is proved for DiffAugment's operations here: zero-fill translation and cutout are not invertible (the
filled pixels are lost), so at p = 1 nothing forbids G to learn black borders or holes, and no p is guaranteed
safe for them. The adaptive p below is clipped to [0, 1] and can reach 1 with these operations without a
warning: watch ``augment_p`` in the log (docs/players.md), and prefer ``color`` alone where p runs high.

R1 and R2 are taken at D's inputs: ∇_y D(y) at y = T(x) (and T(G(z))). StyleGAN2-ADA's code instead
differentiates D(T(x)) with respect to the un-augmented x, through the same draw of T (its augment pipe runs
inside D's forward), which for translation and cutout is Tᵀ∇_y D(y): the gradient moved back and cut where T
cut. A departure, stated: both penalise D's slope near the data D sees; they differ in norm where T masks.

**Adaptive p** (``ada_target`` = t > 0; ADA's heuristic, Karras et al. 2020, §3): every 4 D steps,
r = E[sign(D's decision on the real minibatches)] (the logit's sign for the 2014 game and hinge; the sign of
D(x) − D(G(z)) for the relativistic games, whose raw scores mean nothing alone) and p ← clip(p + sign(r − t)·
4m/500,000, 0, 1): p rises while D is too sure of the training images, and can go from 0 to 1 in 500,000 real
images (ADA's speed). p starts at 0.

The random draws come from the run's noise stream, so a run with augmentation is exactly reproducible and
resumable; p and the pending statistic are part of the checkpoint.
"""
from __future__ import annotations

import torch

from ..catalogue import parse_policies

ADA_INTERVAL = 4  # D steps between adjustments of p (ADA's)
ADA_IMAGES = 500_000  # real images for p to move by 1 (ADA's 500 kimg)
TRANSLATION = 1 / 8  # of the side
CUTOUT = 1 / 2  # of the side


def _uniform(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:  # one U[0, 1] per image, [m, 1, 1, 1]
    return torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Brightness, saturation and contrast, each with its own draw per image (DiffAugment's ``color``)."""
    x = x + (_uniform(x, generator) - 0.5)
    mean_c = x.mean(dim=1, keepdim=True)
    x = (x - mean_c) * (_uniform(x, generator) * 2) + mean_c
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = TRANSLATION) -> torch.Tensor:
    """out[i, j] = x[i − dy, j − dx] (zero outside), dy, dx integers uniform in [−s, s], s = round(ratio·side)."""
    m, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (m, 1), generator=generator, device=x.device)
    dx = torch.randint(-sx, sx + 1, (m, 1), generator=generator, device=x.device)
    rows = torch.arange(h, device=x.device)[None, :] - dy  # the source row of each output row, [m, h]
    cols = torch.arange(w, device=x.device)[None, :] - dx
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    batch = torch.arange(m, device=x.device)[:, None, None]
    out = x[batch, :, rows.clamp(0, h - 1)[:, :, None], cols.clamp(0, w - 1)[:, None, :]]  # [m, h, w, C]
    return out.permute(0, 3, 1, 2) * inside[:, None].to(x.dtype)


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = CUTOUT) -> torch.Tensor:
    """Zero a square of side round(ratio·side) whose centre is uniform over the image (clipped at the border)."""
    m, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (m, 1), generator=generator, device=x.device) - ch // 2
    ox = torch.randint(0, w + (1 - cw % 2), (m, 1), generator=generator, device=x.device) - cw // 2
    r, c = torch.arange(h, device=x.device)[None, :], torch.arange(w, device=x.device)[None, :]
    hole = ((r >= oy) & (r < oy + ch))[:, :, None] & ((c >= ox) & (c < ox + cw))[:, None, :]
    return x * (~hole)[:, None].to(x.dtype)


OPERATIONS = {"color": color, "translation": translation, "cutout": cutout}


def augment(x: torch.Tensor, policies: tuple[str, ...], p: float, generator: torch.Generator) -> torch.Tensor:
    """T(x): each policy in turn applied to each image with probability p (one Bernoulli(p) per image and policy,
    drawn before the policy's own parameters; every draw is made whatever p is, so the stream advances the same)."""
    for name in policies:
        apply = torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device) < p
        x = torch.where(apply, OPERATIONS[name](x, generator), x)
    return x


class Augmentation:
    """The augmentation of one run: its policies, p, and (with a target) ADA's running statistic."""

    def __init__(self, policies: tuple[str, ...], p: float, target: float, batch_size: int):
        self.policies, self.target, self.batch_size = policies, target, batch_size
        self.p = 0.0 if target > 0 else p
        self._signs = 0.0  # Σ r over the pending D steps
        self._pending = 0

    @classmethod
    def of(cls, cfg) -> "Augmentation | None":
        policies = parse_policies(cfg.augment)
        return cls(policies, cfg.augment_p, cfg.ada_target, cfg.batch_size) if policies else None

    @property
    def adaptive(self) -> bool:
        return self.target > 0

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return augment(x, self.policies, self.p, generator)

    def observe(self, sign: torch.Tensor) -> None:
        """One D step's r = E sign(decision on reals); every ADA_INTERVAL steps p moves by ±ADA_INTERVAL·m/ADA_IMAGES
        towards making r = target."""
        if not self.adaptive:
            return
        self._signs += float(sign)
        self._pending += 1
        if self._pending == ADA_INTERVAL:
            r = self._signs / ADA_INTERVAL
            step = (1.0 if r > self.target else -1.0 if r < self.target else 0.0) * ADA_INTERVAL * self.batch_size
            self.p = min(1.0, max(0.0, self.p + step / ADA_IMAGES))
            self._signs, self._pending = 0.0, 0

    def state(self) -> torch.Tensor:
        """[p, Σ r pending, pending steps] (float64), for the checkpoint."""
        return torch.tensor([self.p, self._signs, float(self._pending)], dtype=torch.float64)

    def load_state(self, state: torch.Tensor) -> None:
        p, signs, pending = state.tolist()
        if not (0.0 <= p <= 1.0 and 0 <= pending < ADA_INTERVAL and pending == int(pending)):
            raise ValueError(f"augmentation state {state.tolist()} is out of range")
        self.p, self._signs, self._pending = p, signs, int(pending)
