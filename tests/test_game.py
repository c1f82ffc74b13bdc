"""Algorithm 1, as executed: sampling pattern, who updates what, determinism, diagnostics."""
import pytest
import torch

from minimax.config import TrainConfig
from minimax.games.minimax import non_saturating_generator_loss, saturating_generator_loss
from minimax.run.loop import parameters_finite
from minimax.run.sampling import generate
from minimax.run.setup import build_trainer


def small(**kw) -> TrainConfig:
    base = dict(dataset="ring", g_hidden=(16, 16), d_hidden=(16, 16), latent_dim=4, batch_size=32, steps=20,
                device="cpu", lr=2e-4, lr_decay="none", prior="normal", g_norm="none")  # not the ring preset
    base.update(kw)
    return TrainConfig(**base)


class Counter:
    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, m):
        out = self.fn(m)
        self.calls.append(out.clone())
        return out


def instrument(game):
    game.real, game.noise = Counter(game.real), Counter(game.noise)
    forwards = []
    game.G.register_forward_hook(lambda *a: forwards.append(1))
    return forwards


@pytest.mark.parametrize("k", [1, 3])
def test_alternating_iteration_draws_k_minibatches_then_fresh_noise(k):
    game = build_trainer(small(k=k))
    g_forwards = instrument(game)
    game.iteration()
    assert len(game.real.calls) == k  # k minibatches of m data samples
    assert len(game.noise.calls) == k + 1  # k for D, one fresh batch for G
    assert all(x.shape == (32, 2) for x in game.real.calls)
    assert len(g_forwards) == k + 1
    # every minibatch is fresh
    zs = game.noise.calls
    assert all(not torch.equal(zs[i], zs[j]) for i in range(len(zs)) for j in range(i))


@pytest.mark.parametrize("k", [1, 2])
def test_simultaneous_reuses_the_last_d_steps_samples(k):
    game = build_trainer(small(k=k, update="simultaneous"))
    g_forwards = instrument(game)
    game.iteration()
    assert len(game.noise.calls) == k  # no extra noise for the G step
    assert len(g_forwards) == k  # one G forward per D step, none extra


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module):
    return [not torch.equal(a, b) for a, b in zip(before, module.parameters())]


def test_discriminator_step_updates_only_d_and_generator_step_only_g():
    game = build_trainer(small())
    g0, d0 = params(game.G), params(game.D)
    game.discriminator_step()
    assert all(changed(d0, game.D)) and not any(changed(g0, game.G))
    assert all(p.grad is None for p in game.G.parameters())
    d1 = params(game.D)
    d_grads = [p.grad.clone() for p in game.D.parameters()]
    game.generator_step()
    assert all(changed(g0, game.G)) and not any(changed(d1, game.D))
    # G's loss put no gradient into D's parameters: D's .grad is still that of its own step
    assert all(torch.equal(p.grad, g) for p, g in zip(game.D.parameters(), d_grads))


def test_simultaneous_g_gradient_is_taken_at_the_pre_update_discriminator():
    """In the simultaneous variant G's gradient comes from the D(G(z)) graph built before D's step."""
    cfg = small(update="simultaneous", optimizer="sgd", momentum=0.0, lr=0.1)
    game = build_trainer(cfg)
    D_before = [p.detach().clone() for p in game.D.parameters()]
    G_before = [p.detach().clone() for p in game.G.parameters()]
    rng_state = game.streams.noise.get_state(), game.streams.data.get_state()
    game.iteration()
    # recompute by hand: same z, pre-update D and G, non-saturating loss, SGD step
    ref = build_trainer(cfg)
    ref.streams.noise.set_state(rng_state[0])
    ref.streams.data.set_state(rng_state[1])
    ref.real(cfg.batch_size)
    z = ref.noise(cfg.batch_size)
    with torch.no_grad():
        for p, v in zip(ref.D.parameters(), D_before):
            p.copy_(v)
        for p, v in zip(ref.G.parameters(), G_before):
            p.copy_(v)
    loss = non_saturating_generator_loss(ref.D(ref.G(z)))
    grads = torch.autograd.grad(loss, list(ref.G.parameters()))
    for p_new, p_old, g in zip(game.G.parameters(), G_before, grads):
        assert torch.allclose(p_new, p_old - 0.1 * g, atol=1e-6)


def test_generator_gradient_norms_under_both_losses():
    game = build_trainer(small())
    z = game.noise(32)
    expected = []
    for fn in (saturating_generator_loss, non_saturating_generator_loss):
        grads = torch.autograd.grad(fn(game.D(game.G(z))), list(game.G.parameters()))
        expected.append(torch.sqrt(sum((g**2).sum() for g in grads)))
    _, norms = game.update_generator(game.D(game.G(z)), diagnose=True)
    assert torch.allclose(norms, torch.stack(expected), rtol=1e-5)


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_same_seed_gives_bitwise_identical_parameters(update):
    cfg = small(update=update, d_dropout=0.3, k=2)
    a, b = build_trainer(cfg), build_trainer(cfg)
    for _ in range(15):
        a.iteration(diagnose=True)
    for _ in range(15):
        b.iteration(diagnose=True)
    for p, q in zip(list(a.G.parameters()) + list(a.D.parameters()), list(b.G.parameters()) + list(b.D.parameters())):
        assert torch.equal(p, q)
    c = build_trainer(small(update=update, d_dropout=0.3, k=2, seed=1))
    assert not torch.equal(next(c.G.parameters()), next(a.G.parameters()))


def test_logging_frequency_does_not_change_training():
    a, b = build_trainer(small()), build_trainer(small())
    for _ in range(10):
        a.iteration(diagnose=True)
        b.iteration(diagnose=False)
    assert all(torch.equal(p, q) for p, q in zip(a.G.parameters(), b.G.parameters()))


def test_read_stats_are_means_since_last_read_and_consistent():
    game = build_trainer(small())
    for _ in range(5):
        game.iteration(diagnose=True)
    rec = game.read_stats()
    assert rec["step"] == 5
    assert rec["value"] == pytest.approx(-rec["d_loss"], abs=1e-6)  # no smoothing: L_D = -V
    assert 0 < rec["d_real"] < 1 and 0 < rec["d_fake"] < 1
    assert rec["total_loss"] >= rec["d_loss"]
    assert rec["g_grad_norm_saturating"] > 0 and rec["g_grad_norm_non_saturating"] > 0
    assert rec["first_nonfinite_step"] == -1
    assert game.read_stats()["value"] == 0.0  # reset after reading


def test_first_nonfinite_step_is_recorded_on_device():
    game = build_trainer(small())
    game.iteration()
    game.iteration()
    with torch.no_grad():
        next(game.D.parameters()).fill_(float("nan"))
    game.iteration()
    game.iteration()
    rec = game.read_stats()
    assert rec["first_nonfinite_step"] == 3
    assert not parameters_finite(game)


def test_linear_lr_decay_reaches_zero_at_the_end():
    cfg = small(lr_decay="linear", steps=4, lr=1e-3)
    game = build_trainer(cfg)
    lrs = []
    for _ in range(4):
        game.iteration()
        lrs.append(game.opt_g.param_groups[0]["lr"])
    assert lrs == pytest.approx([1e-3, 0.75e-3, 0.5e-3, 0.25e-3])


def test_generator_weight_average_follows_its_formula():
    """After the t-th G step (t = 1, 2, ...): θ̄_t = β_t θ̄_{t-1} + (1 - β_t) θ_t, β_t = min(β, (1 + t) / (10 + t));
    θ̄_0 = θ_0; buffers copied."""
    game = build_trainer(small(g_ema=0.7, g_norm="batch"))
    avg = [p.clone() for p in game.G.parameters()]
    assert all(torch.equal(a, p) for a, p in zip(avg, game.G_average.module.parameters()))  # starts at G's init
    for t in range(1, 31):
        game.iteration()
        beta = min(0.7, (1 + t) / (10 + t))
        avg = [beta * a + (1 - beta) * p.detach() for a, p in zip(avg, game.G.parameters())]
        for a, e in zip(avg, game.G_average.module.parameters()):
            torch.testing.assert_close(e, a, rtol=1e-5, atol=1e-6)
    assert beta == 0.7  # the warm-up has ended within these 30 steps (at t = 20)
    for b_avg, b in zip(game.G_average.module.buffers(), game.G.buffers()):
        assert torch.equal(b_avg, b)
    assert not any(p.requires_grad for p in game.G_average.module.parameters())


@pytest.mark.parametrize("beta", [0.0, 0.7])
def test_uniform_weight_average_from_t0_is_the_mean_of_the_iterates_since(beta):
    """g_uniform_average_from = t₀: θ̄_t = (1 / (t - t₀ + 1)) Σ_{s=t₀..t} θ_s for t ≥ t₀, the exponential
    average of β (or G itself, β = 0) before t₀."""
    t0, steps = 6, 15
    game = build_trainer(small(g_ema=beta, g_uniform_average_from=t0, steps=steps))
    iterates = []
    for t in range(1, steps + 1):
        game.iteration()
        iterates.append([p.detach().clone() for p in game.G.parameters()])
        if t == t0 - 1 and beta == 0:
            assert all(torch.equal(a, p) for a, p in zip(game.G_average.module.parameters(), game.G.parameters()))
        if t >= t0:
            mean = [torch.stack(ps).mean(0) for ps in zip(*iterates[t0 - 1:])]
            for a, m in zip(game.G_average.module.parameters(), mean):
                torch.testing.assert_close(a, m, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(next(game.G_average.module.parameters()), next(game.G.parameters()))


def test_samples_come_from_the_weight_average_when_kept():
    game = build_trainer(small(g_ema=0.9))
    for _ in range(5):
        game.iteration()
    with torch.no_grad():
        game.G_average.module.eval()
        from minimax.data.prior import sample_noise
        z = sample_noise(8, game.cfg.latent_dim, game.cfg.prior, torch.Generator().manual_seed(4), game.device)
        expect = game.data.to_data_space(game.G_average.module(z))
        raw = game.data.to_data_space(game.G.eval()(z))
    assert torch.equal(generate(game, 8, seed=4), expect)
    assert not torch.allclose(expect, raw)


def test_generate_uses_its_own_noise_stream():
    game = build_trainer(small())
    state = game.streams.noise.get_state()
    x1 = generate(game, 10, seed=3)
    assert torch.equal(game.streams.noise.get_state(), state)
    assert torch.equal(x1, generate(game, 10, seed=3))
    assert x1.shape == (10, 2)


@pytest.mark.parametrize("condition", ["none", "concat"])
def test_joint_discriminator_forward_is_the_same_math_as_two_forwards(condition):
    """D(cat(x, G(z))) is used when D has no BatchNorm; it must equal D(x), D(G(z)) separately (with the
    labels of both halves, in the conditional game)."""
    game = build_trainer(small(condition=condition))
    assert game.d_joint
    state = game.streams.data.get_state(), game.streams.noise.get_state()
    joint = game._forward_d(through_g=False)
    game.d_joint = False
    game.streams.data.set_state(state[0])
    game.streams.noise.set_state(state[1])
    separate = game._forward_d(through_g=False)
    assert (joint[-1] is None) == (condition == "none")
    for a, b in zip(joint, separate):
        assert a is b is None or torch.allclose(a, b, atol=1e-6)


def test_batchnorm_discriminator_is_fed_real_and_fake_separately():
    from minimax.algorithm.trainer import Trainer
    from minimax.data.toy import ring
    from minimax.players import MLPGenerator

    D = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 1),
                            torch.nn.Flatten(0))
    game = Trainer(small(), ring(), MLPGenerator(4, (2,), (8,)), D, torch.device("cpu"))
    assert not game.d_joint
    game.iteration()


def test_bf16_autocast_trains_and_keeps_fp32_parameters():
    game = build_trainer(small(amp="bf16"))
    for _ in range(3):
        game.iteration(diagnose=True)
    rec = game.read_stats()
    assert rec["first_nonfinite_step"] == -1 and 0 < rec["d_real"] < 1
    assert all(p.dtype == torch.float32 for p in game.G.parameters())
    with game.autocast():
        assert game.D(game.real(4)).dtype == torch.bfloat16


def test_presets_apply_under_flags_and_files(tmp_path):
    from minimax.cli import build_parser, config_from_args
    from minimax.config import PRESETS

    parse = build_parser().parse_args
    assert config_from_args(parse(["train"])).lr == PRESETS["ring"]["lr"]
    assert config_from_args(parse(["train", "--lr", "3e-4"])).lr == 3e-4
    assert config_from_args(parse(["train", "--dataset", "mnist"])).lr == TrainConfig.lr  # no preset: the default
    cfg = tmp_path / "c.json"
    cfg.write_text('{"steps": 17}')
    c = config_from_args(parse(["train", "--config", str(cfg)]))
    assert c.steps == 17 and c.batch_size == PRESETS["ring"]["batch_size"]


def test_a_game_preset_on_a_data_set_is_above_the_game_s_and_under_the_user_s(monkeypatch):
    from minimax import catalogue, config
    from minimax.cli import build_parser, config_from_args
    from minimax.config import GAME_PRESETS, PRESETS, presets_reference

    monkeypatch.setitem(config.GAME_DATA_PRESETS, ("wgan-gp", "grid"), dict(lr=3e-3, gp_weight=0.5))
    monkeypatch.setitem(config.GAME_SHORTFALLS, ("wgan-gp", "ring"), "a measured reason")
    parse = build_parser().parse_args
    on_grid = config_from_args(parse(["train", "--dataset", "grid", "--game", "wgan-gp"]))
    assert (on_grid.lr, on_grid.gp_weight, on_grid.k) == (3e-3, 0.5, GAME_PRESETS["wgan-gp"]["k"])
    assert on_grid.steps == PRESETS["grid"]["steps"]  # what the game's presets leave alone: the data set's
    monkeypatch.delitem(config.GAME_DATA_PRESETS, ("wgan-gp", "ring"), raising=False)
    on_ring = config_from_args(parse(["train", "--game", "wgan-gp"]))  # another data set: the game's preset only
    assert (on_ring.lr, on_ring.gp_weight) == (GAME_PRESETS["wgan-gp"]["lr"], GAME_PRESETS["wgan-gp"]["gp_weight"])
    flagged = config_from_args(parse(["train", "--dataset", "grid", "--game", "wgan-gp", "--lr", "1e-5"]))
    assert flagged.lr == 1e-5 and flagged.gp_weight == 0.5
    assert TrainConfig(dataset="grid", game="wgan-gp").lr == 3e-3  # Python gets the same presets
    page = "\n".join(presets_reference())  # (docs/reference.md's Presets)
    assert "| game on dataset | wgan-gp on grid | `--lr 0.003`, `--gp-weight 0.5` |" in page
    assert "| wgan-gp on ring | a measured reason |" in page
    monkeypatch.setitem(catalogue.GAME_GOALS, "ring", (6.5, 0.55))  # the page states the goal from its one home
    monkeypatch.setattr("minimax.config.MNIST_FID_GOAL", 1.25)
    page = "\n".join(presets_reference())
    assert "ring ≥ 6.5 modes and ≥ 55% of samples" in page and "FID ≤ 1.25× the 2014 game's" in page


def test_the_reference_shows_every_preset_and_shortfall_and_help_points_there(capsys):
    from minimax.cli import main
    from minimax.config import (
        GAME_DATA_PRESETS,
        GAME_PRESETS,
        GAME_SHORTFALLS,
        MODEL_PRESETS,
        PRESETS,
        presets_reference,
    )

    page = "\n".join(presets_reference())
    for game, dataset in [*GAME_DATA_PRESETS, *GAME_SHORTFALLS]:
        assert f"| {game} on {dataset} |" in page
    for why in GAME_SHORTFALLS.values():
        assert f"| {why} |" in page
    for name in [*PRESETS, *MODEL_PRESETS, *GAME_PRESETS]:
        assert f"| {name} |" in page
    with pytest.raises(SystemExit) as stop:
        main(["train", "--help"])
    assert stop.value.code == 0 and "docs/reference.md" in capsys.readouterr().out


def test_every_game_preset_on_a_data_set_names_a_game_a_data_set_and_valid_settings():
    from minimax.config import DATASETS, GAME_DATA_PRESETS, GAME_SHORTFALLS, GAMES

    for game, dataset in [*GAME_DATA_PRESETS, *GAME_SHORTFALLS]:
        assert game in GAMES and dataset in DATASETS
    for game, dataset in GAME_DATA_PRESETS:
        TrainConfig(game=game, dataset=dataset).validate().check_options_apply()


def test_iteration_stats_means_last_norms_and_first_nonfinite_step():
    from minimax.algorithm.stats import IterationStats

    stats = IterationStats(("a", "b"), ("n1", "n2"), torch.device("cpu"))
    stats.add(torch.tensor([1.0, 2.0]), 1, torch.tensor([5.0, 6.0]))
    stats.add(torch.tensor([3.0, float("nan")]), 2)
    stats.add(torch.tensor([5.0, float("inf")]), 3, torch.tensor([7.0, 8.0]))
    rec = stats.read(3)
    assert rec["a"] == 3.0 and rec["first_nonfinite_step"] == 2  # the mean; the first bad step
    assert (rec["n1"], rec["n2"]) == (7.0, 8.0)  # the last diagnosed iteration's norms, not a mean
    assert stats.read(3) == {"step": 3, "a": 0.0, "b": 0.0, "first_nonfinite_step": -1}  # reset


def test_weight_average_weights():
    from minimax.algorithm.averaging import WeightAverage

    ema = WeightAverage(torch.nn.Linear(2, 2), beta=0.999)
    assert ema.weight(1) == pytest.approx(1 - 2 / 11) and ema.weight(10**6) == pytest.approx(1e-3)
    uniform = WeightAverage(torch.nn.Linear(2, 2), beta=0.999, uniform_from=100)
    assert uniform.weight(99) == pytest.approx(1 - 100 / 109) and [uniform.weight(t) for t in (100, 101, 103)] == \
        [1.0, 0.5, 0.25]


def test_run_directory_names_and_steps():
    from minimax.run import rundir

    assert rundir.step_of(rundir.checkpoint_name(1234)) == 1234 == rundir.step_of(rundir.grid_name(1234))
    assert rundir.step_of("latest") is None and rundir.step_of(".step-00000002.safetensors.x.tmp") is None
    assert rundir.is_checkpoint("step-123456789.safetensors") and not rundir.is_checkpoint("step-1.safetensors")
