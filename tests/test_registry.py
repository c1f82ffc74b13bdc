"""Conformance: every component minimax.catalogue names passes the same checks (as torchmetrics' MetricTester).

A game builds from its name and carries that name, its equation in a docstring, a label and a TensorBoard tag for
every statistic it logs, and a test against a closed form or a numerical optimum; a metric has a runner,
documented score fields, report rows that render from a record written and read back as JSON, a command and a
run file, and a test; a dataset loads, a player builds and runs, and the penalties, downloads and TensorBoard tags
are listed where the catalogue says.
"""
from __future__ import annotations

import inspect
import json
import re
import string
import sys
from pathlib import Path

import pytest
import torch

from minimax import catalogue, registry
from minimax.config import TrainConfig
from minimax.files import json_record

TESTS = Path(__file__).resolve().parent
TEST_TEXT = {p.name: p.read_text(encoding="utf-8") for p in TESTS.glob("test_*.py")}
MATH = re.compile(r"[=≤≥∫σ∇‖]|log|E_|\\\[")  # an equation: a relation, an integral, a norm, a log, an expectation


def _files_naming(*needles: str) -> list[str]:
    """The test files (other than this one) that name every one of ``needles``."""
    return [n for n, text in TEST_TEXT.items() if n != "test_registry.py" and all(k in text for k in needles)]


# ------------------------------------------------------------------------------------------------ games
@pytest.mark.parametrize("name", registry.games())
def test_every_game_builds_from_its_name_and_describes_itself(name):
    from minimax.games import make_objective

    game = make_objective(name)
    assert game.name == name
    declared = registry.games()[name]  # what its declaration says it has, it has (ADA reads real_sign)
    assert declared.real_sign == callable(getattr(game, "real_sign", None)), f"{name}: real_sign declared wrongly"
    assert set(declared.options) <= set(registry.registry().options)
    doc = (type(game).__doc__ or "") + (sys.modules[type(game).__module__].__doc__ or "")
    assert MATH.search(doc), f"{name}: no equation in its class's or module's docstring"
    assert MATH.search(game.formula), f"{name}: formula {game.formula!r} is not an equation"
    logged = (*game.statistics_names, *game.diagnostic_names)
    missing = [k for k in logged if k not in catalogue.STATISTICS]
    assert not missing, f"{name} logs {missing} without a label or TensorBoard tag in catalogue.STATISTICS"
    assert set(game.equilibrium) <= set(game.statistics_names)
    assert set(game.optimum_labels) <= set(game.equilibrium)
    assert set(game.diagnostic_labels) <= set(game.diagnostic_names)
    assert {"d_real", "d_fake"} <= set(game.symbols)


@pytest.mark.parametrize("name", registry.games())
def test_every_game_is_checked_against_its_theory(name):
    """A closed form, quadrature or a numerical optimum: tests/test_games_theory.py and test_relativistic.py
    (the 2014 game: tests/test_theory.py and test_objective.py)."""
    from minimax.games import make_objective

    cls = type(make_objective(name)).__name__
    theory = ("test_theory.py", "test_objective.py", "test_games_theory.py", "test_relativistic.py")
    assert [n for n in theory if cls in TEST_TEXT[n] or f'"{name}"' in TEST_TEXT[n]
            or (name.startswith("f-") and f'"{name[2:]}"' in TEST_TEXT[n])], f"{name}: no theory test"


def test_the_catalogue_is_the_one_list_of_names():
    from minimax.data.download import RESOURCES
    from minimax.data.toy import TOY_DATASETS
    from minimax.games import f_gan, regularizers
    from minimax.games.minimax import GENERATOR_LOSSES
    from minimax.run.runlog import TensorBoardLog

    assert sorted(d for d in f_gan.DIVERGENCES if d != "gan") == sorted(g.arguments["divergence"] for g in
                                                               registry.games().values() if g.object == "FGame")
    assert tuple(TOY_DATASETS) == registry.dataset_names(images=False)
    # the data sets' properties that the metrics' declarations name through the catalogue: the same sets
    assert tuple(RESOURCES) == catalogue.DOWNLOADS == registry.dataset_names(download=True)
    assert catalogue.WITH_TEST_SPLIT == registry.dataset_names(test_split=True)
    assert set(catalogue.IMAGE_SETS) == set(registry.dataset_names(images=True))
    assert GENERATOR_LOSSES is catalogue.GENERATOR_LOSSES
    penalties = (regularizers.GradientPenalty, regularizers.R1Penalty, regularizers.R2Penalty)
    assert tuple(p.name for p in penalties) == catalogue.PENALTIES
    assert set(catalogue.PENALTIES) <= set(catalogue.STATISTICS)
    assert sorted(TensorBoardLog.SCALARS.values()) == sorted(catalogue.STATISTICS)
    assert len(set(TensorBoardLog.SCALARS)) == len(catalogue.STATISTICS)  # one tag each


def test_no_module_outside_games_asks_a_games_name():
    """A game's behaviour lives in its module (games/) and its options and properties in its declaration there
    (COMPONENTS): no other module compares the game's name with a literal name."""
    root = Path(__file__).resolve().parents[1] / "minimax"
    names = "|".join(re.escape(g) for g in registry.games())
    asks = re.compile(rf"""(==|!=|\bin)\s*\(?["']({names})["']""")
    found = [f"{path.relative_to(root)}:{i}: {line.strip()}" for path in sorted(root.rglob("*.py"))
             if "games" not in path.parts and path.name != "catalogue.py"
             for i, line in enumerate(path.read_text().splitlines(), 1) if asks.search(line)]
    assert not found, found
    assert asks.search('if self.game == "wgan-gp" and') and asks.search("x in ('minimax', 'lsgan')")


def test_no_module_outside_players_asks_a_models_name():
    """The same for the player architectures: what a model does differently is in its declaration (players/)."""
    root = Path(__file__).resolve().parents[1] / "minimax"
    names = "|".join(re.escape(m) for m in registry.players())
    asks = re.compile(rf"""(==|!=|\bin)\s*\(?["']({names})["']""")
    found = [f"{path.relative_to(root)}:{i}: {line.strip()}" for path in sorted(root.rglob("*.py"))
             if "players" not in path.parts for i, line in enumerate(path.read_text().splitlines(), 1)
             if asks.search(line)]
    assert not found, found


def test_every_games_statistics_are_drawn_with_its_labels(tmp_path):
    """The three curve plots for every game from records holding every statistic it logs (a KeyError here was
    a label missing from the plots)."""
    from minimax.games import make_objective
    from minimax.viz import plots

    for name in registry.games():
        game = make_objective(name)
        keys = (*game.statistics_names, *game.diagnostic_names, *catalogue.PENALTIES)
        records = [{"step": s, **{k: 0.5 + 0.01 * s for k in keys}} for s in (0, 10, 20)]
        for draw in (plots.plot_losses, plots.plot_discriminator, plots.plot_gradients):
            draw(records, tmp_path / f"{name}-{draw.__name__}.png", game)
            assert (tmp_path / f"{name}-{draw.__name__}.png").stat().st_size > 1000


# ---------------------------------------------------------------------------------------------- metrics
@pytest.mark.parametrize("name", registry.metrics())
def test_every_metric_has_its_formula_runner_fields_report_and_test(name, tmp_path):
    from minimax import evaluation
    from minimax.viz.report import evaluation_rows

    metric = registry.metrics()[name]
    assert metric.file == f"{name}.json" and metric.datasets and metric.headline
    assert set(metric.datasets) <= set(registry.datasets())
    module = sys.modules[metric.module]  # the runner: one module, named by the entry, naming no other metric
    assert evaluation.EVALUATORS[name] is module.run and module.SCORES is evaluation.SCORE_FIELDS[name]
    others = [m for m in registry.metrics() if m != name and re.search(rf"[\"']{m}[\"']", inspect.getsource(module))]
    assert not others, f"{metric.module} names other metrics: {others}"
    fields = module.SCORES
    assert set(metric.headline) <= set(fields), f"{name}: headline {metric.headline} not in SCORE_FIELDS"
    # the report's rows render from a record that went through the writer and back
    record = {k: 0.25 + i for i, k in enumerate(fields)}
    record["protocol"] = {k: f"<{k}>" for k in evaluation.PROTOCOL_FIELDS}
    (tmp_path / metric.file).write_bytes(json_record(record))
    read = json.loads((tmp_path / metric.file).read_text())
    rows = evaluation_rows(metric, read, tmp_path / metric.file)
    assert list(rows) == [label for label, _ in metric.report] and metric.report
    for label, text in rows.items():
        assert "unreadable" not in text and "?" not in text, (label, text)
    for _, form in metric.report:
        used = {f.split("[")[0] for _, f, _, _ in string.Formatter().parse(form) if f}
        assert used <= set(fields) | {"p"}, f"{name}: report row uses {used - set(fields)}"
    # a field gone: the row says so instead of drawing a number
    first = next(f for _, f, _, _ in string.Formatter().parse(metric.report[0][1]) if f and f != "p"
                 and not f.startswith("p["))
    assert "unreadable" in evaluation_rows(metric, {k: v for k, v in read.items() if k != first},
                                           tmp_path / metric.file)[metric.report[0][0]]
    assert _files_naming(f'"{name}"', "eval"), f"no test evaluates {name!r}"


def test_every_metric_is_a_command_and_a_run_file():
    from minimax.cli import build_parser
    from minimax.run.rundir import RUN_FILES

    parser = build_parser()
    for name, metric in registry.metrics().items():
        assert metric.file in RUN_FILES
        args = parser.parse_args(["eval", name, "--data-dir", "d"])
        assert args.metric == name and args.n is None
        assert hasattr(args, "features") == metric.features and hasattr(args, "real_dir") == metric.reference
        for option in metric.options:  # a switch is off; a value, when not given, is the declared default
            assert getattr(args, option.name, option.default) == option.default


# ------------------------------------------------------------------------------- data, players, options
@pytest.mark.parametrize("name", registry.datasets())
def test_every_dataset_loads_and_draws_minibatches(name, tmp_path):
    """From small files the test writes (cifar10's pickled batches: tests/test_image_data.py)."""
    from PIL import Image
    from test_image_data import write_mnist

    from minimax.data import load_dataset

    if name == "cifar10":
        assert _files_naming('"cifar10"', "load_dataset")
        return
    if name == "folder":
        for i in range(3):
            Image.new("RGB", (20, 20), (80 * i, 40, 200)).save(tmp_path / f"im{i}.png")
    elif registry.datasets()[name].images:
        write_mnist(tmp_path, n_train=12, n_test=4)
    data = load_dataset(TrainConfig(dataset=name, data_dir=str(tmp_path),
                                    image_size=16 if name == "folder" else TrainConfig.image_size))
    assert data.sample(5, torch.Generator().manual_seed(0)).shape == (5, *data.shape)


@pytest.mark.parametrize("name", registry.players())
def test_every_player_builds_and_is_tested(name):
    from minimax.data import load_dataset
    from minimax.players import player_architectures

    image = {"paper": (1, 28, 28), "dcgan": (1, 28, 28), "veegan": (3, 28, 28), "r3gan": (3, 32, 32)}.get(name)
    data = load_dataset(TrainConfig(dataset="ring"))
    if image is not None:
        class Images:
            shape = image
            g_output = "tanh"
        data = Images()
    cfg = TrainConfig(model=name, dataset="ring" if image is None else "mnist")
    G, D = player_architectures(cfg, data)
    G.eval(), D.eval()  # (BatchNorm on 4 samples)
    with torch.no_grad():
        x = G(torch.randn(4, cfg.latent_dim))
        assert x.shape == (4, *data.shape) and D(x).numel() == 4  # one raw output per sample
    assert _files_naming(f'"{name}"', "model"), f"no test trains model {name!r}"


@pytest.mark.parametrize("names, field", [(catalogue.UPDATES, "update"), (catalogue.OPTIMIZERS, "optimizer"),
                                          (catalogue.SCHEDULES, "lr_decay"), (catalogue.PRIORS, "prior"),
                                          (catalogue.CONDITIONS, "condition"), (tuple(registry.games()), "game")])
def test_every_named_option_is_a_choice_of_its_field(names, field):
    assert TrainConfig.__dataclass_fields__[field].metadata["choices"] == names
