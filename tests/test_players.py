"""The players' architectures as their papers specify them."""
import pytest
import torch

from minimax.players import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    PaperDiscriminator,
    PaperGenerator,
)
from minimax.players.paper import Maxout


def test_paper_generator_shape_range_and_widths():
    G = PaperGenerator()
    widths = [m.out_features for m in G.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [1200, 1200, 784]
    x = G(torch.rand(5, 100) * 2 - 1)
    assert x.shape == (5, 1, 28, 28) and x.min() >= 0 and x.max() <= 1
    assert max(m.weight.abs().max().item() for m in G.modules() if isinstance(m, torch.nn.Linear)) <= 0.05


def test_maxout_is_max_over_pieces():
    m = Maxout(3, units=2, pieces=4)
    x = torch.randn(6, 3)
    pre = m.linear(x).view(6, 2, 4)
    assert torch.equal(m(x), pre.max(dim=2).values)


def test_paper_discriminator_maxout_and_dropout():
    D = PaperDiscriminator()
    maxouts = [m for m in D.modules() if isinstance(m, Maxout)]
    assert [(m.units, m.pieces) for m in maxouts] == [(240, 5), (240, 5)]
    drops = [m.p for m in D.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops == [0.2, 0.5, 0.5]  # inputs kept with p 0.8, hidden units with p 0.5
    assert D(torch.rand(4, 1, 28, 28)).shape == (4,)


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3)])
def test_dcgan_shapes_and_init(size, channels):
    torch.manual_seed(0)
    G, D = DCGANGenerator(100, channels, size), DCGANDiscriminator(channels, size)
    x = G(torch.randn(3, 100))
    assert x.shape == (3, channels, size, size) and x.abs().max() <= 1
    assert D(x).shape == (3,)
    w = torch.cat([m.weight.flatten() for m in list(G.modules()) + list(D.modules())
                   if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))])
    assert w.mean().abs() < 2e-3 and w.std().item() == pytest.approx(0.02, rel=0.05)
    bn = torch.cat([m.weight for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert bn.mean().item() == pytest.approx(1.0, abs=0.01)
    assert not isinstance(D.net[1], torch.nn.BatchNorm2d)  # no BN on D's first layer


def test_dcgan_rejects_unsupported_size():
    with pytest.raises(ValueError, match="supports image sizes"):
        DCGANGenerator(10, 3, 48)


def test_mlp_players_and_packing():
    G = MLPGenerator(4, (2,), (8, 8))
    assert G(torch.randn(6, 4)).shape == (6, 2)
    D = MLPDiscriminator((2,), (8,), pack=3)
    assert D(torch.randn(6, 2)).shape == (2,)  # 6 samples -> 2 packs of 3
    first = next(m for m in D.modules() if isinstance(m, torch.nn.Linear))
    assert first.in_features == 6
