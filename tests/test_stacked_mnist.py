"""Stacked MNIST: the data, the VEEGAN/PacGAN players with packing, the 1,000-mode metric, `minimax eval modes`,
the protocol record and the multi-run table."""
import json
import math

import pytest
import torch
from test_image_data import write_mnist

from minimax.cli import main
from minimax.config import TrainConfig
from minimax.data import load_dataset
from minimax.metrics.modes import histogram_metrics, kl_to_uniform, stacked_modes
from minimax.players import player_architectures
from minimax.players.dcgan import DCGANDiscriminator
from minimax.players.packing import pack
from minimax.players.veegan import VEEGANDiscriminator, VEEGANGenerator


def stacked(tmp_path, n_train=60):
    data = write_mnist(tmp_path / "mnist", n_train=n_train, n_test=10)
    return data, load_dataset(TrainConfig(dataset="stacked-mnist", data_dir=str(data)), "cpu")


def test_each_channel_is_a_training_digit_and_the_mode_is_its_triple(tmp_path):
    _, data = stacked(tmp_path)
    gen = torch.Generator().manual_seed(0)
    x, c = data.sample_labelled(500, gen)
    assert x.shape == (500, 3, 28, 28) and data.n_classes == 1000 and data.shape == (3, 28, 28)
    u8 = torch.round((x + 1) / 2 * 255).to(torch.uint8)
    train = data.images  # the training split's digits only (the fixture's 60 images)
    for i in range(0, 500, 37):
        digits = []
        for ch in range(3):
            match = (train == u8[i, ch]).flatten(1).all(1).nonzero()[:, 0]
            assert len(match) >= 1  # every channel is one training image, as it is
            digits.append(int(data.labels[match[0]]))
        assert int(c[i]) == 100 * digits[0] + 10 * digits[1] + digits[2]
    with pytest.raises(Exception, match="training split only"):
        load_dataset(TrainConfig(dataset="stacked-mnist", data_dir=str(tmp_path / "mnist")), "cpu", split="t10k")


def test_the_preset_is_the_benchmark_recipe():
    cfg = TrainConfig(dataset="stacked-mnist")
    assert (cfg.model, cfg.latent_dim, cfg.prior, cfg.batch_size, cfg.lr, cfg.beta1) == \
        ("veegan", 100, "uniform", 64, 2e-4, 0.5)


def test_veegan_players_have_the_papers_shapes():
    G, D = VEEGANGenerator(100, 3), VEEGANDiscriminator(3, pack=2)
    z = torch.rand(6, 100) * 2 - 1
    h = G.project(z).view(6, 512, 2, 2)
    sides = []
    for layer in G.net:
        h = layer(h)
        if isinstance(layer, torch.nn.ConvTranspose2d):
            sides.append(tuple(h.shape[1:]))
    assert sides == [(256, 4, 4), (128, 7, 7), (64, 14, 14), (3, 28, 28)]
    x = G(z)
    assert x.shape == (6, 3, 28, 28) and x.abs().max() <= 1
    assert D(x).shape == (3,)
    assert all(m.kernel_size == (5, 5) and m.stride == (2, 2) for m in D.modules() if isinstance(m, torch.nn.Conv2d))


@pytest.mark.parametrize("make", [lambda: VEEGANDiscriminator(3, pack=3), lambda: DCGANDiscriminator(3, 28, pack=3)])
def test_a_packed_discriminator_judges_consecutive_samples_stacked_on_the_channels(make):
    torch.manual_seed(0)
    D = make().eval()
    x = torch.randn(6, 3, 28, 28)
    first_layer = next(m for m in D.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_layer.in_channels == 9
    logits = D(x)
    assert logits.shape == (2,)
    manual = torch.cat([x[0], x[1], x[2]])[None]  # sample 0's channels, then 1's, then 2's
    torch.testing.assert_close(pack(x, 3)[:1], manual)
    swapped = x.clone()
    swapped[[0, 3]] = x[[3, 0]]  # moving a sample to another group changes both groups' logits
    assert not torch.allclose(D(swapped), logits)
    with pytest.raises(ValueError, match="cannot be packed"):
        pack(x[:5], 3)


def test_make_players_packs_dcgan_and_veegan_and_refuses_the_rest(tmp_path):
    _, data = stacked(tmp_path)
    for model in ("veegan", "dcgan"):
        G, D = player_architectures(TrainConfig(dataset="stacked-mnist", model=model, pack=2, batch_size=128), data)
        assert D(torch.zeros(8, 3, 28, 28)).shape == (4,)
    with pytest.raises(Exception, match="pack > 1 is available for the mlp, dcgan, veegan and r3gan"):
        player_architectures(TrainConfig(dataset="stacked-mnist", model="paper", pack=2, batch_size=128), data)


def test_a_conditional_veegan_run_is_a_one_line_error(tmp_path, capsys):
    data, _ = stacked(tmp_path)
    assert main(["train", "--dataset", "stacked-mnist", "--data-dir", str(data), "--condition", "concat",
                 "--steps", "1", "--out", str(tmp_path / "r"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "model 'veegan' has no conditional form; condition 'concat' needs mlp (concat)" in err
    assert err.count("\n") == 1


def test_histogram_metrics_closed_forms():
    uniform = torch.arange(1000).repeat(3)
    assert histogram_metrics(uniform, 1000) == {"modes": 1000, "n_modes": 1000, "kl": pytest.approx(0.0, abs=1e-12)}
    one = torch.full((50,), 7)
    assert histogram_metrics(one, 1000)["kl"] == pytest.approx(math.log(1000))
    # half the samples on mode 0, half spread over 9 others: KL = ½ log(½·10) + 9·(1/18) log(10/18)
    counts = torch.tensor([9.0] + [1.0] * 9)
    assert kl_to_uniform(counts) == pytest.approx(0.5 * math.log(5) + 0.5 * math.log(10 / 18))
    assert histogram_metrics(torch.tensor([0, 1, 1]), 10)["modes"] == 2
    with pytest.raises(ValueError, match="0..9"):
        histogram_metrics(torch.tensor([10]), 10)


def test_stacked_modes_reads_each_channel():
    x = torch.zeros(2, 3, 28, 28)
    x[0, :, 0, 0] = torch.tensor([3.0, 0.0, 7.0]) / 10  # a fake reader: the digit is 10 × the corner pixel
    x[1, :, 0, 0] = torch.tensor([9.0, 9.0, 1.0]) / 10
    modes = stacked_modes(lambda im: torch.round(im[:, 0, 0, 0] * 10).long(), x.reshape(2, -1))
    assert modes.tolist() == [307, 991]


def tiny_run(tmp_path, data, name, *extra):
    run = tmp_path / name
    # small MLP players in fp32 (the preset's VEEGAN players in bf16 cost ~15 s a run here): the test is of eval modes
    assert main(["train", "--dataset", "stacked-mnist", "--data-dir", str(data), "--steps", "4", "--batch-size", "8",
                 "--model", "mlp", "--g-hidden", "16", "--d-hidden", "16", "--amp", "off",
                 "--pack", "2", "--out", str(run), "--no-plots", "--device", "cpu", "--tensorboard", "off",
                 "--checkpoint-every", "2", "--keep-checkpoints", "10", "--progress", "off", *extra]) == 0
    return run


def test_eval_modes_curve_protocol_table_and_errors(tmp_path, capsys):
    data, _ = stacked(tmp_path, n_train=120)
    a, b = tiny_run(tmp_path, data, "a"), tiny_run(tmp_path, data, "b", "--seed", "1")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    capsys.readouterr()
    assert main(["eval", "modes", str(a), str(b), "--data-dir", str(data), "--n", "300", "--every-checkpoint",
                 *cache]) == 0
    out = capsys.readouterr().out
    assert "of 1000 modes" in out and "mean ± std (2)" in out
    record = json.loads((a / "modes.json").read_text())
    assert [p["step"] for p in record["curve"]] == [0, 2, 4]
    assert record["curve"][-1]["modes"] == record["modes"] and 1 <= record["modes"] <= 300
    proto = record["protocol"]
    assert proto["metric"] == "modes" and proto["n_samples"] == 300 and proto["noise_seed"] == 0
    assert proto["step"] == 4 and proto["minimax_version"] and len(proto["feature_network"]["digest"]) == 16
    assert 0 <= proto["feature_network"]["test_accuracy"] <= 1
    # errors: one line, exit 2, the record left as it was
    before = (a / "modes.json").read_bytes()
    mnist_run = tmp_path / "m"
    assert main(["train", "--dataset", "mnist", "--data-dir", str(data), "--model", "mlp", "--steps", "2",
                 "--batch-size", "8", "--g-hidden", "8", "--d-hidden", "8", "--out", str(mnist_run), "--no-plots",
                 "--device", "cpu", "--tensorboard", "off", "--progress", "off"]) == 0
    capsys.readouterr()
    assert main(["eval", "modes", str(mnist_run), "--data-dir", str(data), *cache]) == 2
    err = capsys.readouterr().err
    assert "eval modes needs a run of stacked-mnist; the run's dataset is 'mnist'" in err and err.count("\n") == 1
    assert main(["eval", "kid", str(a), "--data-dir", str(data), *cache]) == 2  # classifier features: MNIST only
    assert "needs a run of mnist, fashion-mnist" in capsys.readouterr().err
    assert main(["eval", "modes", str(a), "--data-dir", str(tmp_path / "nowhere"), *cache]) == 2
    assert (a / "modes.json").read_bytes() == before
