"""The games as minimax trains them: selected by one option, played by the unchanged Algorithm 1, their
penalties in every D step, their presets, exact resume, and one-line errors for options that do not apply."""
import pytest
import torch
from test_checkpoint_resume import metrics_without_time, same_params, tiny
from test_game import small

from minimax.api import train
from minimax.cli import main
from minimax.config import TrainConfig
from minimax.errors import MinimaxError
from minimax.games import GAMES, make_objective
from minimax.run.setup import build_trainer


def played(cfg: TrainConfig, iterations: int):
    game = build_trainer(cfg)
    for i in range(iterations):
        game.iteration(diagnose=i == iterations - 1)
    return game


@pytest.mark.parametrize("name", GAMES)
def test_every_game_trains_with_finite_statistics_in_its_own_names(name):
    game = played(small(game=name, batch_size=16), 3)
    rec = game.read_stats()
    penalty = ("gradient_penalty",) if name == "wgan-gp" else ()
    expected = make_objective(game.cfg.game, **game.cfg.game_options).statistics_names + penalty
    assert set(expected) <= set(rec)
    assert all(isinstance(rec[k], float) and rec[k] == rec[k] for k in expected)
    assert rec["first_nonfinite_step"] == -1
    assert all(k in rec for k in game.objective.diagnostic_names)


def test_the_js_member_of_f_gan_plays_exactly_the_2014_game():
    """f-js's losses are the minimax game's plus constants (log 2 in each term): the same gradients, so the
    same trajectory, up to float rounding."""
    a, b = played(small(), 30), played(small(game="f-js"), 30)
    for p, q in zip(list(a.G.parameters()) + list(a.D.parameters()), list(b.G.parameters()) + list(b.D.parameters())):
        assert torch.allclose(p, q, atol=1e-5)


def test_wgan_gp_takes_the_papers_settings_under_what_the_user_sets():
    # (on Fashion-MNIST; ring, grid and MNIST add the settings measured for the game there, GAME_DATA_PRESETS)
    cfg = TrainConfig(game="wgan-gp", dataset="fashion-mnist")
    assert (cfg.k, cfg.lr, cfg.beta1, cfg.beta2, cfg.gp_weight, cfg.d_norm) == (5, 1e-4, 0.0, 0.9, 10.0, "layer")
    cfg = TrainConfig(game="wgan-gp", dataset="gauss1d")
    assert cfg.steps == TrainConfig(dataset="gauss1d").steps  # the data set's preset applies to what the game leaves
    cfg = TrainConfig.resolve(game="wgan-gp", dataset="fashion-mnist", k=2, gp_weight=1.0)
    assert (cfg.k, cfg.gp_weight, cfg.lr) == (2, 1.0, 1e-4)


def test_wgan_gp_on_mnist_takes_its_measured_preset_over_the_papers():
    """One critic step at DCGAN's 2e-4 with β = (0.5, 0.9) (docs/results-toy.md, held out at equal wall time); the
    paper's penalty and layer norm stay; what the user sets stays above both."""
    cfg = TrainConfig(game="wgan-gp", dataset="mnist")
    assert (cfg.k, cfg.lr, cfg.beta1, cfg.beta2, cfg.gp_weight, cfg.d_norm) == (1, 2e-4, 0.5, 0.9, 10.0, "layer")
    cfg = TrainConfig.resolve(game="wgan-gp", dataset="mnist", k=5, beta1=0.0)
    assert (cfg.k, cfg.beta1, cfg.lr) == (5, 0.0, 2e-4)


def test_the_bounded_f_gans_on_mnist_take_sn_gans_discriminator():
    """f-reverse-kl and f-hellinger on MNIST: spectral norm in D and no BatchNorm (docs/results-toy.md, held out at
    equal wall time); the other f-GANs keep DCGAN's D, and what the user sets stays above the preset."""
    for game in ("f-reverse-kl", "f-hellinger"):
        cfg = TrainConfig(game=game, dataset="mnist")
        assert (cfg.spectral_norm, cfg.d_norm, cfg.lr) == ("on", "none", 2e-4)
        assert TrainConfig.resolve(game=game, dataset="mnist", model="dcgan", d_norm="batch").d_norm == "batch"
        assert TrainConfig(game=game, dataset="fashion-mnist").spectral_norm == "off"  # measured on MNIST only
    assert TrainConfig(game="f-kl", dataset="mnist").spectral_norm == "off"


def test_penalties_enter_the_discriminator_step():
    """With R1, D's step differs from the unpenalised one and the penalty is logged; the players see the same
    minibatches (the penalty draws no data)."""
    plain, r1 = played(small(), 1), played(small(r1=10.0), 1)
    assert not torch.equal(next(plain.D.parameters()), next(r1.D.parameters()))
    rec = r1.read_stats()
    assert rec["r1_penalty"] > 0
    wgan = played(small(game="wgan-gp", r1=1.0, spectral_norm="on"), 2).read_stats()
    assert wgan["gradient_penalty"] >= 0 and wgan["r1_penalty"] >= 0


def test_spectral_norm_parametrises_every_layer_of_d_only():
    game = build_trainer(small(spectral_norm="on"))
    linear = [m for m in game.D.modules() if isinstance(m, torch.nn.Linear)]
    assert linear and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in linear)
    assert not any(torch.nn.utils.parametrize.is_parametrized(m) for m in game.G.modules())


@pytest.mark.parametrize("extra", [{"game": "wgan-gp", "k": 2, "r1": 0.5, "spectral_norm": "on"},
                                   {"game": "f-kl", "g_loss": "saturating"}], ids=["wgan-gp-r1-sn", "f-kl"])
def test_resume_of_other_games_is_bitwise_identical(tmp_path, extra):
    straight = train(tiny(tmp_path / "a", steps=16, d_dropout=0.0, **extra), progress=False, plots=False)
    train(tiny(tmp_path / "b", steps=8, d_dropout=0.0, **extra), progress=False, plots=False)
    resumed = train(resume=tmp_path / "b", steps=16, progress=False, plots=False)
    assert same_params(straight.trainer, resumed.trainer)
    assert metrics_without_time(tmp_path / "a") == metrics_without_time(tmp_path / "b")


@pytest.mark.parametrize("settings,needle", [
    (dict(game="nope"), "unknown game 'nope'"),
    (dict(game="hinge", g_loss="saturating"), "g_loss 'saturating' applies to game minimax, f-kl, .*, not 'hinge'"),
    (dict(game="lsgan", label_smoothing=0.1), "label_smoothing 0.1 applies to game minimax, not 'lsgan'"),
    (dict(gp_weight=10.0), r"gp_weight 10.0 applies to game wgan-gp, not 'minimax': it would be ignored \(use r1"),
    (dict(game="wgan-gp", gp_weight=-1.0), "gp_weight must be >= 0"),
    (dict(r1=-0.5), "r1 must be >= 0"),
    (dict(game="wgan-gp", pack=2), "does not apply with pack > 1"),
    (dict(game="wgan-gp", model="dcgan", d_norm="batch"), "BatchNorm couples the examples"),
])
def test_options_that_do_not_apply_are_refused(settings, needle):
    with pytest.raises(MinimaxError, match=needle):
        TrainConfig.resolve(**settings)


@pytest.mark.parametrize("args,needle", [
    (["--game", "wgan"], "unknown game 'wgan'"),
    (["--game", "hinge", "--g-loss", "saturating"], "not 'hinge': it would be ignored"),
    (["--game", "wgan-gp", "--gp-weight=-1"], "gp_weight must be >= 0"),
])
def test_cli_game_errors_are_one_line_exit_2(args, needle, capsys, tmp_path):
    code = main(["train", "--out", str(tmp_path / "r"), *args])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_plots_and_report_show_each_games_own_optimum(tmp_path):
    from minimax.viz.report import write_report

    # (3 snapshots each: the replay draws a frame per snapshot, which this test does not read)
    run = train(tiny(tmp_path / "w", game="wgan-gp", k=1, steps=8, d_dropout=0.0, snapshots=3), progress=False,
                plots=True)
    for name in ("losses.png", "discriminator.png", "gradients.png", "samples.png"):
        assert (run.run_dir / name).stat().st_size > 0
    train(tiny(tmp_path / "m", steps=8, snapshots=3), progress=False, plots=False)
    page = write_report([run.run_dir, tmp_path / "m"]).read_text()
    assert "game wgan-gp: W1 = sup" in page and "V = 0" in page  # wgan-gp's optimum, W1(p, p) = 0
    assert "game minimax: V(D, G)" in page and "V = -1.386" in page and "D(x) = 0.5" in page
    assert page.count("<figcaption>the saturation picture") == 1  # only the minimax run has §3's picture


@pytest.mark.parametrize("name", GAMES)
def test_every_game_has_the_members_algorithm_1_and_the_pictures_read(name):
    """Each game object offers every member of games.GameObjective, with statistics of the declared length."""
    import typing

    from minimax.games import GameObjective, make_objective

    objective = make_objective(name)
    members = [m for m in GameObjective.__dict__ if not m.startswith("_")] + list(typing.get_type_hints(GameObjective))
    missing = [m for m in members if not hasattr(objective, m)]
    assert not missing, missing
    real, fake = torch.randn(16), torch.randn(16)
    seen = (real,) if objective.generator_sees_real else ()  # L_G of a pairing game takes D(x) too
    stats = objective.statistics(real, fake, objective.generator_loss(fake, *seen))
    assert stats.shape == (len(objective.statistics_names),) and torch.isfinite(stats).all()
    assert len(objective.diagnostic_losses(fake, *seen)) == len(objective.diagnostic_names)
