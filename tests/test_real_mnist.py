"""The image metrics on real MNIST (slow; skipped where the md5-verified copy is not present).

Set MINIMAX_MNIST to a folder with the four IDX files, or keep the project's shared copy at
../shared/data/mnist next to the repository.
"""
import os
from pathlib import Path

import pytest

import minimax
from minimax.cli import main

MNIST = Path(os.environ.get("MINIMAX_MNIST", Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"))
needs_mnist = pytest.mark.skipif(not (MNIST / "train-images-idx3-ubyte.gz").is_file(),
                                 reason=f"real MNIST not found at {MNIST} (set MINIMAX_MNIST)")


@pytest.mark.slow
@needs_mnist
def test_parzen_ceiling_of_real_training_images():
    """10k real training digits score 241.2 ± 2.1 nats (σ = 0.167) under the paper's protocol (README)."""
    scores = minimax.evaluate(None, "parzen", real=True, data_dir=str(MNIST))
    assert 236 < scores["parzen_ll"] < 246 and scores["sigma"] == pytest.approx(0.1668, abs=5e-5)
    assert scores["protocol"]["n_samples"] == 10_000 and scores["protocol"]["run"] is None


@pytest.mark.slow
@needs_mnist
def test_fid_floor_of_real_images_and_an_untrained_generator(tmp_path):
    cache = str(tmp_path / "cache")
    floor = minimax.evaluate(None, "fid", real=True, data_dir=str(MNIST), cache_dir=cache)
    assert floor["classifier_test_accuracy"] > 0.98  # the features separate the digits
    run = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--data-dir", str(MNIST), "--model", "dcgan", "--steps", "1",
                 "--out", str(run), "--no-plots", "--device", "cpu", "--tensorboard", "off"]) == 0
    noise = minimax.evaluate(run, "fid", data_dir=str(MNIST), n=2000, cache_dir=cache)
    assert noise["fid"] > 20 * floor["fid"]  # an untrained generator is far from the test digits; real ones are not


@pytest.mark.slow
@needs_mnist
def test_table1_recipe_learns_digits_in_4000_iterations(tmp_path):
    """configs/table1.toml cut to 4,000 of its 90,000 iterations (about a minute): the averaged generator's
    samples (exponential average; the uniform one starts at 15k) already score 126.0 nats under the paper's
    Parzen protocol (an untrained, grey G: about -537; Adam at 2e-4 after 12k iterations: 30.4; the full
    recipe: 229.9 for seed 0, README Table 1)."""
    import torch

    from minimax.algorithm.speed import native_bf16

    config = Path(__file__).resolve().parents[1] / "configs" / "table1.toml"
    run = tmp_path / "run"
    # the recipe's bf16 autocast where the CPU has it natively; emulated elsewhere, it is ~30x slower than fp32
    amp = "bf16" if native_bf16(torch.device("cpu")) else "off"
    assert main(["train", "--config", str(config), "--data-dir", str(MNIST), "--steps", "4000", "--amp", amp,
                 "--out", str(run), "--no-plots", "--device", "cpu", "--tensorboard", "off"]) == 0
    scores = minimax.evaluate(run, "parzen", data_dir=str(MNIST))
    assert scores["parzen_ll"] > 80 and scores["protocol"]["step"] == 4000


@pytest.mark.slow
@needs_mnist
def test_precision_recall_on_mnist_mode_dropping_and_spread_samples():
    """Classifier features of 2,000 test digits vs constructed sample sets (README, "Metrics"):
    training digits score high on both; only digits 0-4 (half the modes dropped) keep precision and lose recall;
    samples scattered around the data (Gaussian spread of ½ the features' std: the metric's "blurry" case)
    keep recall and lose precision. Degrading the images themselves does not: a 3×3 box blur loses recall, not
    precision, in these features (README's finding)."""
    import torch
    from torch.nn import functional as F

    from minimax.data.images import mnist_like
    from minimax.metrics import classifier
    from minimax.metrics.precision_recall import precision_recall

    train = mnist_like("mnist", MNIST, "cpu", "tanh", "train")
    test = mnist_like("mnist", MNIST, "cpu", "tanh", "t10k")
    net = classifier.load_or_train("mnist", train.images, train.labels, log=lambda m: None)

    def phi(u8):
        return classifier.features(net, u8.float().reshape(len(u8), -1) / 255, (1, 28, 28))

    real = phi(test.images[:2000])
    good = precision_recall(real, phi(train.images[:2000]))
    dropped = precision_recall(real, phi(train.images[train.labels < 5][:2000]))
    f = phi(train.images[:2000])
    spread = precision_recall(real, f + 0.5 * f.std(0).mean() * torch.randn(f.shape,
                                                                             generator=torch.Generator().manual_seed(0)))
    x = train.images[:2000].float()
    blurred = precision_recall(real, phi(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False).round().to(torch.uint8)))
    for name, r in (("training digits", good), ("digits 0-4", dropped), ("feature spread", spread),
                    ("box-blurred digits", blurred)):
        print(name, {k: round(v, 3) for k, v in r.items()})  # the README's table (pytest -s)
    assert good["precision"] > 0.8 and good["recall"] > 0.8
    assert blurred["recall"] < good["recall"] - 0.5 and blurred["precision"] > good["precision"] - 0.1
    assert dropped["precision"] > good["precision"] - 0.05 and dropped["recall"] < good["recall"] - 0.15
    assert dropped["coverage"] < good["coverage"] - 0.15
    assert spread["recall"] > 0.95 and spread["precision"] < 0.2 and spread["density"] < 0.1
