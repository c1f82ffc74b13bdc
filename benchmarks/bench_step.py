"""Iterations/s of minimax against the plain training loop tutorials write, same models, same math.

The model is the MLP GAN of PyTorch-GAN's widely copied ``gan.py``: latent 100,
G 100-128-256-512-1024-784 (LeakyReLU 0.2, BatchNorm1d(eps=0.8) after every hidden layer
but the first, tanh), D 784-512-256-1 (LeakyReLU 0.2), batch 64, Adam(2e-4, (0.5, 0.999)),
MNIST-shaped data in [-1, 1].

(a) plain: the tutorial's loop: a DataLoader over a TensorDataset, sigmoid + BCELoss,
    G step then D step on the same gen_imgs (detached), ``.item()`` every step.
(b) minimax: ``Trainer`` with ``update="simultaneous"``: the same update (both players'
    gradients at the same point, from one G(z)), from logits with softplus.

The tutorial's D loss is (real + fake)/2; minimax's is real + fake. Adam is invariant to
a constant factor on the loss (up to its ε = 1e-8), so the two runs make the same updates.

The two are timed in alternating blocks in one process, so machine noise hits both alike.
FLOPs per iteration are counted from the layer shapes (2·m·in·out per Linear forward, twice
that for its backward) and compared with this CPU's fp32 GEMM throughput measured in the same run.

    python benchmarks/bench_step.py [--data-dir ../shared/data/mnist] [--blocks 5] [--iters 100]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minimax.algorithm.trainer import Trainer  # noqa: E402
from minimax.config import TrainConfig  # noqa: E402
from minimax.data.images import ImageData, load_idx_split  # noqa: E402

LATENT, BATCH, IMG = 100, 64, (1, 28, 28)
G_WIDTHS = [LATENT, 128, 256, 512, 1024, 784]
D_WIDTHS = [784, 512, 256, 1]


class TutorialGenerator(nn.Module):
    def __init__(self):
        super().__init__()

        def block(i, o, normalize=True):
            layers = [nn.Linear(i, o)]
            if normalize:
                layers.append(nn.BatchNorm1d(o, 0.8))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(*block(LATENT, 128, normalize=False), *block(128, 256), *block(256, 512),
                                   *block(512, 1024), nn.Linear(1024, 784), nn.Tanh())

    def forward(self, z):
        return self.model(z).view(z.shape[0], *IMG)


class TutorialDiscriminator(nn.Module):
    """The tutorial's D; ``probability=False`` drops the final sigmoid so it returns logits."""

    def __init__(self, probability: bool):
        super().__init__()
        layers = [nn.Linear(784, 512), nn.LeakyReLU(0.2, inplace=True), nn.Linear(512, 256),
                  nn.LeakyReLU(0.2, inplace=True), nn.Linear(256, 1)]
        if probability:
            layers.append(nn.Sigmoid())
        self.model = nn.Sequential(*layers)

    def forward(self, img):
        out = self.model(img.view(img.shape[0], -1))
        return out if out.shape[1:] == (1,) and isinstance(self.model[-1], nn.Sigmoid) else out.squeeze(1)


def load_images(data_dir: str | None) -> torch.Tensor:
    if data_dir and Path(data_dir).is_dir():
        images, _ = load_idx_split(data_dir, "train")
        return torch.from_numpy(images.copy()).unsqueeze(1)
    return torch.randint(0, 256, (60000, *IMG), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


# ------------------------------------------------------------------------------------------------
# (a) the plain loop, as the tutorial writes it
class PlainLoop:
    def __init__(self, images: torch.Tensor, seed: int = 0):
        torch.manual_seed(seed)
        self.G, self.D = TutorialGenerator(), TutorialDiscriminator(probability=True)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.loss = nn.BCELoss()
        data = images.float().div(255).sub(0.5).div(0.5)  # transforms.Normalize([0.5], [0.5])
        ds = torch.utils.data.TensorDataset(data, torch.zeros(len(data)))
        self.loader = torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True, drop_last=True)
        self.it = iter(self.loader)
        self.log = []

    def step(self):
        try:
            imgs, _ = next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            imgs, _ = next(self.it)
        valid = torch.ones(imgs.size(0), 1)
        fake = torch.zeros(imgs.size(0), 1)
        self.opt_G.zero_grad()
        z = torch.randn(imgs.shape[0], LATENT)
        gen_imgs = self.G(z)
        g_loss = self.loss(self.D(gen_imgs), valid)
        g_loss.backward()
        self.opt_G.step()
        self.opt_D.zero_grad()
        real_loss = self.loss(self.D(imgs), valid)
        fake_loss = self.loss(self.D(gen_imgs.detach()), fake)
        d_loss = (real_loss + fake_loss) / 2
        d_loss.backward()
        self.opt_D.step()
        self.log.append((d_loss.item(), g_loss.item()))


# ------------------------------------------------------------------------------------------------
# (b) minimax
def minimax_game(images: torch.Tensor, seed: int = 0, compile: bool = False, amp: str = "off") -> Trainer:
    cfg = TrainConfig(dataset="mnist", model="mlp", latent_dim=LATENT, batch_size=BATCH, update="simultaneous",
                      lr=2e-4, beta1=0.5, beta2=0.999, device="cpu", seed=seed, compile="on" if compile else "off",
                      amp=amp)
    torch.manual_seed(seed)
    data = ImageData("mnist", images, "cpu", "tanh")
    return Trainer(cfg, data, TutorialGenerator(), TutorialDiscriminator(probability=False), torch.device("cpu"))


# ------------------------------------------------------------------------------------------------
def linear_flops(widths: list[int], m: int) -> int:
    return sum(2 * m * i * o for i, o in zip(widths, widths[1:]))


def flops_per_iteration() -> dict:
    """Forward FLOPs of the Linear layers; a backward costs 2x its forward (input and weight grads).
    Counted for the minimax (simultaneous) iteration: G fwd + bwd, D fwd on real and fake, D bwd for
    L_D (both halves), D input-gradient pass for L_G (half a backward)."""
    g, d = linear_flops(G_WIDTHS, BATCH), linear_flops(D_WIDTHS, BATCH)
    minimax = 3 * g + 2 * d + 2 * (2 * d) + d
    plain = 3 * g + 3 * d + 2 * d + 2 * (2 * d)  # D fwd x3; bwd through D for L_G (full) and for L_D
    return {"minimax": minimax, "plain": plain}


def gemm_gflops(n: int = 1024, reps: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def timed(step, iters: int) -> float:
    t = time.perf_counter()
    for _ in range(iters):
        step()
    return iters / (time.perf_counter() - t)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                                                      "mnist"))
    p.add_argument("--blocks", type=int, default=5)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--compile", action="store_true", help="also time minimax with --compile on")
    p.add_argument("--bf16", action="store_true", help="also time minimax with --amp bf16 (not the same math)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()

    images = load_images(args.data_dir)
    plain, game = PlainLoop(images), minimax_game(images)
    runners = {"plain": plain.step, "minimax": game.iteration}
    if args.compile:
        runners["minimax+compile"] = minimax_game(images, compile=True).iteration
    if args.bf16:
        runners["minimax+bf16"] = minimax_game(images, amp="bf16").iteration
    for step in runners.values():
        for _ in range(args.warmup):
            step()
    rates = {k: [] for k in runners}
    for _ in range(args.blocks):  # interleaved blocks
        for name, step in runners.items():
            rates[name].append(timed(step, args.iters))
    game.read_stats()  # the one host sync minimax does per log interval
    peak_gflops = gemm_gflops()
    flops = flops_per_iteration()
    med = {k: float(np.median(v)) for k, v in rates.items()}
    out = {
        "threads": torch.get_num_threads(),
        "iters_per_s": med,
        "ratio_minimax_over_plain": med["minimax"] / med["plain"],
        "gemm_fp32_gflops": peak_gflops,
        "gflop_per_iteration": {k: v / 1e9 for k, v in flops.items()},
        "minimax_gflops": med["minimax"] * flops["minimax"] / 1e9,
        "fraction_of_gemm_peak": med["minimax"] * flops["minimax"] / 1e9 / peak_gflops,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    for k in ("minimax+compile", "minimax+bf16"):
        if k in med:
            out[f"ratio_{k}_over_plain"] = med[k] / med["plain"]
    print(f"threads {out['threads']}, fp32 GEMM {peak_gflops:.0f} GFLOP/s")
    for k, v in rates.items():
        print(f"{k:>16}: {med[k]:8.1f} it/s  (blocks: {', '.join(f'{r:.0f}' for r in v)})")
    for k in med:
        if k != "plain":
            print(f"ratio {k} / plain: {med[k] / med['plain']:.2f}x")
    print(f"minimax: {out['minimax_gflops']:.1f} GFLOP/s = {out['fraction_of_gemm_peak']:.0%} of GEMM peak; "
          f"peak RSS {out['peak_rss_mib']:.0f} MiB")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
