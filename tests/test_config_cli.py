"""Configuration and command line: every bad input is one line, exit 2, no traceback."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minimax.cli import main
from minimax.config import PRESETS, TrainConfig
from minimax.errors import MinimaxError

ROOT = Path(__file__).resolve().parents[1]

TINY = ["--steps", "6", "--batch-size", "16", "--g-hidden", "8", "--d-hidden", "8", "--latent-dim", "2",
        "--log-every", "2", "--checkpoint-every", "3", "--eval-samples", "50", "--no-plots", "--device", "cpu"]


def run_cli(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args,needle", [
    (["--dataset", "moons"], "unknown dataset 'moons'"),
    (["--k", "0"], "k must be in [1, 1000]"),
    (["--batch-size", "0"], "batch_size must be in [1, 1048576]"),
    (["--lr", "0"], "lr must be > 0"),
    (["--lr=-1e-3"], "lr must be > 0"),
    (["--lr", "nan"], "lr must be finite"),
    (["--steps", "ten"], "--steps must be an integer"),
    (["--g-hidden", "8,x"], "--g-hidden must be a comma-separated list of integers"),
    (["--label-smoothing", "1.0"], "label_smoothing must be in [0, 1)"),
    (["--g-loss", "wgan"], "unknown g_loss 'wgan'"),
    (["--batch-size", "10", "--pack", "4"], "must be a multiple of pack"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    # an option the chosen component does not read is refused, not ignored
    (["--optimizer", "sgd", "--beta1", "0.3"], "beta1 0.3 applies to optimizer adam, not 'sgd': it would be ignored"),
    (["--optimizer", "adam", "--momentum", "0.5"], "momentum 0.5 applies to optimizer sgd, not 'adam'"),
    (["--model", "paper", "--dataset", "mnist", "--data-dir", ".", "--d-dropout", "0.3"],
     "d_dropout 0.3 applies to model mlp, not 'paper'"),
    (["--model", "dcgan", "--dataset", "mnist", "--data-dir", ".", "--g-hidden", "8,8"],
     "g_hidden 8,8 applies to model mlp, not 'dcgan'"),
    (["--model", "mlp", "--d-norm", "layer"], "d_norm 'layer' applies to model dcgan, not 'mlp'"),
    (["--dataset", "grid", "--data-dir", "photos"], "data_dir 'photos' applies to dataset mnist, fashion-mnist, "
     "stacked-mnist, cifar10, folder, not 'grid': it would be ignored"),
])
def test_train_rejects_bad_values_with_one_line(args, needle, capsys, tmp_path):
    code, out, err = run_cli(["train", "--out", str(tmp_path / "r"), *args], capsys)
    assert code == 2
    assert needle in err
    assert err.count("\n") == 1 and err.startswith("minimax: error:")


def test_argument_errors_say_minimax_once_and_an_empty_path_is_not_auto(tmp_path, capsys):
    code, _, err = run_cli(["train", "--bogus"], capsys)
    assert (code, err) == (2, "minimax: error: unrecognized arguments: --bogus\n")
    code, _, err = run_cli(["train", "--steps"], capsys)
    assert code == 2 and err == "minimax: error: train: argument --steps: expected one argument\n"
    assert run_cli(["train", "--out", str(tmp_path / "r"), *TINY], capsys)[0] == 0
    code, _, err = run_cli(["sample", str(tmp_path / "r"), "--interpolate", "2", "--path", ""], capsys)
    assert code == 2 and "--path must be one of auto, slerp, lerp, got ''" in err


def test_unwritable_out_dir(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli(["train", "--out", str(blocker / "run"), *TINY], capsys)
    assert code == 2 and "cannot write to run directory" in err


def test_config_file_unknown_key_suggests_the_right_one(tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"batchsize": 32}))
    code, _, err = run_cli(["train", "--config", str(cfg)], capsys)
    assert code == 2 and "unknown config file" in err and "did you mean 'batch_size'" in err


def test_config_file_and_flags_merge(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('dataset = "grid"\nsteps = 7\ng_hidden = [4, 5]\n')
    from minimax.cli import build_parser, config_from_args

    args = build_parser().parse_args(["train", "--config", str(cfg), "--steps", "9"])
    c = config_from_args(args)
    assert (c.dataset, c.steps, c.g_hidden) == ("grid", 9, (4, 5))


def test_file_is_validated_only_after_the_flags_are_merged(tmp_path):
    """pack = 3 in the file and --batch-size 300 on the command line is a valid run (was: 'batch_size (256)
    must be a multiple of pack (3)', because the file was validated alone)."""
    from minimax.cli import build_parser, config_from_args

    cfg = tmp_path / "f.toml"
    cfg.write_text("pack = 3\n")
    c = config_from_args(build_parser().parse_args(["train", "--config", str(cfg), "--batch-size", "300"]))
    assert (c.pack, c.batch_size, c.lr) == (3, 300, PRESETS["ring"]["lr"])  # file, flag, preset
    assert TrainConfig.resolve(cfg, batch_size=300) == c
    with pytest.raises(MinimaxError, match="multiple of pack"):  # still checked, once, on the merged settings
        TrainConfig.resolve(cfg, batch_size=301)


def test_python_config_gets_the_dataset_preset_like_the_cli():
    assert TrainConfig(dataset="grid") == TrainConfig.resolve(dataset="grid")
    c = TrainConfig(dataset="grid", steps=5000, lr=2e-4)  # given values win, even when equal to the defaults
    assert (c.steps, c.lr, c.prior, c.latent_dim) == (5000, 2e-4, "uniform", 2)
    assert TrainConfig(dataset="mnist").lr == TrainConfig.lr  # no preset: the field's default
    with pytest.raises(TypeError, match="did you mean 'batch_size'"):
        TrainConfig(batchsize=3)


def test_python_api_and_cli_train_the_same_grid_run(tmp_path, capsys):
    """minimax.train(TrainConfig(dataset="grid")) is the run `minimax train --dataset grid` trains: the
    metrics logs are bitwise equal (was: the Python run trained without the grid preset)."""
    import minimax
    import minimax.run.loop as _  # noqa: F401  (the submodule loaded first must not shadow the function)
    from minimax.run.runlog import read_metrics

    short = dict(steps=120, log_every=20, eval_samples=100, snapshots=1, tensorboard="off")
    minimax.train(minimax.TrainConfig(dataset="grid", out=str(tmp_path / "api"), **short), progress=False,
                  plots=False)
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in short.items()]
    assert main(["train", "--dataset", "grid", "--out", str(tmp_path / "cli"), "--no-plots", *flags]) == 0
    capsys.readouterr()

    def log(run):
        return [{k: v for k, v in r.items() if k != "steps_per_sec"} for r in read_metrics(tmp_path / run /
                                                                                            "metrics.jsonl")]

    assert len([r for r in log("api") if "event" not in r]) == 6 and log("api") == log("cli")  # (+ findings)
    configs = [json.loads((tmp_path / run / "config.json").read_text()) for run in ("api", "cli")]
    assert configs[0] == {**configs[1], "out": str(tmp_path / "api")} and configs[0]["lr"] == PRESETS["grid"]["lr"]


def test_version_is_single_sourced(capsys):
    import importlib.metadata

    import minimax

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"minimax {minimax.__version__}"
    assert importlib.metadata.version("minimax-gan") == minimax.__version__


def test_config_roundtrips_through_dict():
    c = TrainConfig(dataset="grid", g_hidden=(3, 4), lr=1e-3, g_lr=5e-4)
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_every_config_field_is_a_documented_flag(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = capsys.readouterr().out
    import dataclasses

    for f in dataclasses.fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in help_text
        assert f.metadata["help"].split()[0] in help_text


def test_train_help_fits_a_screen_and_states_the_order(capsys, monkeypatch):
    """--help is one line per setting at 80 columns (≤ 120 lines), says how the values stack and where the rest is;
    the whole meaning of each setting is on the reference page."""
    from minimax.config import ORDER

    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert len(text.splitlines()) <= 120
    assert " < ".join(ORDER) in " ".join(text.split()) and "docs/reference.md" in text
    page = (Path(__file__).resolve().parent.parent / "docs" / "reference.md").read_text()
    for f in dataclasses.fields(TrainConfig):
        assert f.metadata["more"] in page.replace("\\|", "|")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from([f for f in TrainConfig.__dataclass_fields__] + ["junk", "lR"]),
                       st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(),
                                 st.text(max_size=8), st.lists(st.integers(-3, 300), max_size=4),
                                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))))
def test_config_loader_fuzz_gives_config_or_clean_error(d):
    try:
        c = TrainConfig.from_dict(d)
    except MinimaxError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(c, TrainConfig)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_config_file_fuzz_random_bytes(tmp_path_factory, blob):
    for suffix in (".json", ".toml"):
        p = tmp_path_factory.mktemp("cfg") / f"c{suffix}"
        p.write_bytes(blob)
        try:
            TrainConfig.from_file(p)
        except MinimaxError as e:
            assert "\n" not in str(e)


def test_train_then_sample(tmp_path, capsys):
    run = tmp_path / "run"
    code, out, _ = run_cli(["train", "--out", str(run), *TINY], capsys)
    assert code == 0 and "done: 6 iterations" in out
    for name in ("config.json", "metrics.jsonl", "summary.json", "checkpoints/latest"):
        assert (run / name).exists(), name
    summary = json.loads((run / "summary.json").read_text())
    assert {"modes", "high_quality", "reverse_kl"} <= set(summary)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6]
    for key in ("value", "d_loss", "g_loss", "total_loss", "d_real", "d_fake", "g_grad_norm_saturating",
                "g_grad_norm_non_saturating", "steps_per_sec"):
        assert key in records[-1]
    out_file = tmp_path / "s.npy"
    code, _, _ = run_cli(["sample", str(run), "--n", "37", "--out", str(out_file), "--seed", "4"], capsys)
    assert code == 0
    x = np.load(out_file)
    assert x.shape == (37, 2) and x.dtype == np.float32
    run_cli(["sample", str(run), "--n", "37", "--out", str(tmp_path / "t.npy"), "--seed", "4"], capsys)
    assert np.array_equal(x, np.load(tmp_path / "t.npy"))


def test_sample_without_an_output_writes_an_array_into_the_run(tmp_path, capsys):
    run = tmp_path / "run,1"  # a comma in the run's own path stays as it is
    assert main(["train", "--out", str(run), *TINY]) == 0
    capsys.readouterr()
    code, out, _ = run_cli(["sample", str(run), "--n", "5", "--seed", "3"], capsys)
    assert code == 0 and str(run / "sample-n5-seed3.npy") in out
    assert np.load(run / "sample-n5-seed3.npy").shape == (5, 2)


@pytest.mark.parametrize("setup,args,needle", [
    ("none", ["--n", "5", "--out", "X"], "does not exist"),
    ("nockpt", ["--n", "5", "--out", "X"], "has no checkpoint"),
    ("ok", ["--n", "0", "--out", "X"], "--n must be a positive integer"),
    ("ok", ["--n", "5", "--out", "/nonexistent-dir/x.npy"], "does not exist"),
    ("ok", ["--n", "5", "--grid", "G"], "--grid needs an image dataset"),
])
def test_sample_errors(setup, args, needle, tmp_path, capsys):
    run = tmp_path / "run"
    if setup in ("nockpt", "ok"):
        assert main(["train", "--out", str(run), *TINY]) == 0
        if setup == "nockpt":
            import shutil

            shutil.rmtree(run / "checkpoints")
    args = [a.replace("X", str(tmp_path / "o.npy")).replace("G", str(tmp_path / "g.png")) for a in args]
    capsys.readouterr()
    code, _, err = run_cli(["sample", str(run), *args], capsys)
    assert code == 2 and needle in err and err.count("\n") == 1


def test_real_process_error_has_no_traceback(tmp_path):
    p = subprocess.run([sys.executable, "-m", "minimax", "train", "--dataset", "nope"], capture_output=True,
                       text=True, cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip() == "minimax: error: unknown dataset 'nope'; choose one of: " \
                               "ring, grid, gauss1d, mnist, fashion-mnist, stacked-mnist, cifar10, folder"
    assert "Traceback" not in p.stderr


def test_a_run_without_a_terminal_prints_plain_progress_lines(tmp_path, capsys, monkeypatch):
    """stderr is not a terminal here (as under nohup, a scheduler or CI): --progress auto prints a plain line
    every PROGRESS_SECONDS (here: every iteration) with the step, the rate, the ETA and the monitor's state."""
    from minimax.run import records

    monkeypatch.setattr(records, "PROGRESS_SECONDS", 0.0)
    assert main(["train", "--out", str(tmp_path / "a"), *TINY]) == 0
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("minimax: step ")]
    assert lines[-1].startswith("minimax: step 6/6 (100%)") and "it/s, ETA" in lines[-1]
    assert any("health not judged yet (" in x or "health ok" in x for x in lines)  # (ok once 5 records are in)
    # the numbers are a record's, which may be older than the step: the line says which step they are from
    for x in lines:
        if "D_x" in x:
            now, then = x.split()[2].split("/")[0], x.split("; at step ")[1].split(":")[0]
            assert int(then) <= int(now), x
    assert main(["train", "--out", str(tmp_path / "b"), *TINY, "--progress", "off"]) == 0
    assert "minimax: step" not in capsys.readouterr().err


def test_an_option_that_does_not_apply_is_refused_from_python_too_but_a_preset_never_is(tmp_path):
    """minimax.train checks a fresh run's options as the command line does; what a preset sets (wgan-gp's
    layer-normalised critic and Adam betas) is never refused, and a stored config loads as it was written."""
    import minimax

    with pytest.raises(MinimaxError, match="g_hidden 64 applies to model mlp, not 'paper'"):
        minimax.train(TrainConfig(model="paper", dataset="mnist", data_dir=str(tmp_path), g_hidden=(64,),
                                  out=str(tmp_path / "r")))
    assert not (tmp_path / "r").exists()
    wgan = TrainConfig.resolve(game="wgan-gp", dataset="gauss1d")  # the preset's d_norm 'layer' with the mlp model
    assert (wgan.d_norm, wgan.beta1) == ("layer", 0.0)
    on_ring = TrainConfig.resolve(game="wgan-gp")  # and above it the game's preset on the ring (gan_toy.py's β)
    assert (on_ring.d_norm, on_ring.beta1, on_ring.gp_weight) == ("layer", 0.5, 0.1)
    stored = TrainConfig.from_dict({**TrainConfig().to_dict(), "optimizer": "sgd", "beta1": 0.3})
    assert stored.beta1 == 0.3  # (an old run's config.json is read, not re-judged)


# ---------------------------------------------------------------------------------------------- config sections
def test_every_setting_has_one_section():
    from minimax.config import SECTIONS

    homes = [name for section_name, fields in SECTIONS.values() for name in (section_name, *fields) if name]
    assert sorted(homes) == sorted(f.name for f in dataclasses.fields(TrainConfig))


def _sectioned(flat: dict) -> dict:
    from minimax.config import SECTIONS

    out: dict = {}
    for section, (name, fields) in SECTIONS.items():
        part = {("name" if key == name else key): flat[key] for key in (name, *fields) if key and key in flat}
        if part:
            out[section] = part
    return out


def _toml(d: dict) -> str:
    lines = []
    for section, values in d.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("config", sorted((ROOT / "configs").glob("*.toml")), ids=lambda p: p.stem)
def test_a_shipped_config_in_sections_resolves_to_the_same_run(config, tmp_path):
    from minimax.config import flatten_sections, read_config_file

    flat = flatten_sections(read_config_file(config), str(config))  # (a shipped file may be in sections already)
    sectioned = tmp_path / "sectioned.toml"
    sectioned.write_text(_toml(_sectioned(flat)))
    assert "[optimizer]" in sectioned.read_text() and "[players]" in sectioned.read_text()
    assert TrainConfig.resolve(sectioned, data_dir="d").to_dict() == TrainConfig.resolve(config, data_dir="d").to_dict()


@pytest.mark.parametrize("text,says", [
    ('[game]\nname = "lsgan"\nlr = 0.1\n', "[game] has no setting 'lr' (it belongs in [optimizer])"),
    ('[optimizer]\nfoo = 1\n', "[optimizer] has no setting 'foo'; its settings: name, lr,"),
    ('lr = 0.1\n[optimizer]\nlr = 0.2\n', "'lr' is set twice"),
    ('dataset = "grid"\n[data]\nname = "ring"\n', "'dataset' is set twice"),
    ('[algorithm]\nname = "x"\n', "[algorithm] has no setting 'name'"),
])
def test_a_misplaced_or_doubled_setting_is_one_line_error(tmp_path, capsys, text, says):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    assert main(["train", "--config", str(cfg), "--steps", "2", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err
    assert not (tmp_path / "run").exists()


def test_sections_and_flags_train_the_same_run(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\nname = "grid"\n[algorithm]\nsteps = 6\nbatch_size = 16\n[players]\nlatent_dim = 3\n'
                   'g_hidden = [8]\nd_hidden = [8]\n[optimizer]\nname = "sgd"\nmomentum = 0.5\n')
    a = TrainConfig.resolve(cfg)
    b = TrainConfig.resolve(dataset="grid", steps=6, batch_size=16, latent_dim=3, g_hidden=(8,), d_hidden=(8,),
                            optimizer="sgd", momentum=0.5)
    assert a.to_dict() == b.to_dict() and a.momentum == 0.5 and a.steps == 6


def test_training_leaves_the_callers_config_as_it_was(tmp_path):
    """A config is never changed after validation: the run's directory and absolute data folder go into the run's
    own copy (config.json), not into the object the caller passed."""
    from minimax.api import train

    cfg = TrainConfig(dataset="ring", steps=4, batch_size=8, g_hidden=(8,), d_hidden=(8,), log_every=2,
                      eval_samples=20, out=str(tmp_path / "run"))
    before = dict(vars(cfg))
    run = train(cfg, progress=False, plots=False)
    assert vars(cfg) == before and run.trainer.cfg is not cfg
    assert json.loads((tmp_path / "run" / "config.json").read_text())["out"] == str(tmp_path / "run")
    copy = cfg.replaced(steps=9)
    assert copy.steps == 9 and cfg.steps == 4
    with pytest.raises(MinimaxError):
        cfg.replaced(steps=0)


@pytest.mark.parametrize("settings", [dict(steps=10.5), dict(steps="10"), dict(batch_size=True), dict(lr=True),
                                      dict(lr="0.1"), dict(game=3), dict(class_names="a,b", condition="concat"),
                                      dict(g_hidden=64), dict(seed=1.0)])
def test_python_settings_of_the_wrong_type_are_refused_not_trained(settings):
    """The CLI and config files convert text to each field's type; from Python a value of another type (a float
    step count, a bool learning rate, a string of class names that would be split per character) is a one-line
    MinimaxError naming the field, before anything is built."""
    with pytest.raises(MinimaxError, match=next(iter(settings))):
        TrainConfig(**settings).validate()


def test_a_resume_whose_checkpoints_folder_is_not_writable_stops_before_training(tmp_path, capsys, monkeypatch):
    import tempfile

    run = tmp_path / "r"
    assert run_cli(["train", "--out", str(run), *TINY], capsys)[0] == 0
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    real = tempfile.mkstemp

    def refuse_checkpoints(*a, **kw):  # (as root, chmod would not stop the write: the refusal is the kernel's)
        if Path(kw.get("dir", "")).name == "checkpoints":
            raise PermissionError(13, "Permission denied")
        return real(*a, **kw)

    monkeypatch.setattr(tempfile, "mkstemp", refuse_checkpoints)
    code, _, err = run_cli(["train", "--resume", str(run), "--steps", "1000"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"cannot write to run directory {run / 'checkpoints'}: Permission denied" in err
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before
    assert "step" not in err  # refused before any iteration
