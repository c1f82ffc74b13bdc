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
    init_output_bias_from_marginals,
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


@pytest.mark.parametrize("output", ["sigmoid", "tanh"])
def test_output_bias_from_marginals_puts_the_mean_image_at_the_output(output):
    """b = logit(p) (sigmoid) or ½ logit(p) = atanh(2p - 1) (tanh): with zero weights G(z) is exactly
    the mean training image in the model's range, pixels never lit clipped at ε = 1e-3."""
    g = torch.Generator().manual_seed(0)
    pixels = (torch.rand(500, 12, generator=g) < torch.linspace(0, 1, 12)).float()  # p_j from 0 to 1
    G = MLPGenerator(3, (1, 3, 4), (5,), output=output) if output == "tanh" else PaperGenerator((1, 3, 4), 3, 5)
    init_output_bias_from_marginals(G, pixels, output)
    for m in G.modules():
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.zeros_(m.weight)
    p = pixels.mean(0).clamp(1e-3, 1 - 1e-3)
    x = G(torch.randn(2, 3)).reshape(2, -1)
    expected = p if output == "sigmoid" else 2 * p - 1
    torch.testing.assert_close(x, expected.expand(2, -1), atol=1e-6, rtol=1e-5)
    assert p[0] == 1e-3 and p[-1] == 1 - 1e-3  # the clip is active at both ends


def test_output_bias_from_marginals_is_a_config_choice_for_image_models(tmp_path):
    from minimax.config import TrainConfig
    from minimax.data.images import ImageData
    from minimax.errors import MinimaxError
    from minimax.players import build_players

    images = (torch.rand(20, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 255).to(torch.uint8)
    data = ImageData("mnist", images, output="sigmoid")
    G, _ = build_players(TrainConfig(dataset="mnist", model="paper", g_output_bias="marginals"), data)
    p = images.double().div(255).mean(0).reshape(-1).clamp(1e-3, 1 - 1e-3)
    torch.testing.assert_close(G.net[-2].bias.double(), torch.logit(p), atol=1e-5, rtol=1e-5)
    G0, _ = build_players(TrainConfig(dataset="mnist", model="paper"), data)
    assert G0.net[-2].bias.abs().max() == 0  # the default stays the zero start
    with pytest.raises(MinimaxError, match="needs image data and the mlp or paper model"):
        build_players(TrainConfig(dataset="mnist", model="dcgan", g_output_bias="marginals"),
                      ImageData("mnist", images, output="tanh"))
