"""The objective against its closed forms: values, gradients, stability, docstrings."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minimax
from minimax.games import minimax as obj

F64 = torch.float64
LOGITS = st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=16)


def probs(logits):
    return torch.sigmoid(logits)


# Reference formulas written in probability space, exactly as the paper writes them.
def ref_value(lr, lf):
    return torch.log(probs(lr)).mean() + torch.log(1 - probs(lf)).mean()


def ref_d_loss(lr, lf, t=1.0):
    dr, df = probs(lr), probs(lf)
    return -(t * torch.log(dr) + (1 - t) * torch.log(1 - dr)).mean() - torch.log(1 - df).mean()


def ref_saturating(lf):
    return torch.log(1 - probs(lf)).mean()


def ref_non_saturating(lf):
    return -torch.log(probs(lf)).mean()


@pytest.fixture
def logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, generator=g, dtype=F64) * 3, torch.randn(64, generator=g, dtype=F64) * 3


def test_public_api_is_importable_from_package():
    for name in ("value", "discriminator_loss", "generator_loss", "total_loss"):
        assert callable(getattr(minimax, name))


def test_value_matches_probability_space_formula(logits):
    lr, lf = logits
    assert torch.allclose(obj.value(lr, lf), ref_value(lr, lf), atol=1e-10)


@pytest.mark.parametrize("t", [1.0, 0.9, 0.75])
def test_discriminator_loss_is_bce_with_smoothed_real_labels(logits, t):
    lr, lf = logits
    assert torch.allclose(obj.discriminator_loss(lr, lf, t), ref_d_loss(lr, lf, t), atol=1e-10)
    bce = torch.nn.functional.binary_cross_entropy
    expected = bce(probs(lr), torch.full_like(lr, t)) + bce(probs(lf), torch.zeros_like(lf))
    assert torch.allclose(obj.discriminator_loss(lr, lf, t), expected, atol=1e-8)


def test_discriminator_loss_is_minus_value_without_smoothing(logits):
    lr, lf = logits
    assert torch.allclose(obj.discriminator_loss(lr, lf), -obj.value(lr, lf), atol=1e-12)


def test_smoothing_only_touches_real_term(logits):
    lr, lf = logits
    fake_only = obj.discriminator_loss(lr, lf, 0.9) - obj.discriminator_loss(lr, torch.full_like(lf, -50.0), 0.9)
    assert torch.allclose(fake_only, torch.nn.functional.softplus(lf).mean(), atol=1e-12)


def test_discriminator_loss_rejects_bad_real_label(logits):
    with pytest.raises(ValueError):
        obj.discriminator_loss(*logits, real_label=0.0)
    with pytest.raises(ValueError):
        obj.discriminator_loss(*logits, real_label=1.5)


def test_generator_losses_match_formulas(logits):
    _, lf = logits
    assert torch.allclose(obj.generator_loss(lf, "saturating"), ref_saturating(lf), atol=1e-10)
    assert torch.allclose(obj.generator_loss(lf, "non-saturating"), ref_non_saturating(lf), atol=1e-10)
    # non-saturating = BCE with the generated samples labelled 1
    bce = torch.nn.functional.binary_cross_entropy(probs(lf), torch.ones_like(lf))
    assert torch.allclose(obj.generator_loss(lf), bce, atol=1e-8)


def test_generator_loss_rejects_unknown_kind(logits):
    with pytest.raises(ValueError, match="unknown generator loss"):
        obj.generator_loss(logits[1], "wasserstein")


def test_total_loss_is_d_loss_plus_non_saturating_and_nonnegative(logits):
    lr, lf = logits
    t = obj.total_loss(lr, lf)
    assert torch.allclose(t, ref_d_loss(lr, lf) + ref_non_saturating(lf), atol=1e-10)
    assert t >= 0 and obj.discriminator_loss(lr, lf) >= 0 and obj.non_saturating_generator_loss(lf) >= 0


def test_value_at_half_is_minus_log4():
    zeros = torch.zeros(10, dtype=F64)
    assert obj.value(zeros, zeros).item() == pytest.approx(-math.log(4), abs=1e-12)


def test_generator_gradients_closed_form(logits):
    _, lf = logits
    m = len(lf)
    for fn, expected in ((obj.saturating_generator_loss, -torch.sigmoid(lf) / m),
                         (obj.non_saturating_generator_loss, -(1 - torch.sigmoid(lf)) / m)):
        leaf = lf.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(fn(leaf), leaf)
        assert torch.allclose(g, expected, atol=1e-12)


def test_gradients_match_autograd_of_written_formula(logits):
    """Autograd through the stable form == autograd through the probability-space formula."""
    lr, lf = logits
    pairs = [
        (lambda a, b: obj.value(a, b), ref_value),
        (lambda a, b: obj.discriminator_loss(a, b, 0.9), lambda a, b: ref_d_loss(a, b, 0.9)),
        (lambda a, b: obj.saturating_generator_loss(b), lambda a, b: ref_saturating(b)),
        (lambda a, b: obj.non_saturating_generator_loss(b), lambda a, b: ref_non_saturating(b)),
    ]
    for ours, ref in pairs:
        a1, b1 = lr.clone().requires_grad_(True), lf.clone().requires_grad_(True)
        a2, b2 = lr.clone().requires_grad_(True), lf.clone().requires_grad_(True)
        g1 = torch.autograd.grad(ours(a1, b1), (a1, b1), allow_unused=True, materialize_grads=True)
        g2 = torch.autograd.grad(ref(a2, b2), (a2, b2), allow_unused=True, materialize_grads=True)
        for x, y in zip(g1, g2):
            assert torch.allclose(x, y, atol=1e-10)


def test_saturating_gradient_vanishes_when_d_rejects_samples():
    """§3 of the paper: when D(G(z)) -> 0 the minimax loss gives G no gradient; the heuristic one does."""
    lf = torch.full((8,), -30.0, dtype=F64, requires_grad=True)  # D(G(z)) = σ(-30) ≈ 1e-13
    (g_sat,) = torch.autograd.grad(obj.saturating_generator_loss(lf), lf)
    (g_ns,) = torch.autograd.grad(obj.non_saturating_generator_loss(lf), lf)
    assert g_sat.abs().max() < 1e-13
    assert torch.allclose(g_ns, torch.full_like(g_ns, -1 / 8), atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(LOGITS, LOGITS, st.floats(0.5, 1.0))
def test_finite_values_and_gradients_for_any_logit(real, fake, t):
    for dtype in (torch.float32, torch.float64):
        lr = torch.tensor(real, dtype=dtype, requires_grad=True)
        lf = torch.tensor(fake, dtype=dtype, requires_grad=True)
        outs = [obj.value(lr, lf), obj.discriminator_loss(lr, lf, t), obj.total_loss(lr, lf, t),
                obj.generator_loss(lf, "saturating"), obj.generator_loss(lf, "non-saturating")]
        for out in outs:
            assert torch.isfinite(out)
            grads = torch.autograd.grad(out, (lr, lf), allow_unused=True, materialize_grads=True)
            assert all(torch.isfinite(g).all() for g in grads)


# Each docstring states the formula; the test recomputes that formula in probability space.
DOC_CLAIMS = [
    (obj.value, "(1/m) Σ_i log D(x_i) + (1/m) Σ_i log(1 - D(G(z_i)))", ref_value),
    (obj.discriminator_loss, "With t = 1 this is exactly -V̂(D, G)", lambda a, b: -ref_value(a, b)),
    (obj.saturating_generator_loss, "L_G = (1/m) Σ_i log(1 - D(G(z_i)))", lambda a, b: ref_saturating(b)),
    (obj.non_saturating_generator_loss, "L_G = -(1/m) Σ_i log D(G(z_i))", lambda a, b: ref_non_saturating(b)),
    (obj.total_loss, "L_total = L_D + (-mean log D(G(z)))",
     lambda a, b: ref_d_loss(a, b) + ref_non_saturating(b)),
]


@pytest.mark.parametrize("fn,claim,ref", DOC_CLAIMS, ids=lambda x: getattr(x, "__name__", "")[:30])
def test_docstring_states_the_formula_the_code_computes(fn, claim, ref, logits):
    assert claim in fn.__doc__
    lr, lf = logits
    args = (lf,) if fn in (obj.saturating_generator_loss, obj.non_saturating_generator_loss) else (lr, lf)
    assert torch.allclose(fn(*args), ref(lr, lf), atol=1e-10)


def test_generator_loss_doc_names_both_forms():
    doc = obj.generator_loss.__doc__
    assert '"saturating"' in doc and "mean log(1 - D(G(z)))" in doc
    assert '"non-saturating"' in doc and "-mean log D(G(z))" in doc


# --- the two logarithms of eq. (1), and the one home they have --------------------------------
@given(LOGITS)
@settings(max_examples=60, deadline=None)
def test_log_d_and_log_one_minus_d_are_the_logs_of_sigmoid_and_finite(xs):
    lg = torch.tensor(xs, dtype=F64)
    a, b = obj.log_d(lg), obj.log_one_minus_d(lg)
    assert torch.isfinite(a).all() and torch.isfinite(b).all()
    assert (a <= 0).all() and (b <= 0).all()
    moderate = lg.abs() < 30  # where the probability-space form is itself accurate
    assert torch.allclose(a[moderate], torch.log(probs(lg[moderate])), atol=1e-12)
    assert torch.allclose(b[moderate], torch.log(1 - probs(lg[moderate])), atol=1e-12)
    assert torch.allclose(a - b, lg, atol=1e-9 * (1 + lg.abs().max()))  # log D - log(1 - D) = l


@given(LOGITS, LOGITS, st.floats(0.5, 1.0))
@settings(max_examples=60, deadline=None)
def test_smoothed_discriminator_loss_is_minus_value_plus_the_smoothing_term(lr, lf, t):
    """L_D = -V̂ + (1 - t)·mean(l_real): the docstring's identity, so L_D = -V̂ only at t = 1."""
    lr, lf = torch.tensor(lr, dtype=F64), torch.tensor(lf, dtype=F64)
    expected = -obj.value(lr, lf) + (1 - t) * lr.mean()
    assert torch.allclose(obj.discriminator_loss(lr, lf, t), expected, rtol=1e-9, atol=1e-9 * (1 + lr.abs().max()))


def test_objective_statistics_are_the_named_quantities():
    torch.manual_seed(0)
    lr, lf = torch.randn(64, dtype=F64) * 3, torch.randn(64, dtype=F64) * 3
    game = obj.MinimaxObjective("saturating", real_label=0.9)
    g_loss = game.generator_loss(lf)
    stats = dict(zip(game.statistics_names, game.statistics(lr, lf, g_loss).tolist()))
    assert stats["value"] == pytest.approx(float(ref_value(lr, lf)))
    assert stats["value"] == pytest.approx(stats["value_real"] + stats["value_fake"])
    assert stats["value_real"] == pytest.approx(float(torch.log(probs(lr)).mean()))
    assert stats["d_loss"] == pytest.approx(float(ref_d_loss(lr, lf, 0.9)))
    assert stats["g_loss"] == pytest.approx(float(torch.log(1 - probs(lf)).mean()))
    assert stats["total_loss"] == pytest.approx(stats["d_loss"] - float(torch.log(probs(lf)).mean()))
    assert stats["d_real"] == pytest.approx(float(probs(lr).mean()))
    assert stats["d_fake"] == pytest.approx(float(probs(lf).mean()))
    sat, ns = game.diagnostic_losses(lf)
    assert float(sat) == pytest.approx(float(obj.saturating_generator_loss(lf)))
    assert float(ns) == pytest.approx(float(obj.non_saturating_generator_loss(lf)))


def test_no_module_but_the_2014_game_writes_softplus_of_a_logit():
    """One home for log D and log(1 - D) (games/minimax.py): any other softplus is a second copy of eq. (1)'s
    logs."""
    import pathlib
    import re

    root = pathlib.Path(minimax.__file__).parent
    found = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py")
             if p.relative_to(root).as_posix() != "games/minimax.py"
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"\bsoftplus\(|logsigmoid\(", line)]
    assert found == []
