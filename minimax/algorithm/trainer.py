r"""The game: Algorithm 1 of Goodfellow et al. (2014), one iteration at a time.

    for number of training iterations do
        for k steps do
            • sample a minibatch {z_1..z_m} from the noise prior p_z
            • sample a minibatch {x_1..x_m} from the data distribution
            • update D by ascending  ∇_θd (1/m) Σ [log D(x_i) + log(1 - D(G(z_i)))]
        • sample a fresh minibatch {z_1..z_m} from p_z
        • update G by descending ∇_θg (1/m) Σ log(1 - D(G(z_i)))     ("saturating")
          or, as the paper recommends in §3, ascending log D(G(z))    ("non-saturating")

D descends the game's L_D (:mod:`minimax.games`; the 2014 game's is −V̂) plus its penalties (games.regularizers;
R1 and R2 lazily, on every ``reg_every``-th iteration with their weight times ``reg_every``).
With ``augment``, D sees T(x) and T(G(z)) in both steps (:mod:`.augment`; the penalties are taken at D's inputs).
The conditional game (§7) draws a label c beside every sample (the D step conditions G(z) on the data's labels,
the G step draws fresh c ~ p_data(c)). ``update="simultaneous"``: G steps from the last D step's G(z).
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..data.prior import sample_noise
from ..games import GameObjective, make_objective
from ..games.regularizers import penalties
from . import distributed, speed
from .augment import Augmentation
from .averaging import WeightAverage
from .optim import base_lr, grad_norm, make_optimizer, schedule, set_learning_rate
from .stats import IterationStats
from .streams import RandomStreams

if TYPE_CHECKING:
    from ..config import TrainConfig


class Trainer:
    """The two players, their optimisers, the objective and the random streams of one training run."""

    def __init__(self, cfg: TrainConfig, data, generator: nn.Module, discriminator: nn.Module,
                 device: torch.device, objective: GameObjective | None = None):
        self.cfg, self.data, self.device = cfg, data, device
        self.conditional = cfg.condition != "none"
        self.objective = objective or make_objective(cfg.game, **cfg.game_options)
        self.penalties = penalties(self.objective, cfg.r1, cfg.r2)
        self._penalty_values = None  # the last D step's (and which it measured: lazy ones), for the statistics
        self._penalties_measured = None
        self.G, self.D = generator.to(device), discriminator.to(device)
        self.channels_last = speed.use_channels_last(self.G, self.D)
        self.g_fwd, self.d_fwd = speed.forward_fn(self.G, cfg.compile), speed.forward_fn(self.D, cfg.compile)
        self.d_joint = not speed.couples_batch(self.D)
        self.g_params = [p for p in self.G.parameters() if p.requires_grad]
        self.d_params = [p for p in self.D.parameters() if p.requires_grad]
        self.opt_g = make_optimizer(self.G.parameters(), cfg, base_lr(cfg, "g"))
        self.opt_d = make_optimizer(self.D.parameters(), cfg, base_lr(cfg, "d"))
        self.ctx = distributed.current()  # data-parallel play: every process draws its own minibatches
        self.streams = RandomStreams(cfg.seed, self.ctx.rank, device, getattr(data, "device", torch.device("cpu")))
        if self.ctx.active:  # every process starts from rank 0's players
            distributed.broadcast_parameters(self.G, self.D)
        self.G_average = WeightAverage.kept_by(self.G, cfg, self.ctx.world)
        self.augmentation = Augmentation.of(cfg)  # T before D (DiffAugment; ADA's adaptive p), or None
        self.adaptive = self.augmentation is not None and self.augmentation.adaptive
        names = self.objective.statistics_names + tuple(p.name for p in self.penalties) + \
            (("augment_p",) if self.adaptive else ())
        lazy = tuple(p.name for p in self.penalties if p.lazy) if cfg.reg_every > 1 else ()
        self.stats = IterationStats(names, self.objective.diagnostic_names, device, sparse=lazy)
        self.step = 0  # completed iterations
        self.lr_scale = 1.0  # lowered by divergence roll-backs
        self.steered: list[dict] = []  # the steering events taken so far (minimax.algorithm.steering), in order
        self.settings: dict = {}  # k, g_lr, d_lr as steering last set them (over cfg's)

    @property
    def k(self) -> int:
        """D steps per iteration: the config's k, or the one steering set."""
        return self.settings.get("k", self.cfg.k)

    def base_lr(self, player: str) -> float:
        """A player's learning rate before the schedule and roll-backs: as steering set it, else the config's."""
        return self.settings.get(f"{player}_lr") or base_lr(self.cfg, player)

    def schedule_factor(self) -> float:
        """The learning-rate schedule's factor before the next iteration."""
        return schedule(self.cfg.lr_decay, self.step, self.cfg.steps)

    def noise(self, m: int) -> torch.Tensor:
        """m samples z ~ p_z from the noise stream."""
        return sample_noise(m, self.cfg.latent_dim, self.cfg.prior, self.streams.noise, self.device)

    def real(self, m: int) -> torch.Tensor:
        """m samples x ~ p_data from the data stream."""
        return self._layout(self.data.sample(m, self.streams.data, self.device))

    def real_labelled(self, m: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(x, c): m samples x ~ p_data and, in the conditional game, their labels (else None)."""
        if not self.conditional:
            return self.real(m), None
        x, c = self.data.sample_labelled(m, self.streams.data, self.device)
        return self._layout(x), c

    def _layout(self, x: torch.Tensor) -> torch.Tensor:  # the players' memory layout
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def labels(self, m: int) -> torch.Tensor | None:
        """m labels c ~ p_data(c) from the noise stream (conditional game; else None)."""
        return self.data.sample_labels(m, self.streams.noise) if self.conditional else None

    def _g(self, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:  # G(z), or G(z, c)
        return self.g_fwd(z) if c is None else self.g_fwd(z, c)

    def _d(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:  # D(x), or D(x, c)
        return self.d_fwd(x) if c is None else self.d_fwd(x, c)

    def _t(self, x: torch.Tensor) -> torch.Tensor:  # T(x), D's input: x itself without augmentation
        return x if self.augmentation is None else self.augmentation(x, self.streams.noise)

    # -- Algorithm 1 -----------------------------------------------------------------------
    def iteration(self, diagnose: bool = False) -> None:
        """One iteration of Algorithm 1 (k D steps, then one G step); statistics stay on the device.
        With ``diagnose``, also measures ‖∇_θg L_G‖ under every diagnostic generator loss."""
        with self.streams.own_global():
            if self.cfg.lr_decay != "none":  # a constant rate is set once, not every iteration
                self.set_learning_rate_scale(self.lr_scale * self.schedule_factor())
            simultaneous = self.cfg.update == "simultaneous"
            for _ in range(self.k - 1 if simultaneous else self.k):
                real_logits, fake_logits = self.discriminator_step()
            if simultaneous:
                real_logits, fake_logits, g_loss, norms = self.simultaneous_step(diagnose)
            else:
                g_loss, norms = self.generator_step(diagnose)
            self.step += 1
            if self.G_average is not None:
                self.G_average.update(self.step)
            with torch.no_grad():  # the game's statistics, then each penalty's value (and the augmentation's p)
                stats = self.objective.statistics(real_logits, fake_logits, g_loss)
                more = [self._penalty_values] if self.penalties else []
                if self.adaptive:
                    more.append(torch.tensor([self.augmentation.p], dtype=stats.dtype, device=stats.device))
                measured = None
                if self.stats.sparse:  # which statistics this iteration measured: all but the lazy penalties not due
                    measured = torch.ones(len(self.stats.names), dtype=torch.bool, device=stats.device)
                    measured[len(stats):len(stats) + len(self.penalties)] = self._penalties_measured
                self.stats.add(torch.cat([stats, *more]) if more else stats, self.step, norms, measured)

    def autocast(self):  # bf16 autocast with --amp bf16
        return speed.autocast(self.device, self.cfg.amp)

    def _forward_d(self, through_g: bool):
        """D's logits on fresh x ~ p_data and on G(z), z ~ p_z (with G's graph only if asked), and D's inputs
        x, G(z) (each through T when augmenting) and the labels c of both (None when unconditional)."""
        m = self.cfg.batch_size
        (x, c), z = self.real_labelled(m), self.noise(m)
        with self.autocast():
            with torch.set_grad_enabled(through_g):
                fake = self._g(z, c)
            x, fake = self._t(x), self._t(fake)
            if self.d_joint:
                return *speed.joint_logits(self._d, x, fake, c), x, fake, c
            return self._d(x, c).float(), self._d(fake, c).float(), x, fake, c

    def _discriminator_loss(self, real_logits, fake_logits, x, fake, c) -> torch.Tensor:
        """The game's L_D plus each penalty due at this iteration times its coefficient (a lazy one, on every
        ``reg_every``-th iteration, times ``reg_every`` too); the penalties' values are kept for the statistics. A
        penalty draws its randomness from the noise stream."""
        loss = self.objective.discriminator_loss(real_logits, fake_logits)
        if self.penalties:
            D = self.D if c is None else functools.partial(self.D, c=c)  # real and fake share the labels c
            every = self.cfg.reg_every
            due = [not p.lazy or self.step % every == 0 for p in self.penalties]
            taken = [p for p, d in zip(self.penalties, due) if d]
            values = torch.stack([p(D, x, fake, self.streams.noise) for p in taken]) if taken else None
            if taken:
                loss = loss + sum(p.coefficient * (every if p.lazy else 1) * v for p, v in zip(taken, values))
            if len(taken) < len(due):  # the lazy penalties not due: 0 in the statistics, marked not measured
                full = torch.zeros(len(due), device=real_logits.device)
                if taken:
                    full[[i for i, d in enumerate(due) if d]] = values.detach().float()
                values = full
            self._penalty_values = values.detach()
            if self.stats.sparse:
                self._penalties_measured = torch.tensor(due, device=real_logits.device)
        return loss

    def discriminator_step(self):
        """One step of D on fresh minibatches: descend L_D. Returns the (real, fake) logits, detached."""
        real_logits, fake_logits, *batch = self._forward_d(through_g=False)
        d_loss = self._discriminator_loss(real_logits, fake_logits, *batch)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward(inputs=self.d_params)
        self._average(self.d_params)
        self.opt_d.step()
        self._observe(real_logits, fake_logits)
        return real_logits.detach(), fake_logits.detach()

    def _observe(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> None:
        """ADA: hand the D step's decision on real images to the adaptive p."""
        if self.adaptive:
            with torch.no_grad():
                sign = self.objective.real_sign(real_logits, fake_logits).double()
                if self.ctx.active:  # every process's minibatch, so that p stays the same on every process
                    distributed.mean_(sign)
                self.augmentation.observe(sign)

    def generator_step(self, diagnose: bool = False):
        """One step of G on fresh noise (and fresh labels): descend L_G(D(G(z))). A game whose L_G pairs each
        G(z_i) with a real x_i (rpgan) gets a fresh real minibatch, its labels for G, and D(x) without a graph."""
        m, sees_real = self.cfg.batch_size, self.objective.generator_sees_real
        if sees_real:
            (x, c), z = self.real_labelled(m), self.noise(m)
        else:
            z, c = self.noise(m), self.labels(m)
        real_logits = None
        with self.autocast():
            fake_logits = self._d(self._t(self._g(z, c)), c).float()
            if sees_real:
                with torch.no_grad():
                    real_logits = self._d(self._t(x), c).float()
        return self.update_generator(fake_logits, diagnose, real_logits)

    def update_generator(self, fake_logits: torch.Tensor, diagnose: bool = False,
                         real_logits: torch.Tensor | None = None):
        """Descend L_G given D(G(z)) with its graph (and D(x), for a game whose L_G needs it); gradients flow into
        G's parameters only. With ``diagnose``, also ‖∇_θg L‖ for each of the game's diagnostic losses (2014
        game: both G losses, whichever trains: §3)."""
        real = (real_logits.detach(),) if self.objective.generator_sees_real else ()
        g_loss = self.objective.generator_loss(fake_logits, *real)
        norms = None
        if diagnose:
            norms = torch.stack([grad_norm(torch.autograd.grad(loss, self.g_params, retain_graph=True))
                                 for loss in self.objective.diagnostic_losses(fake_logits, *real)])
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward(inputs=self.g_params)  # D's weights get no gradient from G's loss
        self._average(self.g_params)
        self.opt_g.step()
        return g_loss.detach(), norms

    def simultaneous_step(self, diagnose: bool = False):
        """D and G both step from one G(z): both gradients are taken at the same (θ_d, θ_g), then both players
        move. One G forward and one D forward on G(z) serve both players."""
        real_logits, fake_logits, *batch = self._forward_d(through_g=True)
        d_loss = self._discriminator_loss(real_logits, fake_logits, *batch)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward(inputs=self.d_params, retain_graph=True)  # ∇_θd, D's weights untouched yet
        g_loss, norms = self.update_generator(fake_logits, diagnose, real_logits)  # ∇_θg through the same D
        self._average(self.d_params)
        self.opt_d.step()
        self._observe(real_logits, fake_logits)
        return real_logits.detach(), fake_logits.detach(), g_loss, norms

    def _average(self, params) -> None:  # data-parallel play: the gradients' mean over the processes
        if self.ctx.active:
            distributed.average_gradients(params)

    def set_learning_rate_scale(self, scale: float) -> None:
        """lr = base lr × scale, for both players (the schedule and roll-backs use this)."""
        set_learning_rate(self.opt_g, self.base_lr("g") * scale)
        set_learning_rate(self.opt_d, self.base_lr("d") * scale)

    @property
    def sampler(self) -> nn.Module:
        """The generator that samples are drawn from: the weight average of G when there is one."""
        return self.G_average.module if self.G_average is not None else self.G

    def read_stats(self) -> dict:  # the statistics since the last read (IterationStats.read), then reset
        return self.stats.read(self.step)
