"""The Python API refuses what the command line refuses, in one line (#39, point 7): wrong types, out-of-range
counts, and sample sizes that cannot fit in memory, before any work."""
import pytest

import minimax


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    import contextlib
    import io

    from test_hostile import TINY

    from minimax.cli import main

    out = tmp_path_factory.mktemp("api") / "run"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["train", *TINY, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("call,needle", [
    (lambda r: minimax.train("ring"), "train takes a TrainConfig, not str (minimax.train(minimax.TrainConfig("),
    (lambda r: minimax.train(minimax.TrainConfig(), steps=1.5), "steps must be an integer, got 1.5"),
    (lambda r: minimax.train(resume=3), "resume must be a run directory"),
    (lambda r: minimax.train(minimax.TrainConfig(), plots="no"), "plots must be True or False"),
    (lambda r: minimax.sample(None, 10), "sample takes a run directory"),
    (lambda r: minimax.sample(r, -5), "n must be >= 1, got -5"),
    (lambda r: minimax.sample(r, 10.5), "n must be an integer, got 10.5"),
    (lambda r: minimax.sample(r, True), "n must be an integer, got True"),
    (lambda r: minimax.sample(r, 10**12), "GiB are available"),
    (lambda r: minimax.sample(r, 4, seed="x"), "seed must be an integer, got 'x'"),
    (lambda r: minimax.evaluate(r, "fid", n=10.7), "n must be an integer, got 10.7"),
    (lambda r: minimax.evaluate(r, "fid", write="no"), "write must be True or False, got 'no'"),
    (lambda r: minimax.evaluate(r, 3), "metric must be a name"),
    # the run's own checks speak the caller's words: TrainConfig fields, not the command line's flags
    (lambda r: minimax.train(minimax.TrainConfig(dataset="mnist")), "dataset mnist needs data_dir= (the folder"),
    (lambda r: minimax.train(resume=r, steps=4), "steps=4 is below the step of the run's latest checkpoint (8)"),
])
def test_wrong_arguments_are_one_line_errors(run, call, needle):
    with pytest.raises(minimax.MinimaxError) as e:
        call(run)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_right_arguments_still_work(run):
    assert minimax.sample(run, 4, seed=3).shape[0] == 4
    assert minimax.sample(str(run), 2, seed=3).shape[0] == 2
