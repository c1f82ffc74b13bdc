r"""The game: Algorithm 1 of Goodfellow et al. (2014), one iteration at a time.

    for number of training iterations do
        for k steps do
            • sample a minibatch {z_1..z_m} from the noise prior p_z
            • sample a minibatch {x_1..x_m} from the data distribution
            • update D by ascending  ∇_θd (1/m) Σ [log D(x_i) + log(1 - D(G(z_i)))]
        • sample a fresh minibatch {z_1..z_m} from p_z
        • update G by descending ∇_θg (1/m) Σ log(1 - D(G(z_i)))     ("saturating")
          or, as the paper recommends in §3, ascending log D(G(z))    ("non-saturating")

Ascending V for D is descending :func:`~minimax.objective.discriminator_loss`.

``update="simultaneous"`` is the cheaper variant: the last D step's G(z) is kept
with its graph and G is updated from it, with D's gradient and G's gradient both
taken at the same point (θ_d, θ_g): one G forward per iteration instead of two.

The hot path never synchronises with the device: the per-iteration statistics
are accumulated in a device tensor and read by :meth:`Game.read_stats` every
``log_every`` iterations; the first non-finite iteration is recorded on the
device as well, so divergence is reported with its exact step.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from . import distributed
from .config import TrainConfig
from .objective import (
    discriminator_loss,
    generator_loss,
    non_saturating_generator_loss,
    saturating_generator_loss,
    total_loss,
    value,
)
from .prior import sample_noise

# Order of the per-iteration statistics accumulated on the device.
STATS = ("value", "value_real", "value_fake", "d_loss", "g_loss", "total_loss", "d_real", "d_fake")


def make_optimizer(params, cfg: TrainConfig, lr: float) -> torch.optim.Optimizer:
    """Adam(lr, (β1, β2)) or SGD(lr, momentum), with the fused kernels (one pass over memory
    for the whole update; 8x faster than the default for Adam on a CPU) where the build has
    them, else the multi-tensor ``foreach`` ones. Same update rule either way."""
    params = list(params)
    make = (lambda **k: torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), **k)) \
        if cfg.optimizer == "adam" else (lambda **k: torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, **k))
    try:
        return make(fused=True)
    except (RuntimeError, TypeError, ValueError):
        return make(foreach=True)


def grad_norm(grads) -> torch.Tensor:
    """‖∇‖₂ over all parameter tensors (None entries count as zero)."""
    sq = [g.pow(2).sum() for g in grads if g is not None]
    return torch.stack(sq).sum().sqrt() if sq else torch.zeros(())


class Game:
    """The two players, their optimisers, and the random streams of one training run.

    Three independent random streams make a run reproducible and exactly resumable:
    ``data_rng`` (which minibatches), ``noise_rng`` (which z), and the game's own copy
    of torch's global stream (dropout), swapped in only while the game plays, so
    nothing else in the process can perturb a run.
    """

    def __init__(self, cfg: TrainConfig, data, generator: nn.Module, discriminator: nn.Module,
                 device: torch.device):
        self.cfg, self.data, self.device = cfg, data, device
        self.G, self.D = generator.to(device), discriminator.to(device)
        # convolutional players run in NHWC (channels_last), the layout the conv kernels prefer
        self.channels_last = any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in self.D.modules())
        if self.channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        self.opt_g = make_optimizer(self.G.parameters(), cfg, cfg.g_lr or cfg.lr)
        self.opt_d = make_optimizer(self.D.parameters(), cfg, cfg.d_lr or cfg.lr)
        # the callables used for training: compiled if asked; self.G / self.D stay the plain modules
        self.g_fwd = torch.compile(self.G) if cfg.compile == "on" else self.G
        self.d_fwd = torch.compile(self.D) if cfg.compile == "on" else self.D
        # D(cat(x, G(z))) in one forward is the same math as two forwards unless D couples the
        # samples of a batch (BatchNorm); then real and fake go through D separately.
        self.d_joint = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.D.modules())
        self.g_params = [p for p in self.G.parameters() if p.requires_grad]
        self.d_params = [p for p in self.D.parameters() if p.requires_grad]
        # data-parallel play (distributed.py): every process draws its own minibatches from its own
        # streams, and gradients are averaged before each step; rank 0's streams are the 1-process ones
        self.ctx = distributed.current()
        rank_seed = cfg.seed * 1000 + 1_000_003 * self.ctx.rank
        # the data sampler's stream lives with the data tensor (on the device for images)
        data_dev = getattr(data, "device", torch.device("cpu"))
        self.data_rng = torch.Generator(device=data_dev).manual_seed(rank_seed + 1)
        self.noise_rng = torch.Generator(device=device).manual_seed(rank_seed + 2)
        self.global_rng_state = self._capture_global_rng()
        if self.ctx.active:
            distributed.broadcast_parameters(self.G)
            distributed.broadcast_parameters(self.D)
            if self.ctx.rank > 0:  # a dropout stream of its own
                cuda = self.global_rng_state[1]
                self.global_rng_state = (torch.Generator().manual_seed(rank_seed + 3).get_state(), cuda)
        # a weight average of G (Yazıcı et al. 2019), exponential and/or uniform from an iteration on
        # (update_ema); samples and metrics come from the average.
        averaged = cfg.g_ema > 0 or cfg.g_uniform_average_from > 0
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False) if averaged else None
        if self.G_ema is not None:  # the tensor lists update_ema walks, made once
            self._ema_avg, self._ema_src = list(self.G_ema.parameters()), list(self.G.parameters())
            self._ema_buffers = list(zip(self.G_ema.buffers(), self.G.buffers()))
        self.step = 0  # completed iterations
        self.lr_scale = 1.0  # lowered by divergence roll-backs
        self.reset_stats()

    # -- sampling --------------------------------------------------------------------------
    def noise(self, m: int) -> torch.Tensor:
        return sample_noise(m, self.cfg.latent_dim, self.cfg.prior, self.noise_rng, self.device)

    def real(self, m: int) -> torch.Tensor:
        x = self.data.sample(m, self.data_rng, self.device)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    # -- Algorithm 1 -----------------------------------------------------------------------
    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.amp == "bf16")

    def _forward_d(self, through_g: bool):
        """D's logits on fresh x ~ p_data and on G(z), z ~ p_z (with G's graph only if asked)."""
        m = self.cfg.batch_size
        x, z = self.real(m), self.noise(m)
        with self.autocast():
            with torch.set_grad_enabled(through_g):
                fake = self.g_fwd(z)
            if self.d_joint:
                logits = self.d_fwd(torch.cat([x, fake.to(x.dtype)])).float()
                half = len(logits) // 2
                return logits[:half], logits[half:]
            return self.d_fwd(x).float(), self.d_fwd(fake).float()

    def discriminator_step(self):
        """One step of D on fresh minibatches: descend L_D = -V̂ (with label smoothing).

        Returns the (real, fake) logits, detached, for the statistics.
        """
        real_logits, fake_logits = self._forward_d(through_g=False)
        d_loss = discriminator_loss(real_logits, fake_logits, self.cfg.real_label)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward(inputs=self.d_params)
        self._average(self.d_params)
        self.opt_d.step()
        return real_logits.detach(), fake_logits.detach()

    def generator_step(self, diagnose: bool = False):
        """One step of G on fresh noise: descend L_G(D(G(z))), saturating or non-saturating."""
        with self.autocast():
            fake_logits = self.d_fwd(self.g_fwd(self.noise(self.cfg.batch_size))).float()
        return self.update_generator(fake_logits, diagnose)

    def update_generator(self, fake_logits: torch.Tensor, diagnose: bool = False):
        """Descend L_G given D(G(z)) with its graph. Gradients flow into G's parameters only.

        With ``diagnose``, also returns ‖∇_θg L_G‖ under *both* generator losses,
        whichever one trains: the saturation diagnostic of §3.
        """
        g_loss = generator_loss(fake_logits, self.cfg.g_loss)
        norms = None
        if diagnose:
            sat = torch.autograd.grad(saturating_generator_loss(fake_logits), self.g_params, retain_graph=True)
            ns = torch.autograd.grad(non_saturating_generator_loss(fake_logits), self.g_params,
                                     retain_graph=True)
            norms = torch.stack([grad_norm(sat), grad_norm(ns)])
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward(inputs=self.g_params)  # D's weights get no gradient from G's loss
        self._average(self.g_params)
        self.opt_g.step()
        return g_loss.detach(), norms

    def simultaneous_step(self, diagnose: bool = False):
        """D and G both step from one G(z): both gradients are taken at the same (θ_d, θ_g),
        then both players move. One G forward and one D forward on G(z) serve both players."""
        real_logits, fake_logits = self._forward_d(through_g=True)
        d_loss = discriminator_loss(real_logits, fake_logits, self.cfg.real_label)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward(inputs=self.d_params, retain_graph=True)  # ∇_θd, D's weights untouched yet
        g_loss, norms = self.update_generator(fake_logits, diagnose)  # ∇_θg through the same D
        self._average(self.d_params)
        self.opt_d.step()
        return real_logits.detach(), fake_logits.detach(), g_loss, norms

    def _average(self, params) -> None:
        if self.ctx.active:
            distributed.average_gradients(params)

    def _capture_global_rng(self):
        cuda = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        return torch.get_rng_state(), cuda

    @contextmanager
    def own_global_rng(self):
        """Play with this game's copy of torch's global random stream (used by dropout)."""
        outer = self._capture_global_rng()
        torch.set_rng_state(self.global_rng_state[0])
        if self.global_rng_state[1] is not None:
            torch.cuda.set_rng_state(self.global_rng_state[1], self.device)
        try:
            yield
        finally:
            self.global_rng_state = self._capture_global_rng()
            torch.set_rng_state(outer[0])
            if outer[1] is not None:
                torch.cuda.set_rng_state(outer[1], self.device)

    def iteration(self, diagnose: bool = False) -> None:
        """One iteration of Algorithm 1 (k D steps, then one G step); statistics stay on the device."""
        with self.own_global_rng():
            self._iteration(diagnose)

    def _iteration(self, diagnose: bool) -> None:
        if self.cfg.lr_decay == "linear":
            self.set_learning_rate_scale(self.lr_scale * (1.0 - self.step / self.cfg.steps))
        simultaneous = self.cfg.update == "simultaneous"
        for _ in range(self.cfg.k - 1 if simultaneous else self.cfg.k):
            real_logits, fake_logits = self.discriminator_step()
        if simultaneous:
            real_logits, fake_logits, g_loss, norms = self.simultaneous_step(diagnose)
        else:
            g_loss, norms = self.generator_step(diagnose)
        self.step += 1
        if self.G_ema is not None:
            self.update_ema()
        with torch.no_grad():
            stats = torch.stack([
                value(real_logits, fake_logits),
                -F.softplus(-real_logits).mean(),  # E log D(x)
                -F.softplus(fake_logits).mean(),  # E log(1 - D(G(z)))
                discriminator_loss(real_logits, fake_logits, self.cfg.real_label),
                g_loss,
                total_loss(real_logits, fake_logits, self.cfg.real_label),
                torch.sigmoid(real_logits).mean(),
                torch.sigmoid(fake_logits).mean(),
            ])
            self._sum += stats
            self._count += 1
            bad = ~torch.isfinite(stats).all()
            self._first_bad = torch.where(bad & (self._first_bad < 0), self.step, self._first_bad)
            if norms is not None:
                self._norms = norms

    @torch.no_grad()
    def update_ema(self) -> None:
        r"""After the t-th G step (t = 1, 2, ...), θ̄ ← θ̄ + w_t (θ - θ̄) with

            w_t = 1 / (t - t₀ + 1)     for t ≥ t₀ = g_uniform_average_from > 0: the uniform
                                       (Polyak-Ruppert) average θ̄_t = (1 / (t - t₀ + 1)) Σ_{s=t₀..t} θ_s
            w_t = 1 - β_t              otherwise, β_t = min(β, (1 + t) / (10 + t)), β = g_ema: the
                                       exponential average with TensorFlow's warm-up (early averages
                                       are not dominated by the initial weights; β = 0: θ̄ = θ)

        G's buffers (BatchNorm running statistics) are copied as they are."""
        t0 = self.cfg.g_uniform_average_from
        if t0 > 0 and self.step >= t0:
            weight = 1.0 / (self.step - t0 + 1)
        else:
            weight = 1.0 - min(self.cfg.g_ema, (1 + self.step) / (10 + self.step))
        torch._foreach_lerp_(self._ema_avg, self._ema_src, weight)
        for b_avg, b in self._ema_buffers:
            b_avg.copy_(b)

    @property
    def sampler(self) -> nn.Module:
        """The generator that samples are drawn from: the weight average when there is one."""
        return self.G_ema if self.G_ema is not None else self.G

    # -- diagnostics -----------------------------------------------------------------------
    def reset_stats(self) -> None:
        self._sum = torch.zeros(len(STATS), device=self.device, dtype=torch.float64)
        self._count = 0
        self._first_bad = torch.full((), -1, device=self.device, dtype=torch.long)
        self._norms = None

    def stats_state(self) -> tuple[dict[str, torch.Tensor], int]:
        """The statistics accumulated since the last read, for a checkpoint."""
        tensors = {"sum": self._sum, "first_bad": self._first_bad}
        if self._norms is not None:
            tensors["norms"] = self._norms
        return tensors, self._count

    def load_stats_state(self, tensors: dict[str, torch.Tensor], count: int) -> None:
        self._sum = tensors["sum"].to(self.device)
        self._first_bad = tensors["first_bad"].to(self.device)
        self._norms = tensors["norms"].to(self.device) if "norms" in tensors else None
        self._count = int(count)

    def read_stats(self) -> dict:
        """Means of the statistics since the last read (one host synchronisation), then reset.
        With several processes: means over every process's minibatches (one all_reduce)."""
        if self.ctx.active:
            never = torch.iinfo(torch.long).max
            first_bad = distributed.min_(torch.where(self._first_bad < 0, never, self._first_bad))
            self._first_bad = torch.where(first_bad == never, -1, first_bad)
            distributed.mean_(self._sum)
            if self._norms is not None:
                distributed.mean_(self._norms)
        means = (self._sum / max(self._count, 1)).tolist()
        out = {"step": self.step, **dict(zip(STATS, means))}
        if self._norms is not None:
            out["g_grad_norm_saturating"], out["g_grad_norm_non_saturating"] = self._norms.tolist()
        out["first_nonfinite_step"] = int(self._first_bad)
        self.reset_stats()
        return out

    def parameters_finite(self) -> bool:
        return bool(torch.stack([p.isfinite().all() for p in self.g_params + self.d_params]).all())

    @torch.no_grad()
    def generate(self, n: int, seed: int, batch: int = 4096) -> torch.Tensor:
        """n samples G(z) in data space from a *separate* noise stream, so evaluation
        never perturbs training. G is put in eval mode (BatchNorm running stats) meanwhile."""
        rng = torch.Generator(device=self.device).manual_seed(seed)
        G = self.sampler
        was_training = G.training
        G.eval()
        try:
            out = [G(sample_noise(min(batch, n - i), self.cfg.latent_dim, self.cfg.prior, rng, self.device))
                   for i in range(0, n, batch)]
        finally:
            G.train(was_training)
        return self.data.to_data_space(torch.cat(out)) if out else torch.empty(0)

    @torch.no_grad()
    def discriminator_probability(self, x: torch.Tensor) -> torch.Tensor:
        """D(x) = σ(l(x)) for points given in data space (eval mode)."""
        was_training = self.D.training
        self.D.eval()
        try:
            return torch.sigmoid(self.D(x.to(self.device)))
        finally:
            self.D.train(was_training)

    # -- state -----------------------------------------------------------------------------
    def set_learning_rate_scale(self, scale: float) -> None:
        """lr = base lr × scale, for both players (the schedule and roll-backs use this)."""
        for opt, base in ((self.opt_g, self.cfg.g_lr or self.cfg.lr), (self.opt_d, self.cfg.d_lr or self.cfg.lr)):
            for group in opt.param_groups:
                group["lr"] = base * scale

