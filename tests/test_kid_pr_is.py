"""KID, precision/recall/density/coverage and the Inception Score against closed forms and constructed cases."""
import itertools
import math

import pytest
import torch

from minimax.data.toy import TOY_DATASETS
from minimax.errors import MinimaxError
from minimax.metrics.inception_score import inception_score
from minimax.metrics.kid import kid, mmd2_unbiased, polynomial_kernel
from minimax.metrics.precision_recall import kth_neighbour_radii, precision_recall


def test_polynomial_kernel_is_the_cubic_formula():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(4, 5, generator=gen), torch.randn(3, 5, generator=gen)
    k = polynomial_kernel(x, y)
    for i, j in itertools.product(range(4), range(3)):
        assert float(k[i, j]) == pytest.approx((float(x[i] @ y[j]) / 5 + 1) ** 3, rel=1e-5)


def test_mmd2_unbiased_matches_the_written_u_statistic():
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(7, 3, generator=gen, dtype=torch.float64), torch.randn(7, 3, generator=gen,
                                                                             dtype=torch.float64) + 0.5
    k = lambda a, b: (float(a @ b) / 3 + 1) ** 3  # noqa: E731
    m = 7
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m ** 2
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_is_unbiased_for_the_population_mmd_of_discrete_distributions():
    """P, Q on a few 2-D atoms: MMD² = Σ p p' k + Σ q q' k - 2 Σ p q k exactly; the mean of MMD²_u over many
    subsets converges to it (a biased V-statistic would sit above it by O(1/m)); P = Q gives ~0, not > 0."""
    atoms = torch.tensor([[0.0, 0.0], [1.0, 0.5], [-0.5, 2.0]], dtype=torch.float64)
    p, q = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64), torch.tensor([0.2, 0.2, 0.6], dtype=torch.float64)
    K = polynomial_kernel(atoms, atoms)
    exact = float(p @ K @ p + q @ K @ q - 2 * p @ K @ q)
    gen = torch.Generator().manual_seed(2)
    real = atoms[torch.multinomial(p, 40_000, replacement=True, generator=gen)]
    fake = atoms[torch.multinomial(q, 40_000, replacement=True, generator=gen)]
    r = kid(real, fake, subsets=2000, subset_size=20, seed=3)
    assert abs(r["kid"] - exact) < 4 * r["kid_std"] / math.sqrt(2000)  # within 4 standard errors
    assert abs(r["kid"] - exact) < 0.05 * exact
    same = kid(real, atoms[torch.multinomial(p, 40_000, replacement=True, generator=gen)], subsets=400,
               subset_size=20, seed=4)
    assert abs(same["kid"]) < 3 * same["kid_std"] / math.sqrt(400)  # zero within its standard error
    assert same["kid"] < exact / 20


def test_kid_refuses_a_subset_larger_than_the_samples():
    x = torch.randn(50, 4)
    with pytest.raises(MinimaxError, match="subset size 100 is larger than the 30 generated samples"):
        kid(x, x[:30], subset_size=100)


def test_knn_radii_leave_the_point_itself_out():
    x = torch.tensor([[0.0], [1.0], [3.0], [6.0]])
    assert kth_neighbour_radii(x, 1).tolist() == [1.0, 1.0, 2.0, 3.0]
    assert kth_neighbour_radii(x, 2).tolist() == [3.0, 2.0, 3.0, 5.0]


def test_precision_recall_density_coverage_on_identical_and_disjoint_sets():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(400, 3, generator=gen)
    r = precision_recall(x, x)
    assert r["precision"] == r["recall"] == r["coverage"] == 1.0
    assert r["density"] >= 1.0  # each point lies in its own ball and in its k neighbours'
    far = precision_recall(x, x + 100)
    assert far["precision"] == far["recall"] == far["density"] == far["coverage"] == 0.0


def ring_samples(n, modes, std, gen):
    ring = TOY_DATASETS["ring"]()
    k = torch.tensor(modes)[torch.randint(len(modes), (n,), generator=gen)]
    return ring.centres[k] + std * torch.randn(n, 2, generator=gen)


def test_on_the_ring_mode_dropping_loses_recall_and_blur_loses_precision():
    """Real: the 8-Gaussian ring (σ = 0.01). A generator on 4 of the 8 modes keeps precision and has recall ≈ ½;
    a blurred generator (σ = 0.1 on all 8 modes) keeps recall and loses precision."""
    gen = torch.Generator().manual_seed(6)
    real = ring_samples(2000, range(8), 0.01, gen)
    dropped = precision_recall(real, ring_samples(2000, range(4), 0.01, gen))
    blurred = precision_recall(real, ring_samples(2000, range(8), 0.1, gen))
    assert dropped["precision"] > 0.95 and 0.4 < dropped["recall"] < 0.6 and 0.4 < dropped["coverage"] < 0.6
    assert blurred["recall"] > 0.95 and blurred["precision"] < 0.3 and blurred["density"] < 0.3
    good = precision_recall(real, ring_samples(2000, range(8), 0.01, gen))
    for name, r in (("all 8", good), ("4 of 8", dropped), ("blurred", blurred)):
        print(name, {k: round(v, 3) for k, v in r.items()})  # the README's table (pytest -s)
    assert min(good["precision"], good["recall"]) > 0.95
    # Naeem et al. 2020, §3.3: for Q = P and M = N, E[coverage] = 1 - (N-1)···(N-k) / ((2N-1)···(2N-k)) → 1 - 2^-k
    assert good["coverage"] == pytest.approx(1 - 0.5 ** 3, abs=0.03)
    assert good["density"] == pytest.approx(1.0, abs=0.1)  # E[density] = 1 for Q = P


def test_inception_score_limits():
    """IS = 1 when every p(y|x) is the same; = K when each sample is one class for certain, classes used equally."""
    same = torch.randn(1, 7).repeat(100, 1)
    assert inception_score(same, splits=10)["is"] == pytest.approx(1.0, abs=1e-9)
    sure = torch.full((100, 5), -1e4)
    sure[torch.arange(100), torch.arange(100) % 5] = 1e4  # finite for extreme logits
    r = inception_score(sure, splits=10)
    assert r["is"] == pytest.approx(5.0, rel=1e-9) and r["is_std"] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(MinimaxError, match="at least 10 samples"):
        inception_score(sure[:5])


def test_inception_score_matches_the_formula_on_random_logits():
    gen = torch.Generator().manual_seed(7)
    logits = torch.randn(30, 4, generator=gen, dtype=torch.float64) * 2
    p = logits.softmax(1)
    py = p.mean(0)
    expect = math.exp(float((p * (p.log() - py.log())).sum(1).mean()))
    assert inception_score(logits, splits=1)["is"] == pytest.approx(expect, rel=1e-12)


# ----------------------------------------------------------------------------------------------
# the conventions of the packages people compare with
def test_precision_recall_density_coverage_equal_prdc_on_continuous_features():
    prdc = pytest.importorskip("prdc", reason="prdc (the dev extra) is not installed")
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(300, 16, generator=gen, dtype=torch.float64)
    fake = 0.8 * torch.randn(250, 16, generator=gen, dtype=torch.float64) + 0.3
    ours = precision_recall(real, fake, k=5)
    theirs = prdc.compute_prdc(real.numpy(), fake.numpy(), nearest_k=5)
    for key in ("precision", "recall", "density", "coverage"):
        assert ours[key] == pytest.approx(theirs[key], abs=1e-12), key
    assert 0.1 < ours["precision"] < 0.99 and 0.1 < ours["coverage"] < 0.99  # (a case where they can differ)


def test_a_point_on_a_balls_edge_counts_as_the_papers_and_prdc_say():
    """Real points 0..4 on a line, k = 3: the ball of 0 has radius 3, and the sample -3 lies on its edge. Precision
    counts it inside (Kynkäänniemi et al.'s ≤); density and coverage outside (Naeem et al.'s code, prdc: <)."""
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]], dtype=torch.float64)
    fake = torch.tensor([[-3.0], [-10.0], [-20.0], [-30.0]], dtype=torch.float64)
    r = precision_recall(real, fake, k=3)
    assert r["precision"] == 0.25 and r["density"] == 0.0 and r["coverage"] == 0.0


def test_kid_std_is_numpys_ddof_0_as_torch_fidelity(monkeypatch):
    from minimax.metrics import kid as kid_module

    values = iter([1.0, 2.0, 3.0, 4.0])
    monkeypatch.setattr(kid_module, "mmd2_unbiased", lambda x, y: next(values))
    r = kid_module.kid(torch.zeros(10, 3), torch.zeros(10, 3), subsets=4, subset_size=5)
    assert r["kid"] == 2.5 and r["kid_std"] == pytest.approx(math.sqrt(1.25), abs=1e-15)  # ddof 1 would be 1.29


def test_inception_score_splits_and_std_are_the_original_codes():
    """N = 105 in 10 splits: part j is [⌊105 j/10⌋, ⌊105 (j+1)/10⌋) (sizes 10, 11, 10, 11, ...), as Salimans et
    al.'s code and torch-fidelity cut it; the std has ddof 0 (their np.std). Written independently here."""
    gen = torch.Generator().manual_seed(3)
    logits = 3 * torch.randn(105, 7, generator=gen, dtype=torch.float64)
    p = torch.softmax(logits, 1)
    scores = []
    for j in range(10):
        part = p[j * 105 // 10:(j + 1) * 105 // 10]
        q = part.mean(0, keepdim=True)
        scores.append(math.exp(float((part * (part.log() - q.log())).sum(1).mean())))
    mean = sum(scores) / 10
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / 10)
    r = inception_score(logits, 10)
    assert r["is"] == pytest.approx(mean, rel=1e-12) and r["is_std"] == pytest.approx(std, rel=1e-9)
