"""Reliability, round three (#28): what a command writes, what resume trusts, what a record holds, and the
options that crashed. Each test reproduces one reported failure; hostile files are made here, in the test's
temporary folder (a FIFO, a device node, a folder, a sparse file), never the machine's own /dev/null."""
import json
import os
import stat
import time

import numpy as np
import pytest
from PIL import Image
from test_hostile import TINY, TINY_ANY_MODEL, cli, one_line_error, snapshot, tiny_run
from test_image_data import write_mnist

from minimax import evaluation
from minimax.data.images import image_folder
from minimax.errors import MinimaxError
from minimax.files import atomic_write_bytes, strict_json
from minimax.metrics import inception
from minimax.run.runlog import read_metrics
from minimax.run.sampling import class_indices


def strict_load(text: str):
    """json.loads that refuses NaN and Infinity, as other tools' parsers do."""
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def run(tmp_path, capsys):
    return tiny_run(tmp_path, capsys)


def hostile_targets(tmp_path):
    """A FIFO, a folder, and (where this process may make one) a character device, all in tmp_path."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    targets = {"FIFO": fifo, "folder": folder}
    try:
        os.mknod(tmp_path / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        targets["device"] = tmp_path / "null"
    except PermissionError:
        pass
    return targets


# --- 1. writes replace nothing they must not -----------------------------------------------------
def test_sample_and_report_refuse_a_fifo_a_folder_and_a_device_and_leave_them_be(tmp_path, run, capsys):
    for kind, target in hostile_targets(tmp_path).items():
        mode = os.lstat(target).st_mode
        for args in (["sample", run, "--n", "4", "--out", target], ["report", run, "--out", target]):
            code, _, err = cli(args, capsys)
            one_line_error(code, err, f"it is a {kind}, not a regular file")
            assert os.lstat(target).st_mode == mode  # still a FIFO, a folder, a device
    for name in ("folder/", "new/"):
        code, _, err = cli(["sample", run, "--n", "4", "--out", f"{tmp_path}/{name}"], capsys)
        one_line_error(code, err, "it names a folder")
        assert ".tmp" not in err


def test_a_link_is_written_through_not_replaced(tmp_path, run, capsys):
    real = tmp_path / "real.npy"
    real.write_bytes(b"old")
    link = tmp_path / "link.npy"
    link.symlink_to(real)
    code, _, err = cli(["sample", run, "--n", "4", "--out", link], capsys)
    assert code == 0, err
    assert link.is_symlink() and np.load(real).shape == (4, 2)


def test_the_sampler_never_overwrites_a_run_file_but_rewrites_its_own(tmp_path, run, capsys):
    before = snapshot(run)
    for name in ("config.json", "metrics.jsonl", "summary.json", "fid.json", "checkpoints/latest",
                 "samples/step-00000008.npy", ".lock"):
        code, _, err = cli(["sample", run, "--n", "4", "--out", run / name], capsys)
        one_line_error(code, err, str(run))
    code, _, err = cli(["report", run, "--out", run / "config.json"], capsys)
    one_line_error(code, err, "one of run")
    assert snapshot(run) == before
    for _ in range(2):  # the default file, and then the same file again: the sampler's own
        code, out, err = cli(["sample", run, "--n", "4"], capsys)
        assert code == 0, err
    code, _, err = cli(["sample", run, "--n", "4", "--out", run / "mine.npy"], capsys)  # a new name: fine
    assert code == 0, err
    code, _, err = cli(["sample", run, "--n", "4", "--out", run / "mine.npy"], capsys)  # written by it: again
    assert code == 0, err
    (run / "theirs.npy").write_bytes(b"yours")
    code, _, err = cli(["sample", run, "--n", "4", "--out", run / "theirs.npy"], capsys)  # not the sampler's
    one_line_error(code, err, "was not written by this command")
    assert (run / "theirs.npy").read_bytes() == b"yours"


def test_atomic_writes_refuse_special_files_themselves(tmp_path):
    for kind, target in hostile_targets(tmp_path).items():
        with pytest.raises(MinimaxError, match=f"it is a {kind}"):
            atomic_write_bytes(target, b"x")
    assert not list(tmp_path.glob(".*.tmp"))


# --- 2, 3. processes and the run to resume ----------------------------------------------------
def test_nproc_beyond_the_machine_is_refused_before_any_process_starts(tmp_path, capsys):
    t0 = time.perf_counter()
    code, _, err = cli(["train", *TINY, "--nproc", "100000", "--out", tmp_path / "r"], capsys)
    one_line_error(code, err, f"more processes than this machine's {os.cpu_count()} CPU cores")
    assert time.perf_counter() - t0 < 5 and not (tmp_path / "r").exists()


def test_resume_with_an_empty_path_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for value in ("", "  "):
        code, _, err = cli(["train", "--resume", value], capsys)
        one_line_error(code, err, "--resume needs the run directory")
    assert list(tmp_path.iterdir()) == []


# --- 4, 5, 6. options that crashed ---------------------------------------------------------------
def test_compile_trains_the_same_game_as_eager(tmp_path, capsys):
    """torch.compile with the diagnostics' retained graph (it raised 'donated buffers' at the first record)."""
    eager = tiny_run(tmp_path, capsys, "eager")
    compiled = tiny_run(tmp_path, capsys, "compiled", "--compile", "on")
    a, b = read_metrics(eager / "metrics.jsonl"), read_metrics(compiled / "metrics.jsonl")
    assert len(a) == len(b) == 4
    for x, y in zip(a, b):
        for key in ("d_loss", "g_loss", "g_grad_norm_saturating", "d_real"):
            assert y[key] == pytest.approx(x[key], rel=1e-4, abs=1e-6), key


@pytest.mark.parametrize("dataset,batch,pack", [("ring", 16, 8), ("gauss1d", 14, 7)])
def test_pack_on_vector_data_trains_and_reports(tmp_path, capsys, dataset, batch, pack):
    run = tiny_run(tmp_path, capsys, "run", "--dataset", dataset, "--batch-size", batch, "--pack", pack)
    fields = sorted((run / "samples").glob("field-*.npz"))
    assert fields and all("d" not in np.load(f).files for f in fields)  # a packed D has no pointwise value
    code, _, err = cli(["report", run], capsys)
    assert code == 0, err


@pytest.mark.parametrize("args,needle", [
    (["--batch-size", "1", "--g-norm", "batch"], "generator uses batch normalisation, which needs at least 2 samples"),
    (["--batch-size", "2", "--pack", "2", "--model", "dcgan", "--dataset", "mnist", "--data-dir", "MNIST"],
     "discriminator uses batch normalisation, which needs at least 2 packs"),
])
def test_one_sample_through_batch_norm_is_refused(tmp_path, capsys, args, needle):
    data = write_mnist(tmp_path / "mnist")
    args = [data if a == "MNIST" else a for a in args]
    code, _, err = cli(["train", *TINY_ANY_MODEL, *args, "--out", tmp_path / "r"], capsys)
    one_line_error(code, err, needle)
    assert not (tmp_path / "r").exists()


# --- 7. resume checks what it resumes ---------------------------------------------------------
@pytest.mark.parametrize("edit,needle", [
    ({"game": "lsgan"}, 'game "lsgan" (checkpoint: "minimax")'),
    ({"dataset": "grid"}, 'dataset "grid" (checkpoint: "ring")'),
    ({"batch_size": 8}, "batch_size 8 (checkpoint: 16)"),
    ({"k": 5, "lr": 0.1}, "k 5 (checkpoint: 1); lr 0.1 (checkpoint: 0.001)"),
])
def test_an_edited_config_is_refused_by_resume_and_sample(tmp_path, run, capsys, edit, needle):
    path = run / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **edit}))
    before = snapshot(run)
    for args in (["train", "--resume", run, "--steps", "12"], ["sample", run, "--n", "4", "--out", tmp_path / "s.npy"]):
        code, _, err = cli(args, capsys)
        one_line_error(code, err, "config.json disagrees with the checkpoint of step 8 in " + needle)
    assert snapshot(run) == before


def test_where_a_run_lives_may_change(tmp_path, run, capsys):
    """data_dir, device, out and steps say where and how long, not what: a moved run resumes."""
    moved = tmp_path / "moved"
    run.rename(moved)
    path = moved / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "out": str(moved), "device": "cpu"}))
    code, _, err = cli(["train", "--resume", moved, "--steps", "10", "--no-plots", "--progress", "off"], capsys)
    assert code == 0, err


def test_a_run_resumed_by_a_relative_path_records_its_absolute_directory(tmp_path, run, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(["train", "--resume", run.name, "--steps", "10", "--no-plots", "--progress", "off"], capsys)
    assert code == 0, err
    assert json.loads((run / "summary.json").read_text())["run_dir"] == str(run)  # was "run" (relative)


# --- 8. the report reads what it is given -------------------------------------------------------
def _append(path, data: bytes):
    with open(path, "ab") as f:
        f.write(data)


EDITS = {
    "binary bytes in the log": lambda r: _append(r / "metrics.jsonl", b"\x93\xff\x00garbage\n"),
    "a number as a record": lambda r: _append(r / "metrics.jsonl", b"1\n"),
    "text as a loss": lambda r: _append(r / "metrics.jsonl", b'{"step": 9, "d_loss": "x"}\n'),
    "a record without its step": lambda r: _append(r / "metrics.jsonl", b'{"d_loss": 1.0}\n'),
    "an empty fid record": lambda r: (r / "fid.json").write_text("{}"),
    "a null fid": lambda r: (r / "fid.json").write_text('{"fid": null}'),
    "parzen without its error": lambda r: (r / "parzen.json").write_text('{"parzen_ll": 1.0, "sigma": 0.1}'),
    "an edited summary": lambda r: (r / "summary.json").write_text('{"modes": "x", "high_quality": "y"}'),
}


# one report per group: the log's four bad lines are counted one by one; the other edits touch different files
EDIT_GROUPS = [("binary bytes in the log", "a number as a record", "text as a loss", "a record without its step"),
               ("an empty fid record", "parzen without its error", "an edited summary"), ("a null fid",)]


@pytest.mark.parametrize("group", EDIT_GROUPS, ids=lambda g: ", ".join(g))
def test_report_of_an_edited_run_is_written_and_says_what_it_skipped(tmp_path, run, capsys, group):
    for edit in group:
        EDITS[edit](run)
    code, _, err = cli(["report", run, "--out", tmp_path / "r.html"], capsys)
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    bad_lines = sum(edit in EDIT_GROUPS[0] for edit in group)
    if bad_lines:
        assert f"{bad_lines} line(s) of metrics.jsonl are not records minimax writes and were skipped" in page
    unreadable = sum("fid" in edit or "parzen" in edit for edit in group)
    assert page.count("unreadable (") >= unreadable


def test_every_edit_is_in_one_group():
    assert sorted(e for g in EDIT_GROUPS for e in g) == sorted(EDITS)


def test_report_refuses_a_snapshot_that_is_not_a_sample_array(tmp_path, run, capsys):
    np.save(run / "samples" / "step-00000004.npy", np.float32(3.0))  # a 0-d array
    code, _, err = cli(["report", run, "--out", tmp_path / "r.html"], capsys)
    one_line_error(code, err, "is not a sample array of this run (shape ()")


def test_report_draws_run_names_with_mathtext_characters_literally(tmp_path, capsys):
    a = tiny_run(tmp_path, capsys, "a$\\frac{$b")
    b = tiny_run(tmp_path, capsys, "plain")
    code, _, err = cli(["report", a, b, "--out", tmp_path / "r.html"], capsys)
    assert code == 0, err


# --- 9. the Inception weights' size is checked before they are hashed ------------------------------
def test_a_huge_file_named_like_the_weights_is_refused_without_hashing(tmp_path, capsys, monkeypatch):
    path = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    with open(path, "wb") as f:
        f.truncate(60 * 2**30)  # 60 GiB, sparse: no disk used
    monkeypatch.setattr(inception, "file_sha256", lambda p: pytest.fail("hashed a 60 GiB file"))
    with pytest.raises(MinimaxError, match="hold 61440 MiB; the FID Inception-v3 file is 91 MiB"):
        inception.load_inception(path)


# --- 10. strict JSON ------------------------------------------------------------------------------
def test_summary_json_is_strict_and_says_what_was_not_finite(run, capsys):
    text = (run / "summary.json").read_text()
    summary = strict_load(text)  # refused NaN/Infinity before: "reverse_kl": Infinity
    assert summary["reverse_kl"] is None and summary["non_finite"] == {"reverse_kl": "inf"}
    code, _, err = cli(["report", run], capsys)
    assert code == 0, err
    assert "<td>inf</td>" in (run / "report.html").read_text()


def test_strict_json_names_every_non_finite_value():
    clean, gone = strict_json({"a": 1.0, "b": float("nan"), "c": [0.5, float("-inf")], "d": {"e": float("inf")}})
    assert clean == {"a": 1.0, "b": None, "c": [0.5, None], "d": {"e": None}}
    assert gone == {"b": "nan", "c[1]": "-inf", "d.e": "inf"}


def test_a_non_finite_score_is_refused_and_writes_no_record(tmp_path, run, capsys, monkeypatch):
    """All-NaN weights gave 'Inception Score: nan ± nan', exit 0, and NaN in is.json."""
    monkeypatch.setitem(evaluation.EVALUATORS, "is", lambda opts, run_dir: {"is": float("nan"), "is_std": 0.0,
                                                                           "protocol": {"step": 8}})
    monkeypatch.setattr(evaluation, "check_replaceable", lambda *a: None)
    code, _, err = cli(["eval", "is", run, "--data-dir", tmp_path, "--n", "20"], capsys)
    one_line_error(code, err, "is is nan, not a finite number")
    assert not (run / "is.json").exists()


# --- 11. 16-bit greyscale images --------------------------------------------------------------------
def test_sixteen_bit_greyscale_pngs_are_scaled_not_clipped(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    values = np.linspace(20000, 22000, 64).reshape(8, 8).astype(np.uint16)
    Image.fromarray(values).save(folder / "a.png")
    assert Image.open(folder / "a.png").mode.startswith("I")
    data = image_folder(folder, "cpu", "tanh", 8)
    got = data.images[0, 0].numpy().astype(float)
    assert got.max() < 100  # 22000/65535·255 = 85.6; clipping made every pixel 255
    assert np.abs(got - values.astype(float) * 255 / 65535).max() <= 1.0


# --- 12. refusals before work; what --class means -------------------------------------------------
@pytest.mark.parametrize("args,needle", [
    (["fid", "--n", "1"], "N = 1 samples (--n, or the images of --fake-dir) is below the feature dimension 128"),
    (["pr", "--n", "3"], "N = 3 samples: precision and recall need more than k = 3 samples"),
    (["kid", "--n", "2000", "--subset-size", "100000"], "KID subset size 100000 is larger than the 2000"),
    (["is", "--n", "5"], "N = 5 samples is fewer than --splits 10"),
    (["fid", "--cache-dir", "FILE"], "--cache-dir"),
])
def test_eval_refusals_come_before_any_run_is_loaded(tmp_path, run, capsys, monkeypatch, args, needle):
    (tmp_path / "FILE").write_text("x")
    args = [a.replace("FILE", str(tmp_path / "FILE")) for a in args]
    for metric in evaluation.EVALUATORS:
        monkeypatch.setitem(evaluation.EVALUATORS, metric, lambda *a: pytest.fail("loaded before refusing"))
    code, _, err = cli(["eval", args[0], run, "--data-dir", tmp_path, *args[1:]], capsys)
    one_line_error(code, err, needle)


def test_class_names_that_are_numbers_are_read_as_names_and_a_comma_name_is_one_class():
    names = ("10", "2", "a,b")
    assert class_indices("2", names, True) == [1]
    assert class_indices("10,2", names, True) == [0, 1]
    assert class_indices("a,b", names, True) == [2]
    with pytest.raises(MinimaxError, match="class names that are numbers are read as names"):
        class_indices("0,2", names, True)  # 0 was read as an index, 2 as a name
    assert class_indices("0,9", tuple(map(str, range(10))), True) == [0, 9]  # MNIST: names are their indices
    assert class_indices([0, 1], names, True) == [0, 1]  # Python ints are indices
    for empty in ("", ",", " "):
        with pytest.raises(MinimaxError, match="empty class name|no class"):
            class_indices(empty, names, True)


def test_an_empty_class_is_refused(tmp_path, run, capsys):
    code, _, err = cli(["sample", run, "--n", "4", "--class", ""], capsys)
    one_line_error(code, err, "--class needs class names")


def test_image_size_on_a_dataset_with_its_own_size_is_refused(tmp_path, capsys):
    code, _, err = cli(["train", *TINY, "--dataset", "mnist", "--data-dir", tmp_path, "--image-size", "64",
                        "--out", tmp_path / "r"], capsys)
    one_line_error(code, err, "image_size resizes the images of dataset 'folder'; 'mnist' has its own size")


# --- not yet tried in the report: an interrupted record write --------------------------------------
def test_an_interrupted_record_write_keeps_the_old_record(tmp_path, run, monkeypatch):
    evaluation.write_record(run, "fid", {"fid": 1.0, "protocol": {"n_samples": 10}})
    old = (run / "fid.json").read_text()

    def interrupted(*a):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluation.write_record(run, "fid", {"fid": 2.0, "protocol": {"n_samples": 10}})
    assert (run / "fid.json").read_text() == old and not list(run.glob(".*.tmp"))
    assert strict_load((run / "fid.history.jsonl").read_text().splitlines()[-1])["fid"] == 1.0


def test_records_are_strict_json(tmp_path, run):
    evaluation.write_record(run, "kid", {"kid": 0.1, "kid_std": float("nan"), "protocol": {}})
    record = strict_load((run / "kid.json").read_text())
    assert record["kid_std"] is None and record["non_finite"] == {"kid_std": "nan"}
