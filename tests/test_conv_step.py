"""benchmarks/conv_step.py counts an iteration's FLOPs from the products torch runs: checked here against the count
written from the layers' shapes (a convolution's forward, its input gradient and its weight gradient each cost
2·N·C_out·H_out·W_out·(C_in/groups)·k_h·k_w), and its replay of those products runs them all."""
import importlib.util
from pathlib import Path

import torch
from torch import nn

_spec = importlib.util.spec_from_file_location(
    "conv_step", Path(__file__).resolve().parent.parent / "benchmarks" / "conv_step.py")
conv_step = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(conv_step)


def layer_flops(module: nn.Module, x: torch.Tensor) -> list[int]:
    """Each convolution's forward FLOPs on input x, from its shapes, in the order the input meets them."""
    out = []

    def hook(m, inputs, output):
        if isinstance(m, nn.ConvTranspose2d):  # every input pixel meets every kernel tap of every output channel
            n, c_in, h, w = inputs[0].shape
            out.append(2 * n * c_in * h * w * m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups)
        elif isinstance(m, nn.Conv2d):
            n, c_out, h, w = output.shape
            out.append(2 * n * c_out * h * w * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    with torch.no_grad():
        module(x)
    for h in handles:
        h.remove()
    return out


def test_an_iteration_of_the_2014_game_costs_what_its_layers_say():
    trainer = conv_step.trainer_for("dcgan-28", batch_size=8)
    m = trainer.cfg.batch_size
    g = layer_flops(trainer.G, torch.randn(m, trainer.cfg.latent_dim))
    d = layer_flops(trainer.D, trainer.real(m))
    G, D = sum(g), sum(d)
    # D step (BatchNorm in D: two forwards): G(z) without a graph, D on x and on G(z), then for both halves the
    # weight gradients of every layer and the input gradients of all but D's first layer (x and G(z) need none).
    d_step = G + 2 * D + 2 * D + 2 * (D - d[0])
    # G step: G(z), D(G(z)), D's input gradients (all layers: G(z) needs one; no weight gradients for D), G's
    # weight gradients and its input gradients but for the first layer (z needs none)
    g_step = G + D + D + G + (G - g[0])
    flops, calls = conv_step.count(trainer)
    assert flops == d_step + g_step
    assert {c[0].overloadpacket.__name__ for c in calls} == {"convolution", "convolution_backward"}


def test_the_replay_runs_every_recorded_product():
    trainer = conv_step.trainer_for("dcgan-28", batch_size=4)
    _, calls = conv_step.count(trainer)
    assert conv_step.replay_seconds(calls, min_seconds=0.0) > 0
    step = conv_step.plain_loop(trainer)
    before = [p.clone() for p in trainer.G.parameters()]
    step()
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters()))
