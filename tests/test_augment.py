"""Differentiable augmentation (DiffAugment's policies, ADA's adaptive p): each operation against what it is
defined to do, the probabilities in closed form, reproducibility, and a bitwise resume through ADA's state."""
import json

import pytest
import torch

from minimax.algorithm.augment import (
    ADA_IMAGES,
    ADA_INTERVAL,
    Augmentation,
    augment,
    color,
    cutout,
    parse_policies,
    translation,
)
from minimax.config import TrainConfig
from minimax.errors import MinimaxError


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("op", [color, translation, cutout])
def test_each_operation_is_differentiable_in_the_image(op):
    """gradcheck of x -> T(x) with T's draws fixed (the same stream state for every evaluation)."""
    x = torch.randn(3, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    state = gen(1).get_state()

    def fixed(inp):
        g = torch.Generator()
        g.set_state(state)
        return op(inp, g)

    assert torch.autograd.gradcheck(fixed, (x,))


def test_same_stream_same_images_and_p_zero_is_the_identity_with_the_same_draws():
    x = torch.randn(16, 3, 28, 28)
    policies = ("color", "translation", "cutout")
    assert torch.equal(augment(x, policies, 0.7, gen(3)), augment(x, policies, 0.7, gen(3)))
    assert not torch.equal(augment(x, policies, 0.7, gen(3)), augment(x, policies, 0.7, gen(4)))
    g0, g1 = gen(5), gen(5)
    assert torch.equal(augment(x, policies, 0.0, g0), x)
    augment(x, policies, 1.0, g1)
    assert torch.equal(g0.get_state(), g1.get_state())  # the stream advances the same whatever p


def test_translation_is_a_zero_filled_shift_of_at_most_an_eighth():
    x = torch.rand(40, 1, 28, 28) + 1  # every pixel > 0, so the zero fill shows the shift
    out = translation(x, gen(0))
    s = 4  # round(28 / 8)
    seen = set()
    for i in range(len(x)):
        match = [(dy, dx) for dy in range(-s, s + 1) for dx in range(-s, s + 1)
                 if torch.equal(out[i], _shifted(x[i], dy, dx))]
        assert len(match) == 1
        seen.add(match[0])
    assert len(seen) > 20  # the shifts vary over (2s + 1)² = 81 choices


def _shifted(img, dy, dx):
    out = torch.zeros_like(img)
    h, w = img.shape[-2:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[:, max(-dy, 0):h - max(dy, 0),
                                                                       max(-dx, 0):w - max(dx, 0)]
    return out


def test_cutout_zeroes_one_clipped_square_and_its_mean_area_is_the_enumerated_one():
    x = torch.ones(4000, 1, 28, 28)
    out = cutout(x, gen(0))
    holes = out == 0
    for i in range(20):  # an axis-aligned rectangle of sides ≤ 14
        rows, cols = holes[i, 0].any(1), holes[i, 0].any(0)
        assert holes[i, 0].sum() == rows.sum() * cols.sum() and rows.sum() <= 14 and cols.sum() <= 14
    # E[covered rows] by enumerating the 29 equally likely starts (centre − 7 for centres 0..28)
    side = [min(s + 14, 28) - max(s, 0) for s in range(-7, 22)]
    expected = (sum(side) / len(side)) ** 2 / 28 ** 2  # rows and columns independent
    area = holes.float().mean().item()
    assert area == pytest.approx(expected, abs=0.01)


def test_color_on_a_flat_grey_image_is_brightness_alone():
    """On a constant image saturation and contrast change nothing, so T(x) = x + (u − ½), u ~ U[0, 1]."""
    x = torch.full((5000, 3, 4, 4), 0.2)
    out = color(x, gen(0))
    shift = out[:, 0, 0, 0] - 0.2
    assert torch.allclose(out, x + shift[:, None, None, None], atol=1e-6)
    assert shift.min() >= -0.5 and shift.max() <= 0.5
    assert shift.mean().item() == pytest.approx(0.0, abs=0.02)
    assert shift.var().item() == pytest.approx(1 / 12, rel=0.05)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_the_untouched_share_is_the_closed_form(p):
    """With every policy at probability p, an image passes unchanged with probability
    (1 − p)·(1 − p + p/81)·(1 − p): colour and cutout always change it, translation by (0, 0) with chance 1/81.
    At p < 1 the identity stays in the mixture, ADA's condition for the augmentation not to leak."""
    x = torch.rand(20000, 1, 28, 28) + 1
    out = augment(x, ("color", "translation", "cutout"), p, gen(0))
    same = (out == x).flatten(1).all(1).float().mean().item()
    expected = (1 - p) * (1 - p + p / 81) * (1 - p)
    sd = (expected * (1 - expected) / len(x)) ** 0.5
    assert abs(same - expected) < 4 * sd


def test_ada_moves_p_by_its_rule_and_clips_it():
    m = 64
    ada = Augmentation(("cutout",), p=1.0, target=0.6, batch_size=m)
    assert ada.p == 0.0  # ADA starts at 0
    for _ in range(3 * ADA_INTERVAL):
        ada.observe(torch.tensor(1.0))  # D calls every real image real: p rises
    assert ada.p == pytest.approx(3 * ADA_INTERVAL * m / ADA_IMAGES)
    for _ in range(10 * ADA_INTERVAL):
        ada.observe(torch.tensor(-0.2))  # under the target: p falls, not below 0
    assert ada.p == 0.0
    ada.p = 1.0 - 1e-6
    for _ in range(ADA_INTERVAL):
        ada.observe(torch.tensor(0.9))
    assert ada.p == 1.0
    ada.observe(torch.tensor(0.9))  # a pending step goes into the state, which round-trips
    other = Augmentation(("cutout",), p=1.0, target=0.6, batch_size=m)
    other.load_state(ada.state())
    assert torch.equal(other.state(), ada.state())
    with pytest.raises(ValueError, match="out of range"):
        other.load_state(torch.tensor([1.5, 0.0, 0.0], dtype=torch.float64))


def test_policies_parse_and_bad_settings_are_one_line_errors():
    assert parse_policies("color,cutout") == ("color", "cutout") and parse_policies("none") == ()
    with pytest.raises(ValueError, match="unknown augmentation policy 'flip'"):
        parse_policies("color,flip")
    for bad, needle in [(dict(dataset="ring", augment="cutout"), "applies to dataset"),
                        (dict(dataset="mnist", augment="colour"), "augment must be"),
                        (dict(dataset="mnist", ada_target=0.6), "apply to an augmentation"),
                        (dict(dataset="mnist", augment="cutout", ada_target=0.6, game="wgan-gp", d_norm="layer",
                              model="dcgan"), "ada_target needs"),
                        (dict(dataset="mnist", augment="cutout", ada_target=0.6, augment_p=0.3), "starts at 0")]:
        with pytest.raises(MinimaxError, match=needle) as e:
            TrainConfig.resolve(**bad)
        assert "\n" not in str(e.value)


def test_adaptive_augmentation_resumes_bitwise_mid_interval(tmp_path):
    """A run stopped after 6 D steps (two pending of ADA's interval of 4) and resumed equals the straight run:
    checkpoint tensors, p in the log, every record."""
    from safetensors.torch import load_file
    from test_image_data import write_mnist

    from minimax.api import train

    data = str(write_mnist(tmp_path / "m"))

    def cfg(out, steps):
        return TrainConfig.resolve(dataset="mnist", data_dir=data, model="dcgan", latent_dim=8, batch_size=8,
                                   steps=steps, log_every=3, checkpoint_every=3, augment="color,translation,cutout",
                                   ada_target=0.1, game="minimax", out=str(tmp_path / out), device="cpu")

    train(cfg("a", 12), progress=False, plots=False)
    train(cfg("b", 6), progress=False, plots=False)
    train(resume=tmp_path / "b", steps=12, progress=False, plots=False)
    a = load_file(tmp_path / "a" / "checkpoints" / "step-00000012.safetensors")
    b = load_file(tmp_path / "b" / "checkpoints" / "step-00000012.safetensors")
    assert a.keys() == b.keys() and "augment.state" in a
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert a["augment.state"][0] > 0  # p moved

    def records(run):
        return [{k: v for k, v in json.loads(line).items() if k != "steps_per_sec"}
                for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]

    assert records("a") == records("b") and all("augment_p" in r for r in records("a") if "value" in r)
