"""The conditional game in play: labels reach both players in every step of Algorithm 1, the players'
conditioning computes what its docstring says, runs resume bitwise, and the CLI refuses bad classes."""
import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_checkpoint_resume import metrics_without_time, same_params
from test_image_data import write_mnist

from minimax import sample
from minimax.algorithm.trainer import Trainer
from minimax.api import train
from minimax.cli import main
from minimax.config import TrainConfig
from minimax.data import load_dataset
from minimax.errors import MinimaxError
from minimax.games.regularizers import spectral_normalise
from minimax.players import DCGANDiscriminator, DCGANGenerator, player_architectures
from minimax.players.conditioning import ConditionalBatchNorm2d
from minimax.run.setup import build_trainer


def ring_cfg(out=None, **kw) -> TrainConfig:
    base = dict(dataset="ring", condition="concat", g_hidden=(16, 16), d_hidden=(16, 16), batch_size=32, steps=8,
                log_every=2, checkpoint_every=4, eval_samples=80, device="cpu", tensorboard="off", lr_decay="none",
                out=str(out) if out else None)
    base.update(kw)
    return TrainConfig(**base)


class Spy(torch.nn.Module):
    """Wraps a player and records the labels of every call."""

    def __init__(self, player):
        super().__init__()
        self.player, self.calls = player, []

    def forward(self, x, c=None):
        self.calls.append(None if c is None else c.clone())
        return self.player(x, c)


def test_labels_reach_both_players_in_every_step():
    cfg = ring_cfg(k=2).validate()
    data = load_dataset(cfg)
    torch.manual_seed(0)
    G, D = player_architectures(cfg, data)
    game = Trainer(cfg, data, Spy(G), Spy(D), torch.device("cpu"))
    twin = torch.Generator().manual_seed(0)
    twin.set_state(game.streams.data.get_state())
    game.iteration()
    m = cfg.batch_size
    # two D steps: G and D see the data minibatch's labels (D on real and generated samples, in one batch)
    for step in range(2):
        _, c_data = data.sample_labelled(m, twin)
        assert torch.equal(game.G.calls[step], c_data)
        assert torch.equal(game.D.calls[step], torch.cat([c_data, c_data]))
    # the G step: one fresh draw of labels, given to G and to D
    assert torch.equal(game.G.calls[2], game.D.calls[2]) and len(game.G.calls[2]) == m
    assert len(game.G.calls) == 3 and len(game.D.calls) == 3


def test_generator_gradient_flows_through_the_label_path():
    cfg = ring_cfg().validate()
    game = build_trainer(cfg)
    K = game.data.n_classes
    first = game.G.net[0]  # Linear on [z; e_c]
    before = first.weight.detach().clone()
    game.generator_step()
    label_columns = first.weight.detach()[:, cfg.latent_dim:] - before[:, cfg.latent_dim:]
    assert label_columns.shape[1] == K and (label_columns.abs().sum(0) > 0).sum() >= K - 1
    # and the label changes what G makes and what D says (in eval mode: in training, a BatchNorm right after
    # the first layer removes a shift shared by the whole batch, so a batch of one label looks unlabelled)
    z = torch.randn(5, cfg.latent_dim)
    game.G.eval()
    zeros, ones = torch.zeros(5, dtype=torch.long), torch.ones(5, dtype=torch.long)
    with torch.no_grad():
        assert not torch.allclose(game.G(z, zeros), game.G(z, ones))
        x = torch.randn(5, 2)
        assert not torch.allclose(game.D(x, zeros), game.D(x, ones))


def test_unconditional_players_are_built_as_before():
    """classes = 0 builds the same modules, parameters and initial values as a player without the argument."""
    torch.manual_seed(3)
    a = DCGANDiscriminator(1, 28)
    torch.manual_seed(3)
    b = DCGANDiscriminator(1, 28, classes=0)
    assert list(a.state_dict()) == list(b.state_dict())
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_conditional_batchnorm_is_a_per_class_affine_map():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(3, 4)
    h, c = torch.randn(6, 3, 2, 2), torch.tensor([0, 1, 2, 3, 1, 0])
    normed = torch.nn.functional.batch_norm(h, None, None, training=True)
    expect = cbn.scale.weight[c][:, :, None, None] * normed + cbn.shift.weight[c][:, :, None, None]
    assert torch.allclose(cbn(h, c), expect, atol=1e-6)
    G = DCGANGenerator(8, 1, 28, width=8, classes=4)
    assert sum(isinstance(m, ConditionalBatchNorm2d) for m in G.modules()) == 2
    assert not any(type(m) is torch.nn.BatchNorm2d and m.affine for m in G.modules())


def test_projection_discriminator_is_the_written_formula():
    """l(x, c) = (w + v_c)ᵀ φ(x) + b with φ the last feature map and (w, b) D's final convolution."""
    torch.manual_seed(0)
    D = DCGANDiscriminator(1, 28, width=8, norm="none", classes=3).eval()
    x, c = torch.randn(4, 1, 28, 28), torch.tensor([0, 2, 1, 2])
    phi = D.net[:-1](x).flatten(1)
    w, b = D.net[-1].weight.flatten(), D.net[-1].bias
    expect = phi @ w + b + (D.projection.weight[c] * phi).sum(1)
    assert torch.allclose(D(x, c), expect, atol=1e-5)
    spectral_normalise(D)  # the class embedding is normalised like every other weight (Miyato & Koyama 2018)
    assert hasattr(D.projection, "parametrizations")


@pytest.mark.parametrize("extra", [{}, {"g_ema": 0.9, "r1": 1.0, "spectral_norm": "on"}], ids=["plain", "ema-r1-sn"])
def test_conditional_resume_is_bitwise(tmp_path, extra):
    straight = train(ring_cfg(tmp_path / "a", steps=12, **extra), progress=False, plots=False)
    train(ring_cfg(tmp_path / "b", steps=6, **extra), progress=False, plots=False)
    resumed = train(resume=tmp_path / "b", steps=12, progress=False, plots=False)
    assert same_params(straight.trainer, resumed.trainer)
    assert metrics_without_time(tmp_path / "a") == metrics_without_time(tmp_path / "b")
    assert straight.summary["class_quality"] == resumed.summary["class_quality"]


def _image_folder(root, classes, n=6, side=28):
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


def test_dcgan_projection_on_a_folder_resumes_bitwise_and_samples_by_class(tmp_path, capsys):
    data = _image_folder(tmp_path / "pics", ["cats", "dogs", "owls"])
    args = ["train", "--dataset", "folder", "--data-dir", str(data), "--image-size", "28", "--model", "dcgan",
            "--condition", "projection", "--batch-size", "6", "--log-every", "1", "--checkpoint-every", "2",
            "--device", "cpu", "--tensorboard", "off", "--no-plots", "--snapshots", "2"]
    assert main([*args, "--steps", "4", "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--steps", "2", "--out", str(tmp_path / "b")]) == 0
    assert main(["train", "--resume", str(tmp_path / "b"), "--steps", "4", "--no-plots"]) == 0
    assert metrics_without_time(tmp_path / "a") == metrics_without_time(tmp_path / "b")
    cfg = json.loads((tmp_path / "a" / "config.json").read_text())
    assert cfg["class_names"] == ["cats", "dogs", "owls"]
    snap = np.load(tmp_path / "a" / "samples" / "step-00000004.npy")
    assert snap.shape == (9, 1, 28, 28)  # K × K: one row of the grid per class
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "a"), "--class", "owls,0", "--n", "3", "--grid", str(tmp_path / "g.png"),
                 "--out", str(tmp_path / "s.npy")]) == 0
    assert "one row per class: owls, cats" in capsys.readouterr().out
    assert np.load(tmp_path / "s.npy").shape == (6, 784)
    w, h = Image.open(tmp_path / "g.png").size  # the grid, and the class names in a margin on its left
    assert h == 2 * 30 + 2 and w > 3 * 30 + 2
    x = sample(tmp_path / "a", 2, classes=["dogs"])
    assert x.shape == (2, 1, 28, 28) and 0 <= float(x.min()) and float(x.max()) <= 1
    # a folder whose classes changed since the run was trained: sampling reads the run's data card (its classes as
    # trained); training on is refused (the new folder would relabel the classes)
    (data / "ants").mkdir()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(data / "ants" / "0.png")
    assert main(["sample", str(tmp_path / "a"), "--n", "2", "--class", "owls", "--out", str(tmp_path / "t.npy")]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "a"), "--steps", "5", "--no-plots"]) == 2
    assert "the run's classes are cats, dogs, owls" in capsys.readouterr().err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    cond = train(ring_cfg(root / "cond", steps=2), progress=False, plots=False).run_dir
    plain = train(ring_cfg(root / "plain", steps=2, condition="none"), progress=False, plots=False).run_dir
    return cond, plain


@pytest.mark.parametrize("which,args,needle", [
    ("cond", ["--class", "12"], "class '12' is not one of this run's 8 classes"),
    ("cond", ["--class", "-1"], "class '-1' is not one of this run's 8 classes"),
    ("cond", ["--class", "cat"], "class 'cat' is not one of"),
    ("plain", ["--class", "3"], "this run is unconditional"),
])
def test_sample_class_errors(runs, which, args, needle, tmp_path, capsys):
    run = runs[0] if which == "cond" else runs[1]
    assert main(["sample", str(run), "--n", "2", "--out", str(tmp_path / "x.npy"), *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and not (tmp_path / "x.npy").exists()


@pytest.mark.parametrize("args,needle", [
    (["--dataset", "gauss1d", "--condition", "concat"], "needs at least 2 classes; dataset 'gauss1d' has 1"),
    (["--condition", "projection"], "condition 'projection' is not available for model 'mlp'"),
    (["--class-names", "a,b"], "class_names applies to a conditional run"),
    (["--condition", "concat", "--class-names", "a,b"], "the run's classes are a, b; the data"),
    (["--condition", "sometimes"], "unknown condition 'sometimes'"),
])
def test_conditional_config_errors(args, needle, tmp_path, capsys):
    assert main(["train", "--steps", "1", "--out", str(tmp_path / "r"), "--no-plots", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_folder_labels_and_their_errors(tmp_path, capsys):
    one = _image_folder(tmp_path / "one", ["only"])
    assert load_dataset(TrainConfig(dataset="folder", data_dir=str(one), image_size=28)).n_classes == 1
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(flat / "a.png")
    for folder, needle in ((one, "needs at least 2 classes; dataset 'folder' has 1"),
                           (flat, "needs class labels; dataset 'folder' has none (put each class's images in a")):
        assert main(["train", "--dataset", "folder", "--data-dir", str(folder), "--image-size", "28",
                     "--condition", "concat", "--steps", "1", "--out", str(tmp_path / "r"), "--no-plots"]) == 2
        assert needle in capsys.readouterr().err
    two = load_dataset(TrainConfig(dataset="folder", data_dir=str(_image_folder(tmp_path / "two", ["b", "a"])),
                                   image_size=28))
    assert two.class_names == ("a", "b") and torch.equal(two.labels, torch.tensor([0] * 6 + [1] * 6))


def test_eval_conditional_on_small_files(tmp_path, capsys):
    data = write_mnist(tmp_path / "mnist", n_train=200, n_test=60)
    run, plain, cache = tmp_path / "run", tmp_path / "plain", ["--cache-dir", str(tmp_path / "cache")]
    common = ["train", "--dataset", "mnist", "--data-dir", str(data), "--model", "mlp", "--steps", "2",
              "--batch-size", "8", "--g-hidden", "16", "--d-hidden", "16", "--no-plots", "--device", "cpu",
              "--tensorboard", "off"]
    assert main([*common, "--condition", "concat", "--out", str(run)]) == 0
    assert main([*common, "--out", str(plain)]) == 0
    capsys.readouterr()
    assert main(["eval", "conditional", str(run), "--data-dir", str(data), "--n", "40", *cache]) == 0
    result = json.loads((run / "conditional.json").read_text())
    assert len(result["accuracy"]) == 10 and len(result["intra_fid"]) == 10 and result["n_samples"] == 40
    assert result["accuracy_mean"] == pytest.approx(np.nanmean(result["accuracy"]))
    assert " mean " in capsys.readouterr().out
    assert main(["eval", "conditional", str(plain), "--data-dir", str(data), *cache]) == 2
    assert "is unconditional" in capsys.readouterr().err
    assert main(["eval", "conditional", str(run), "--data-dir", str(data), "--n", "15", "--force", *cache]) == 2
    assert "need at least 2 each" in capsys.readouterr().err
    with pytest.raises(MinimaxError, match="has no class labels"):
        from minimax.data.images import ImageData

        ImageData("x", torch.zeros(2, 1, 4, 4, dtype=torch.uint8)).sample_labels(2, torch.Generator())
