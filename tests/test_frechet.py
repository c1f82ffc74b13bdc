"""Fréchet distance against closed forms; the feature classifier; `minimax eval fid`."""
import math

import pytest
import torch
from test_image_data import write_mnist

from minimax.cli import main
from minimax.metrics import classifier
from minimax.metrics.frechet import GaussianFit, frechet_between, frechet_distance


def random_spd(d, gen, rank=None):
    a = torch.randn(d, rank or d, generator=gen, dtype=torch.float64)
    return a @ a.T + (1e-3 * torch.eye(d, dtype=torch.float64) if rank is None else 0)


def test_diagonal_gaussians_closed_form():
    """Diagonal Σ: d² = ‖Δμ‖² + Σ_i (√a_i - √b_i)²."""
    gen = torch.Generator().manual_seed(0)
    mu1, mu2 = (torch.randn(6, generator=gen, dtype=torch.float64) for _ in range(2))
    a, b = (torch.rand(6, generator=gen, dtype=torch.float64) + 0.1 for _ in range(2))
    expect = float((mu1 - mu2).pow(2).sum() + (a.sqrt() - b.sqrt()).pow(2).sum())
    assert frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(expect, rel=1e-9)


def test_general_covariances_match_the_eigenvalues_of_the_product():
    """Tr((Σ₁Σ₂)^{1/2}) = Σ √λ_i(Σ₁Σ₂) (real, non-negative spectrum), computed a second way."""
    gen = torch.Generator().manual_seed(1)
    for d in (2, 5, 16):
        c1, c2 = random_spd(d, gen), random_spd(d, gen)
        mu1, mu2 = torch.randn(d, generator=gen, dtype=torch.float64), torch.zeros(d, dtype=torch.float64)
        lam = torch.linalg.eigvals(c1 @ c2)
        assert lam.imag.abs().max() < 1e-8
        expect = float((mu1 - mu2).pow(2).sum() + c1.trace() + c2.trace() - 2 * lam.real.clamp_min(0).sqrt().sum())
        got = frechet_distance(mu1, c1, mu2, c2)
        assert got == pytest.approx(expect, rel=1e-7, abs=1e-8)
        assert frechet_distance(mu2, c2, mu1, c1) == pytest.approx(got, rel=1e-7)  # symmetric


def test_zero_for_identical_and_finite_for_singular():
    gen = torch.Generator().manual_seed(2)
    c = random_spd(8, gen, rank=3)  # rank-deficient, as with fewer samples than features
    mu = torch.randn(8, generator=gen, dtype=torch.float64)
    assert frechet_distance(mu, c, mu, c) == pytest.approx(0.0, abs=1e-6)
    d = frechet_distance(mu, c, mu + 1, random_spd(8, gen, rank=2))
    assert math.isfinite(d) and d > 8 - 1e-9  # ‖Δμ‖² = 8 plus a non-negative trace term
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance(mu, c, mu[:3], c)


def test_gaussian_fit_accumulates_exactly_across_batches_and_merges():
    gen = torch.Generator().manual_seed(3)
    f = torch.randn(301, 7, generator=gen, dtype=torch.float64) * torch.arange(1, 8) + 2
    whole, pieces, other = GaussianFit(7), GaussianFit(7), GaussianFit(7)
    whole.update(f)
    for chunk in f[:200].split(37):
        pieces.update(chunk)
    other.update(f[200:])
    pieces.merge(other)  # what all_reduce does across processes
    for fit in (whole, pieces):
        mu, cov = fit.mean_cov()
        torch.testing.assert_close(mu, f.mean(0))
        torch.testing.assert_close(cov, torch.cov(f.T))
    with pytest.raises(ValueError, match="dimensions"):
        whole.update(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="at least 2"):
        GaussianFit(7).mean_cov()


def test_sample_distance_converges_to_the_closed_form():
    """Features drawn from N(0, I) and N(μ, 4I) in 4-D: d² → ‖μ‖² + 4·(2 - 1)² = ‖μ‖² + 4."""
    gen = torch.Generator().manual_seed(4)
    mu = torch.tensor([1.0, -1.0, 0.5, 0.0])
    real, fake = GaussianFit(4), GaussianFit(4)
    real.update(torch.randn(200_000, 4, generator=gen))
    fake.update(mu + 2 * torch.randn(200_000, 4, generator=gen))
    assert frechet_between(real, fake) == pytest.approx(float(mu.pow(2).sum()) + 4, rel=0.01)


def bars(n, gen):
    """8×8 images of class 0 (a bright left half) or 1 (a bright right half), with noise."""
    y = torch.randint(0, 2, (n,), generator=gen)
    x = torch.randint(0, 60, (n, 1, 8, 8), generator=gen)
    left = torch.zeros(n, 1, 8, 8, dtype=torch.bool)
    left[..., :4] = True
    bright = torch.where(y[:, None, None, None] == 0, left, ~left)
    return torch.where(bright, x + 180, x).to(torch.uint8), y


def test_feature_classifier_learns_and_is_cached(tmp_path, monkeypatch):
    gen = torch.Generator().manual_seed(5)
    x, y = bars(512, gen)
    logs = []
    net = classifier.load_or_train("bars", x, y, tmp_path, log=logs.append)
    assert classifier.accuracy(net, *bars(256, gen)) == 1.0
    assert len(list(tmp_path.glob("features-bars-*.safetensors"))) == 1
    monkeypatch.setattr(classifier, "train_feature_net", lambda *a, **k: pytest.fail("retrained"))
    again = classifier.load_or_train("bars", x, y, tmp_path, log=logs.append)
    for a, b in zip(net.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    feats = classifier.features(net, x[:10].float().reshape(10, -1) / 255, (1, 8, 8))
    assert feats.shape == (10, classifier.FEATURE_DIM)


def test_unreadable_cache_is_retrained_not_fatal(tmp_path):
    gen = torch.Generator().manual_seed(6)
    x, y = bars(256, gen)
    classifier.load_or_train("bars", x, y, tmp_path, log=lambda m: None)
    path = next(tmp_path.glob("features-bars-*.safetensors"))
    path.write_bytes(b"not a safetensors file")
    logs = []
    net = classifier.load_or_train("bars", x, y, tmp_path, log=logs.append)
    assert any("unreadable" in m for m in logs)
    assert classifier.accuracy(net, x, y) > 0.95


def test_eval_fid_cli_on_small_files(tmp_path, capsys):
    data = write_mnist(tmp_path / "mnist", n_train=200, n_test=40)
    run = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--data-dir", str(data), "--model", "mlp", "--steps", "3",
                 "--batch-size", "8", "--g-hidden", "16", "--d-hidden", "16", "--out", str(run), "--no-plots",
                 "--device", "cpu", "--tensorboard", "off"]) == 0
    cache = tmp_path / "cache"
    assert main(["eval", "fid", str(run), "--data-dir", str(data), "--n", "130", "--cache-dir", str(cache)]) == 0
    out = capsys.readouterr().out
    assert "Frechet distance" in out and (run / "fid.json").is_file()
    assert main(["eval", "fid", "--real", "--data-dir", str(data), "--n", "150", "--cache-dir", str(cache)]) == 0
    assert main(["eval", "fid", "--data-dir", str(data), "--cache-dir", str(cache)]) == 2
    assert "needs a run directory" in capsys.readouterr().err
    before = (run / "fid.json").read_bytes()
    assert main(["eval", "fid", str(run), "--data-dir", str(data), "--n", "100", "--cache-dir", str(cache),
                 "--force"]) == 2  # another N: --force past the protocol check, to the dimension check
    assert "below the feature dimension 128" in capsys.readouterr().err
    assert (run / "fid.json").read_bytes() == before  # a refused evaluation writes nothing over
