"""Lazy regularisation (StyleGAN2, App. B; ``reg_every`` = N): R1 and R2 are taken on every N-th iteration only,
with their weight times N, so that their expected gradient per iteration is the plain run's; WGAN-GP's penalty
stays on every step. Checked against autograd of the written formula, in the records, and across a resume."""
import copy

import pytest
import torch
from test_checkpoint_resume import metrics_without_time, same_params, tiny
from test_game import small

from minimax.algorithm.stats import IterationStats
from minimax.api import train
from minimax.config import TrainConfig
from minimax.errors import MinimaxError
from minimax.run.setup import build_trainer


def d_step_with_inputs(game):
    """One D step; returns D before it, and the step's (x, G(z)) as D saw them."""
    before, seen = copy.deepcopy(game.D), {}
    forward = game._forward_d

    def spy(through_g):
        out = forward(through_g)
        seen["x"], seen["fake"] = out[2].detach(), out[3].detach()
        return out

    game._forward_d = spy
    game.discriminator_step()
    game._forward_d = forward
    return before, seen["x"], seen["fake"]


def written_gradient(D, x, fake, objective, weight):
    """∇_θd [L_D + weight·(γ/2)·(mean_i ‖∇_x D(x_i)‖² + mean_i ‖∇_x D(G(z_i))‖²)], by autograd, γ = 1."""
    loss = objective.discriminator_loss(D(x), D(fake))
    if weight:
        for points in (x, fake):
            p = points.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(D(p).sum(), p, create_graph=True)
            loss = loss + weight * 0.5 * g.pow(2).sum() / p.shape[0]
    return torch.autograd.grad(loss, list(D.parameters()))


@pytest.mark.parametrize("every", [1, 4])
def test_the_penalty_is_taken_every_nth_iteration_with_its_weight_times_n(every):
    game = build_trainer(small(game="rpgan", r1=1.0, r2=1.0, reg_every=every, optimizer="sgd", momentum=0.0))
    for step in range(2 * every):
        game.step = step  # the iteration whose D step this is
        D, x, fake = d_step_with_inputs(game)
        expected = written_gradient(D, x, fake, game.objective, every if step % every == 0 else 0)
        for got, want in zip([p.grad for p in game.D.parameters()], expected):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_records_hold_the_penalty_measured_on_the_regularised_iterations_only():
    game = build_trainer(small(game="rpgan", r1=1.0, r2=1.0, reg_every=4))
    records = []
    for _ in range(8):
        game.iteration()
        if game.step % 2 == 0:
            records.append(game.read_stats())
    # iterations 0-1 and 4-5 are regularised (the D step of iteration i runs at step i), 2-3 and 6-7 are not
    assert ["r1_penalty" in r for r in records] == [True, False, True, False]
    assert all(r["r1_penalty"] > 0 and r["r2_penalty"] > 0 for r in records[::2])
    assert all("d_loss" in r and r["first_nonfinite_step"] == -1 for r in records)


def test_wgan_gps_own_penalty_stays_on_every_step():
    game = build_trainer(small(game="wgan-gp", gp_weight=10.0, r1=1.0, reg_every=3, spectral_norm="on"))
    records = []
    for _ in range(3):
        game.iteration()
        records.append(game.read_stats())
    assert all(r["gradient_penalty"] >= 0 for r in records)
    assert ["r1_penalty" in r for r in records] == [True, False, False]


def test_resume_between_regularised_iterations_is_bitwise(tmp_path):
    kw = dict(game="rpgan", r1=1.0, r2=0.5, reg_every=3, d_dropout=0.0, log_every=4, checkpoint_every=4)
    straight = train(tiny(tmp_path / "a", steps=16, **kw), progress=False, plots=False)
    train(tiny(tmp_path / "b", steps=8, **kw), progress=False, plots=False)  # step 8 is not regularised (8 % 3)
    resumed = train(resume=tmp_path / "b", steps=16, progress=False, plots=False)
    assert same_params(straight.trainer, resumed.trainer)
    assert metrics_without_time(tmp_path / "a") == metrics_without_time(tmp_path / "b")


def test_pending_counts_of_a_lazy_statistic_survive_a_checkpoint():
    names = ("d_loss", "r1_penalty")
    a, b = (IterationStats(names, (), torch.device("cpu"), sparse=("r1_penalty",)) for _ in range(2))
    values = [torch.tensor([1.0, 4.0], dtype=torch.float64), torch.tensor([3.0, 0.0], dtype=torch.float64)]
    masks = [torch.tensor([True, True]), torch.tensor([True, False])]
    for v, m in zip(values, masks):
        a.add(v, 1, measured=m)
    tensors, count = a.state_dict()
    b.load_state_dict({k: t.clone() for k, t in tensors.items()}, count)  # (as read from a file)
    for stats in (a, b):
        stats.add(torch.tensor([5.0, 7.0], dtype=torch.float64), 3, measured=torch.tensor([True, False]))
    assert a.read(3) == b.read(3) == {"step": 3, "d_loss": 3.0, "r1_penalty": 4.0, "first_nonfinite_step": -1}


def test_reg_every_without_a_penalty_to_space_out_is_refused():
    with pytest.raises(MinimaxError, match="reg_every 4 spaces out R1 and R2, and neither is on"):
        TrainConfig.resolve(reg_every=4)
    with pytest.raises(MinimaxError, match="reg_every must be in"):
        TrainConfig.resolve(reg_every=0, r1=1.0)
