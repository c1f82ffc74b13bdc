"""Evaluation and sampling from Python: the same numbers and records as the command line, from a run loaded
for use (players only, no optimisers or streams)."""
import json

import pytest
import torch
from test_image_data import write_mnist

import minimax
from minimax.cli import main
from minimax.errors import MinimaxError
from minimax.run.sampling import generate
from minimax.run.setup import load_trainer
from minimax.run.trained import load_trained


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    data = write_mnist(tmp / "mnist", n_train=200, n_test=40)
    run = tmp / "run"
    assert main(["train", "--dataset", "mnist", "--data-dir", str(data), "--model", "mlp", "--steps", "4",
                 "--batch-size", "8", "--g-hidden", "16", "--d-hidden", "16", "--g-ema", "0.5", "--out", str(run),
                 "--no-plots", "--device", "cpu", "--tensorboard", "off"]) == 0
    return run, data, tmp / "cache"


def _without_time(record: dict) -> dict:
    return {**record, "protocol": {k: v for k, v in record["protocol"].items() if k != "evaluated"}}


@pytest.mark.parametrize("metric, extra", [("fid", {}), ("pr", {}),
                                           ("kid", {"subsets": 3, "subset_size": 20})])
def test_evaluate_from_python_matches_the_command_lines_record(mnist_run, metric, extra, capsys):
    run, data, cache = mnist_run
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in extra.items()]
    assert main(["eval", metric, str(run), "--data-dir", str(data), "--n", "130", "--cache-dir", str(cache),
                 *flags]) == 0
    printed = capsys.readouterr().out
    from_cli = json.loads((run / f"{metric}.json").read_text())
    (run / f"{metric}.json").unlink()
    scores = minimax.evaluate(run, metric, data_dir=str(data), n=130, cache_dir=str(cache), write=False, **extra)
    assert _without_time(scores) == _without_time(from_cli)
    # every field is documented in docs/reference.md (generated from these tables)
    from minimax.evaluation import PROTOCOL_FIELDS, SCORE_FIELDS

    assert set(scores) - {"source", "protocol"} <= set(SCORE_FIELDS[metric])
    assert set(scores["protocol"]) <= set(PROTOCOL_FIELDS)
    assert capsys.readouterr().out == ""  # the library prints nothing; the command printed its line
    assert printed.strip() and not (run / f"{metric}.json").exists()  # write=False wrote no record


def test_evaluate_refuses_bad_options_in_one_line(mnist_run):
    run, data, cache = mnist_run
    with pytest.raises(MinimaxError, match="unknown metric 'fidd'"):
        minimax.evaluate(run, "fidd", data_dir=str(data))
    with pytest.raises(MinimaxError, match="^n must be >= 1, got 0"):
        minimax.evaluate(run, "fid", data_dir=str(data), n=0, cache_dir=str(cache))
    with pytest.raises(MinimaxError, match="evaluate has no option 'nn' .did you mean 'n'.*; its options: data_dir,"):
        minimax.evaluate(run, "fid", data_dir=str(data), nn=3)
    with pytest.raises(MinimaxError, match="real must be True or False, got 'yes'"):
        minimax.evaluate(run, "fid", data_dir=str(data), real="yes")
    with pytest.raises(MinimaxError, match="fake_dir must be a path .a str or Path., got int"):
        minimax.evaluate(None, "kid", fake_dir=123)


def test_evaluates_errors_name_the_keywords_a_python_caller_wrote(mnist_run, tmp_path):
    run, _, _ = mnist_run
    folder = tmp_path / "fakes"
    folder.mkdir()  # a folder metric without Inception's weights: the error names the keyword
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (8, 8)).save(folder / f"{i}.png")
    with pytest.raises(MinimaxError) as e:
        minimax.evaluate(None, "kid", fake_dir=str(folder), real_dir=str(folder), cache_dir=str(tmp_path / "c"))
    assert "inception_weights=" in str(e.value) and "--inception-weights" not in str(e.value)


def test_players_loaded_for_use_sample_what_the_whole_game_samples(mnist_run):
    run, data, _ = mnist_run
    trained, game = load_trained(run), load_trainer(run)
    assert not hasattr(trained, "opt_g") and trained.step == game.step == 4
    assert trained.G_average is not None  # the run kept an EMA of G: samples come from it
    assert torch.equal(generate(trained, 50, seed=3), generate(game, 50, seed=3))
    assert torch.equal(minimax.sample(run, 50, seed=3), generate(game, 50, seed=3).cpu())
    x = torch.rand(5, *game.data.shape)
    from minimax.run.sampling import discriminator_output

    assert torch.equal(discriminator_output(trained, x), discriminator_output(game, x))


def test_a_record_of_another_protocol_is_replaced_only_with_force_and_kept_in_the_history(mnist_run, capsys):
    run, data, cache = mnist_run
    common = ["--data-dir", str(data), "--cache-dir", str(cache)]
    assert main(["eval", "fid", str(run), *common, "--n", "140"]) == 0
    first = json.loads((run / "fid.json").read_text())
    assert first["protocol"]["generator_weights"] == "an exponential average of G's weights (β = 0.5)"
    assert first["protocol"]["features"] == "classifier"
    capsys.readouterr()
    assert main(["eval", "fid", str(run), *common, "--n", "130"]) == 2  # fewer samples: refused, before any work
    err = capsys.readouterr().err
    assert "another protocol (n_samples 140 there, 130 now)" in err and "--force" in err
    assert json.loads((run / "fid.json").read_text()) == first
    assert main(["eval", "fid", str(run), *common, "--n", "140"]) == 0  # the same protocol: a re-evaluation
    assert main(["eval", "fid", str(run), *common, "--n", "130", "--force"]) == 0
    history = [json.loads(line) for line in (run / "fid.history.jsonl").read_text().splitlines()]
    # the first record, then the re-evaluation's (one line when both were made in the same second: identical)
    assert [h["protocol"]["n_samples"] for h in history] in ([140, 140], [140])
    assert json.loads((run / "fid.json").read_text())["protocol"]["n_samples"] == 130
    (run / "fid.json").unlink()
    (run / "fid.history.jsonl").unlink()


def test_an_evaluation_killed_between_the_history_and_the_record_does_not_log_twice(mnist_run, monkeypatch):
    """write_record appends the replaced record to the history, then renames the new one in; killed between the
    two, the next evaluation finds the old record already last in the history and does not append it again."""
    from minimax import evaluation, files

    run, data, cache = mnist_run
    common = ["--data-dir", str(data), "--cache-dir", str(cache), "--n", "140"]
    assert main(["eval", "fid", str(run), *common]) == 0
    old = (run / "fid.json").read_text()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluation, "atomic_write_bytes", killed)
    assert main(["eval", "fid", str(run), *common]) == 130
    assert (run / "fid.json").read_text() == old and len((run / "fid.history.jsonl").read_text().splitlines()) == 1
    monkeypatch.setattr(evaluation, "atomic_write_bytes", files.atomic_write_bytes)
    assert main(["eval", "fid", str(run), *common]) == 0
    history = (run / "fid.history.jsonl").read_text().splitlines()
    assert len(history) == 1 and json.loads(history[0]) == json.loads(old)
    (run / "fid.json").unlink()
    (run / "fid.history.jsonl").unlink()


def test_kid_with_a_subset_larger_than_the_sets_is_refused_before_any_feature(mnist_run, capsys, monkeypatch):
    run, data, cache = mnist_run
    from minimax.evaluation import job

    monkeypatch.setattr(job.Features, "__init__", lambda *a, **k: pytest.fail("features computed first"))
    assert main(["eval", "kid", str(run), "--data-dir", str(data), "--cache-dir", str(cache), "--n", "30",
                 "--subset-size", "1000"]) == 2
    assert "subset" in capsys.readouterr().err


def test_the_table_has_a_mean_only_over_seeds_of_one_configuration(mnist_run, tmp_path, capsys):
    run, data, cache = mnist_run
    base = ["--dataset", "mnist", "--data-dir", str(data), "--model", "mlp", "--steps", "2", "--batch-size", "8",
            "--g-hidden", "16", "--d-hidden", "16", "--no-plots", "--device", "cpu", "--tensorboard", "off"]
    for name, extra in (("s1", ["--seed", "1"]), ("s2", ["--seed", "2"]), ("lr", ["--lr", "1e-3"])):
        assert main(["train", *base, *extra, "--out", str(tmp_path / name)]) == 0
    common = ["--data-dir", str(data), "--cache-dir", str(cache), "--n", "130"]
    capsys.readouterr()
    assert main(["eval", "fid", str(tmp_path / "s1"), str(tmp_path / "s2"), *common]) == 0
    assert "mean ± std (2)" in capsys.readouterr().out
    assert main(["eval", "fid", str(tmp_path / "s1"), str(tmp_path / "lr"), *common, "--force"]) == 0
    out = capsys.readouterr().out
    assert "mean ± std (" not in out and "differ in more than their seed" in out


def test_the_first_evaluation_says_it_trains_the_feature_network_and_the_library_stays_quiet(mnist_run, tmp_path,
                                                                                              capsys):
    """The command line says what the first classifier-feature evaluation costs before it pays it (the network is
    trained once and cached); minimax.evaluate prints nothing, also then."""
    run, data, _ = mnist_run
    minimax.evaluate(run, "fid", data_dir=str(data), n=130, cache_dir=str(tmp_path / "a"), write=False)
    assert capsys.readouterr().out == ""
    assert main(["eval", "fid", str(run), "--data-dir", str(data), "--n", "130", "--cache-dir",
                 str(tmp_path / "b")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("training the feature network for mnist first: ") and "200 images" in first
