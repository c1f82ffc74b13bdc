"""A predictable configuration: each value's source (default < dataset preset < model preset < game preset <
game-on-dataset preset < config file < flag), ``minimax train --print-config`` (a config file that reads back to
the same configuration), and ``replaced()`` resolving the presets again instead of keeping the old ones."""
import json

import pytest

from minimax.cli import main
from minimax.config import TrainConfig
from minimax.errors import MinimaxError


def test_each_value_names_the_layer_it_came_from(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[optimizer]\nlr = 3e-4\n[algorithm]\nsteps = 77\n')
    cfg = TrainConfig.resolve(f, dataset="grid", game="wgan-gp", steps=50)
    s = cfg.sources
    assert (s["steps"], cfg.steps) == ("flag or argument", 50)  # the flag over the file
    assert (s["lr"], cfg.lr) == (f"config file {f}", 3e-4)  # the file over the game-on-dataset preset (1e-3)
    assert (s["k"], cfg.k) == ("game-on-dataset preset (wgan-gp on grid)", 5)
    assert (s["d_norm"], cfg.d_norm) == ("game preset (wgan-gp)", "layer")
    assert (s["batch_size"], cfg.batch_size) == ("dataset preset (grid)", 256)
    assert (s["seed"], cfg.seed) == ("default", 0)
    assert TrainConfig(dataset="mnist", model="dcgan").sources["batch_size"] == "model preset (dcgan)"


def test_print_config_shows_the_sources_and_reads_back_to_the_same_configuration(tmp_path, capsys):
    code = main(["train", "--dataset", "grid", "--game", "wgan-gp", "--steps", "50", "--out", str(tmp_path / "r"),
                 "--print-config"])
    text = capsys.readouterr().out
    assert code == 0 and not (tmp_path / "r").exists()  # printed, nothing trained
    assert "k = 5  # game-on-dataset preset (wgan-gp on grid)" in text
    assert "steps = 50  # flag or argument" in text and "# data_dir = (none)  # default" in text
    (tmp_path / "printed.toml").write_text(text)
    again = TrainConfig.resolve(tmp_path / "printed.toml")
    assert again == TrainConfig.resolve(dataset="grid", game="wgan-gp", steps=50, out=str(tmp_path / "r"))


def test_a_runs_config_json_records_the_sources_and_a_resume_keeps_them(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--steps", "4", "--out", str(run), "--progress", "off", "--no-plots",
                 "--tensorboard", "off", "--eval-samples", "100"]) == 0
    recorded = json.loads((run / "config.json").read_text())["sources"]
    assert recorded["steps"] == "flag or argument"
    assert (recorded["batch_size"], recorded["seed"]) == ("dataset preset (ring)", "default")
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--print-config"]) == 0
    text = capsys.readouterr().out
    assert "steps = 4  # flag or argument" in text and "batch_size = 256  # dataset preset (ring)" in text
    assert main(["train", "--resume", str(run), "--steps", "6", "--progress", "off", "--no-plots"]) == 0
    recorded = json.loads((run / "config.json").read_text())["sources"]
    assert (recorded["steps"], recorded["batch_size"]) == ("flag or argument", "dataset preset (ring)")
    assert TrainConfig.resolve(run / "config.json").steps == 6  # a run's config.json is a config file still
    old = {k: v for k, v in json.loads((run / "config.json").read_text()).items() if k != "sources"}
    (run / "config.json").write_text(json.dumps(old))  # a run trained before the record
    assert main(["train", "--resume", str(run), "--print-config"]) == 0
    assert f"steps = 6  # the run {run}" in capsys.readouterr().out


def test_replaced_resolves_the_presets_of_the_new_component_again():
    wgan = TrainConfig(dataset="grid").replaced(game="wgan-gp")
    assert wgan == TrainConfig(dataset="grid", game="wgan-gp")
    assert (wgan.k, wgan.gp_weight, wgan.beta2) == (5, 0.1, 0.9)  # not k 1, λ 0, β2 0.999
    ring = TrainConfig(dataset="ring")
    grid = ring.replaced(dataset="grid")  # the 2014 game's ring widths and G's BatchNorm go
    assert grid == TrainConfig(dataset="grid")
    assert (grid.g_hidden, grid.g_norm) == ((256, 256, 256), "none") != (ring.g_hidden, ring.g_norm)
    mine = TrainConfig(dataset="ring", steps=321, g_hidden=(64,)).replaced(dataset="grid")
    assert (mine.steps, mine.g_hidden) == (321, (64,))  # what was set stays set
    stored = TrainConfig.from_dict(TrainConfig(dataset="ring").to_dict())
    assert stored.replaced(seed=3).seed == 3
    with pytest.raises(MinimaxError, match="sets every value .a stored run's., so a new game"):
        stored.replaced(game="wgan-gp")
