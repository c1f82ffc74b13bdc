"""R3GAN's players: shapes at every size, identity blocks at the start, per-example D, the resamplers, the
parameter count in closed form, and the configuration around them."""
import pytest
import torch
from torch.nn import functional as F

from minimax.config import TrainConfig
from minimax.errors import MinimaxError
from minimax.players.r3gan import (
    DEFAULT_WIDTHS,
    GAIN,
    SIZES,
    R3GANDiscriminator,
    R3GANGenerator,
    ResidualBlock,
    downsample,
    parameter_count,
    upsample,
)

SMALL = {s: tuple([16] * (SIZES[s][1] + 1)) for s in SIZES}  # narrow players for the tests


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("classes", [0, 3])
def test_shapes_at_every_size_and_in_the_conditional_form(size, classes):
    torch.manual_seed(0)
    G = R3GANGenerator(8, 3, size, SMALL[size], blocks=1, classes=classes)
    D = R3GANDiscriminator(3, size, SMALL[size], blocks=1, classes=classes)
    z, c = torch.randn(2, 8), (torch.tensor([0, 2]) if classes else None)
    x = G(z, c)
    assert x.shape == (2, 3, size, size)
    assert D(x, c).shape == (2,)


def test_default_widths_build_and_pack_divides_the_logits():
    G, D = R3GANGenerator(100, 3, 28), R3GANDiscriminator(3, 28, pack=2)
    assert len(DEFAULT_WIDTHS[28]) == 3
    assert D(G(torch.randn(4, 100))).shape == (2,)


def test_every_residual_block_starts_as_the_identity_and_its_branch_gain_is_fixup():
    torch.manual_seed(0)
    block = ResidualBlock(32, blocks=6)
    x = torch.randn(5, 32, 7, 7)
    assert torch.equal(block(x), x)  # W3 = 0: x + 0
    # W1's std is g·L^{-1/4}/sqrt(fan_in) (Fixup, m = 3 layers on the branch)
    expected = GAIN * 6 ** (-1 / 4) / (32 ** 0.5)
    assert block.expand.weight.std().item() == pytest.approx(expected, rel=0.05)
    # ... and the whole G at the start is its transitions and output conv alone: removing the blocks changes nothing
    G = R3GANGenerator(8, 1, 28, (16, 16, 8), blocks=2)
    z = torch.randn(3, 8)
    without = torch.nn.Sequential(*[m for m in G.net if not isinstance(m, ResidualBlock)])
    assert torch.equal(G(z), without(z))


@pytest.mark.parametrize("pack", [1, 2])
def test_d_is_per_example_so_r1_is_a_per_example_gradient(pack):
    """∂D(x)_i/∂x_j = 0 unless x_j is in D's i-th input (the group of ``pack`` samples): no normalisation couples
    the batch; and the R1 penalty's double backward reaches D's weights."""
    torch.manual_seed(0)
    D = R3GANDiscriminator(1, 28, (16, 16, 8), blocks=1, pack=pack)
    x = torch.randn(6, 1, 28, 28, requires_grad=True)
    out = D(x)
    for i in range(len(out)):
        (g,) = torch.autograd.grad(out[i], x, retain_graph=True)
        touched = g.flatten(1).abs().sum(1) > 0
        assert touched.tolist() == [j // pack == i for j in range(6)]
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    g.pow(2).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in D.parameters())


def test_resampling_is_bilinear():
    """×2 up matches bilinear interpolation at half-pixel centres, ×½ down matches antialiased bilinear, away from
    the zero-padded border."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    up = upsample(x)
    ref = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert up.shape == (2, 3, 16, 16)
    torch.testing.assert_close(up[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1])
    y = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    down = downsample(y)
    ref = F.interpolate(y, scale_factor=0.5, mode="bilinear", align_corners=False, antialias=True)
    torch.testing.assert_close(down[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1])
    ones = torch.ones(1, 1, 8, 8)
    assert torch.allclose(upsample(ones)[..., 1:-1, 1:-1], torch.ones(1, 1, 14, 14))  # keeps the mean


@pytest.mark.parametrize("latent,channels,size,widths,blocks,classes", [
    (64, 3, 32, (768, 768, 768, 768), 2, 0),  # R3GAN's CIFAR-10 preset (train.py: 3/4·1024 per stage, 2 blocks)
    (64, 3, 32, (768, 768, 768, 768), 2, 10),  # ... conditional, as trained on CIFAR-10
    (100, 3, 28, (128, 64, 32), 1, 0),  # configs/stacked-mnist-r3gan.toml
    (16, 1, 64, (32, 32, 16, 16, 8), 3, 4),
])
def test_parameter_counts_match_the_closed_form(latent, channels, size, widths, blocks, classes):
    G = R3GANGenerator(latent, channels, size, widths, blocks, classes)
    D = R3GANDiscriminator(channels, size, widths, blocks, classes)
    assert (count(G), count(D)) == parameter_count(latent, channels, size, widths, blocks, classes)


def test_cifar10_preset_size():
    """R3GAN's CIFAR-10 players (widths 768 at 4, 8, 16, 32 px, 2 blocks per stage, groups of 16): about 21M
    parameters each (this implementation's count; docs/players.md states it beside the preset)."""
    g, d = parameter_count(64, 3, 32, (768,) * 4, 2)
    assert (g, d) == (20_732_160, 20_683_776)  # pinned: a change of the players shows here first


def test_configuration_refuses_what_r3gan_cannot_build(tmp_path):
    from test_image_data import write_mnist

    from minimax.run.setup import build_trainer

    data = str(write_mnist(tmp_path / "m"))
    with pytest.raises(MinimaxError, match="3 stages"):
        build_trainer(TrainConfig.resolve(dataset="mnist", data_dir=data, model="r3gan", widths=(64, 32),
                                          out=str(tmp_path / "r")))
    with pytest.raises(MinimaxError, match="multiples of 8"):
        build_trainer(TrainConfig.resolve(dataset="mnist", data_dir=data, model="r3gan", widths=(64, 32, 12),
                                          out=str(tmp_path / "r")))
    with pytest.raises(MinimaxError, match="applies to model r3gan"):
        TrainConfig.resolve(dataset="mnist", model="dcgan", blocks=3)
    trainer = build_trainer(TrainConfig.resolve(dataset="mnist", data_dir=data, model="r3gan", widths=(16, 16, 8),
                                                blocks=1, game="rpgan", r1=1.0, r2=1.0, out=str(tmp_path / "r")))
    trainer.iteration()
    assert trainer.step == 1 and set(p.name for p in trainer.penalties) == {"r1_penalty", "r2_penalty"}
    conditional = build_trainer(TrainConfig.resolve(dataset="mnist", data_dir=data, model="r3gan", widths=(16, 16, 8),
                                                    blocks=1, condition="projection", out=str(tmp_path / "c")))
    conditional.iteration()
    assert conditional.G.classes == 10 and conditional.D.classes == 10


@pytest.mark.parametrize("settings", [dict(model="dcgan", dataset="mnist"), dict(model="veegan",
                                                                                 dataset="stacked-mnist")])
@pytest.mark.parametrize("penalty", ["r1", "r2"])
def test_r1_r2_with_a_batch_normalised_d_are_refused(settings, penalty):
    with pytest.raises(MinimaxError, match="per example") as e:
        TrainConfig.resolve(**settings, **{penalty: 1.0})
    assert "\n" not in str(e.value)
    TrainConfig.resolve(model="dcgan", dataset="mnist", d_norm="none", **{penalty: 1.0})  # the per-example D is fine
    TrainConfig.resolve(model="r3gan", dataset="mnist", **{penalty: 1.0})


def test_r3gan_players_default_to_the_batch_a_cpu_holds():
    """R3GAN's players take batch 64 from their model preset (the default 256 needs ~29 GiB at 32 px), under the
    user's choice; --print-config says where it came from."""
    cfg = TrainConfig(dataset="cifar10", model="r3gan")
    assert cfg.batch_size == 64 and cfg.sources["batch_size"] == "model preset (r3gan)"
    assert TrainConfig(dataset="cifar10", model="r3gan", batch_size=256).batch_size == 256
