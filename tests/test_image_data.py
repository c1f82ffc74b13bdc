"""Image data: IDX parsing, checksummed downloads, restricted CIFAR unpickling, image folders."""
import gzip
import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from minimax.config import TrainConfig
from minimax.data import load_dataset
from minimax.data.download import download, fetch
from minimax.data.idx import parse_idx, read_idx
from minimax.data.images import ImageData, load_cifar_batch, restricted_load
from minimax.errors import MinimaxError


def idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.uint8: 0x08, np.int32: 0x0C}[arr.dtype.type]
    header = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def tiny_dcgan_run(folder, *extra, steps=2):
    """A DCGAN run of a few steps on random MNIST-style files under ``folder`` (the run: ``folder/run``)."""
    from minimax.cli import main

    run = folder / "run"
    assert main(["train", "--out", str(run), "--dataset", "mnist", "--data-dir", str(write_mnist(folder / "m")),
                 "--model", "dcgan", "--steps", str(steps), "--batch-size", "4", "--latent-dim", "8",
                 "--log-every", "1", "--device", "cpu", "--no-plots", "--tensorboard", "off", *extra]) == 0
    return run


def write_mnist(folder, n_train=60, n_test=10, gz=True, seed=0, side=28, first_label=None):
    """Random MNIST-style IDX files; ``first_label`` overrides each split's first label (e.g. out of range)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, (n, side, side), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        if first_label is not None:
            labels[0] = first_label
        for kind, arr in (("images-idx3", imgs), ("labels-idx1", labels)):
            raw = idx_bytes(arr)
            name = folder / f"{split}-{kind}-ubyte"
            if gz:
                name.with_suffix(".gz").write_bytes(gzip.compress(raw))
            else:
                name.write_bytes(raw)
    return folder


def test_parse_idx_roundtrip_uint8_and_int32():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(idx_bytes(a)), a)
    b = np.array([-5, 7, 1 << 30], dtype=np.int32)
    assert np.array_equal(parse_idx(idx_bytes(b)), b)


@pytest.mark.parametrize("raw,needle", [
    (b"", "too short"),
    (b"\x00\x01\x08\x01" + b"\x00" * 8, "bad magic"),
    (b"\x00\x00\x07\x01" + b"\x00" * 8, "bad magic"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
    (struct.pack(">HBBI", 0, 8, 1, 10) + b"\x00" * 9, "size mismatch"),
    (struct.pack(">HBBI", 0, 8, 1, 10) + b"\x00" * 11, "size mismatch"),
    (struct.pack(">HBB4I", 0, 8, 4, 2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1), "implausible size"),
])
def test_parse_idx_rejects_bad_files(raw, needle):
    with pytest.raises(MinimaxError, match=needle):
        parse_idx(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_parse_idx_fuzz_random_bytes_never_crash(raw):
    try:
        out = parse_idx(raw)
    except MinimaxError as e:
        assert "\n" not in str(e)
    else:
        assert isinstance(out, np.ndarray)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=40), st.integers(0, 40))
def test_read_idx_fuzz_corrupted_gzip(tmp_path_factory, junk, cut):
    good = gzip.compress(idx_bytes(np.zeros((3, 2, 2), np.uint8)))
    p = tmp_path_factory.mktemp("idx") / "f.gz"
    p.write_bytes(good[:cut] + junk if cut < len(good) else good + junk)
    try:
        read_idx(p)
    except MinimaxError as e:
        assert "\n" not in str(e)


def test_mnist_loader_reads_gz_and_raw_with_paper_split(tmp_path):
    for gz in (True, False):
        d = write_mnist(tmp_path / str(gz), n_train=60, gz=gz)
        cfg = TrainConfig(dataset="mnist", data_dir=str(d))
        data = load_dataset(cfg, "cpu", "tanh")
        assert isinstance(data, ImageData) and data.shape == (1, 28, 28) and len(data) == 60  # < 50000: all
        x = data.sample(16, torch.Generator().manual_seed(0))
        assert x.shape == (16, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
        assert torch.allclose(data.to_data_space(x) * 255, (data.to_data_space(x) * 255).round(), atol=1e-3)
        assert len(load_dataset(cfg, "cpu", split="t10k")) == 10


def test_missing_and_mismatched_mnist_files(tmp_path):
    d = write_mnist(tmp_path / "m")
    (d / "t10k-labels-idx1-ubyte.gz").unlink()
    cfg = TrainConfig(dataset="mnist", data_dir=str(d))
    with pytest.raises(MinimaxError, match="missing file t10k-labels-idx1-ubyte"):
        load_dataset(cfg, split="t10k")
    (d / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(5, np.uint8))))
    with pytest.raises(MinimaxError, match="5 labels for 60 images"):
        load_dataset(cfg)
    with pytest.raises(MinimaxError, match="needs --data-dir"):
        load_dataset(TrainConfig(dataset="mnist"))
    with pytest.raises(MinimaxError, match="does not exist"):
        load_dataset(TrainConfig(dataset="mnist", data_dir=str(tmp_path / "nope")))


def test_download_verifies_md5_and_writes_atomically(tmp_path, monkeypatch):
    src = write_mnist(tmp_path / "mirror")
    files = [(p.name, hashlib.md5(p.read_bytes()).hexdigest()) for p in sorted(src.iterdir())]
    from minimax.data import download as dl

    monkeypatch.setitem(dl.RESOURCES, "mnist", (("file://" + str(src) + "/",), files))
    out = download("mnist", tmp_path / "data")
    assert sorted(p.name for p in out) == sorted(n for n, _ in files)
    assert len(load_dataset(TrainConfig(dataset="mnist", data_dir=str(tmp_path / "data")))) == 60
    # a file whose checksum does not match is discarded, nothing half-written remains
    with pytest.raises(MinimaxError, match="expected 0+; file discarded"):
        fetch("file://" + str(src / files[0][0]), tmp_path / "bad" / "x.gz", "0" * 32)
    assert list((tmp_path / "bad").iterdir()) == []
    with pytest.raises(MinimaxError, match="download of .* failed"):
        fetch("file://" + str(tmp_path / "absent.gz"), tmp_path / "bad" / "y.gz", "0" * 32)


def test_cifar_batch_loads_with_restricted_unpickler(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, (7, 3072), dtype=np.uint8)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps({b"data": data, b"labels": list(range(7))}, protocol=2))
    ds = load_dataset(TrainConfig(dataset="cifar10", data_dir=str(tmp_path)), "cpu")
    assert ds.shape == (3, 32, 32) and len(ds) == 35
    assert np.array_equal(ds.images[:7].numpy().reshape(7, -1), data)


def test_hostile_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        restricted_load(pickle.dumps(Evil()))
    p = tmp_path / "data_batch_1"
    p.write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(MinimaxError, match="not a CIFAR-10 batch"):
        load_cifar_batch(p)
    assert not marker.exists()
    p.write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8)}))
    with pytest.raises(MinimaxError, match="shape"):
        load_cifar_batch(p)


def test_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    (tmp_path / "sub").mkdir()
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)).save(tmp_path / "sub" / "b.jpg")
    ds = load_dataset(TrainConfig(dataset="folder", data_dir=str(tmp_path), image_size=28), "cpu")
    assert ds.shape == (3, 28, 28) and len(ds) == 2
    (tmp_path / "c.png").write_bytes(b"not a png")
    with pytest.raises(MinimaxError, match="cannot read image"):
        load_dataset(TrainConfig(dataset="folder", data_dir=str(tmp_path)), "cpu")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MinimaxError, match="no images"):
        load_dataset(TrainConfig(dataset="folder", data_dir=str(empty)), "cpu")


@pytest.mark.parametrize("model,size", [("dcgan", 28), ("paper", 28), ("mlp", 28), ("dcgan", 32), ("dcgan", 64)])
def test_image_models_train_a_few_steps_and_sample(tmp_path, model, size):
    from PIL import Image

    from minimax.cli import main

    rng = np.random.default_rng(0)
    if size == 28 and model != "dcgan":
        data_args = ["--dataset", "mnist", "--data-dir", str(write_mnist(tmp_path / "m"))]
    else:
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
        data_args = ["--dataset", "folder", "--data-dir", str(tmp_path), "--image-size", str(size)]
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--model", model, *data_args, "--steps", "2", "--batch-size", "4",
                 "--log-every", "2", "--latent-dim", "100" if model == "paper" else "16", "--device", "cpu",
                 *(["--g-hidden", "8", "--d-hidden", "8"] if model == "mlp" else [])]) == 0
    assert (run / "samples" / "grid-00000002.png").is_file()
    assert main(["sample", str(run), "--n", "5", "--out", str(tmp_path / "s.npy"),
                 "--grid", str(tmp_path / "g.png")]) == 0
    x = np.load(tmp_path / "s.npy")
    c = 1 if "mnist" in data_args else 3
    assert x.shape == (5, c * size * size) and x.min() >= 0 and x.max() <= 1
    assert Image.open(tmp_path / "g.png").size[0] > size


CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml"))


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_shipped_config_file_trains(tmp_path, config):
    """Each configs/*.toml the docs point to is valid and trains (two steps at batch 4 on random MNIST files)."""
    from minimax.cli import main

    run = tmp_path / "run"
    assert main(["train", "--config", str(config), "--data-dir", str(write_mnist(tmp_path / "m")), "--steps", "2",
                 "--batch-size", "4", "--checkpoint-every", "2", "--out", str(run), "--device", "cpu",
                 "--tensorboard", "off", "--no-plots", "--progress", "off"]) == 0
    assert (run / "checkpoints" / "step-00000002.safetensors").is_file()


def test_relative_data_dir_is_kept_absolute_so_sample_works_from_another_folder(tmp_path, monkeypatch):
    import json

    from minimax.cli import main

    write_mnist(tmp_path / "data" / "m")
    monkeypatch.chdir(tmp_path / "data")  # the run is trained with --data-dir m (relative) ...
    assert main(["train", "--out", str(tmp_path / "run"), "--dataset", "mnist", "--data-dir", "m", "--model", "mlp",
                 "--steps", "1", "--batch-size", "4", "--g-hidden", "8", "--d-hidden", "8", "--no-plots",
                 "--tensorboard", "off", "--device", "cpu"]) == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data_dir"] == str(tmp_path / "data" / "m")
    monkeypatch.chdir(tmp_path)  # ... and sampled from elsewhere (it needs the data's shape and pixel range)
    assert main(["sample", "run", "--n", "3", "--out", "s.npy"]) == 0
    assert np.load(tmp_path / "s.npy").shape == (3, 784)


def test_table1_config_file_trains_the_paper_pair_with_its_recipe(tmp_path):
    """configs/table1.toml (README, Table 1) is a valid config that trains the paper's pair with SGD,
    simultaneous updates, D's halved step and G's output biases from the pixel means; flags still
    override its budget."""
    import json

    from minimax.cli import main

    config = Path(__file__).resolve().parents[1] / "configs" / "table1.toml"
    run = tmp_path / "run"
    assert main(["train", "--config", str(config), "--data-dir", str(write_mnist(tmp_path / "m")),
                 "--steps", "3", "--batch-size", "4", "--out", str(run), "--device", "cpu",
                 "--tensorboard", "off", "--no-plots"]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert (saved["model"], saved["optimizer"], saved["update"], saved["steps"]) == ("paper", "sgd", "simultaneous", 3)
    assert saved["d_lr"] == saved["lr"] / 2  # mnist.yaml's D objective is ½(BCE_data + BCE_samples)
    assert saved["g_output_bias"] == "marginals"  # mnist.yaml's init_sigmoid_bias_from_marginals
    assert (run / "checkpoints" / "step-00000003.safetensors").is_file()


def test_train_images_is_a_fixed_subset_and_evaluation_reads_the_whole_set(tmp_path):
    """--train-images N trains on the first N training images; the metrics' references and feature classifier
    still come from the whole set, so a run on 500 digits is scored like any other."""
    from minimax.evaluation.job import make_job
    from minimax.evaluation.options import EvalOptions

    run = tiny_dcgan_run(tmp_path, "--train-images", "7")  # writes the MNIST-style files to tmp_path / "m"
    cfg = TrainConfig.resolve(dataset="mnist", data_dir=str(tmp_path / "m"), train_images=7)
    part, whole = load_dataset(cfg), load_dataset(cfg.replaced(train_images=0))
    assert len(part) == 7 and len(whole) == 60
    assert torch.equal(part.images, whole.images[:7]) and torch.equal(part.labels, whole.labels[:7])
    with pytest.raises(MinimaxError, match="train_images 61 is more than the 60 training images"):
        load_dataset(cfg.replaced(train_images=61))
    job = make_job(EvalOptions(metric="fid", data_dir=str(tmp_path / "m")), str(run), ("mnist",))
    assert job.cfg.train_images == 0 and job.players.cfg.train_images == 7


def png_header_only(path, width, height):
    """A PNG whose header claims width x height 8-bit grey pixels and whose data are cut short: a reader that
    decodes before checking the size would allocate width·height bytes."""
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))


def test_an_image_larger_than_the_decoding_limit_is_refused_from_its_header(tmp_path, recwarn):
    from minimax.data.images import MAX_PIXELS, image_folder

    (tmp_path / "pics").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "pics" / "a.png")
    png_header_only(tmp_path / "pics" / "b.png", 10_000, 10_000)  # 100 M pixels claimed, 200 bytes on disk
    with pytest.raises(MinimaxError, match=f"10000x10000 pixels, more than the {MAX_PIXELS:,} minimax decodes"):
        image_folder(tmp_path / "pics", "cpu", "tanh", 8)
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]  # no PIL warning on stderr


def test_an_unreadable_class_folder_is_an_error_not_a_missing_class(tmp_path, monkeypatch):
    import os

    from minimax.data.images import image_folder

    for name in ("cats", "dogs"):
        (tmp_path / "pics" / name).mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "pics" / name / "a.png")
    scandir = os.scandir

    def refuse_dogs(path="."):
        if str(path).endswith("dogs"):
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_dogs)  # (as root, chmod 000 would not stop the read)
    with pytest.raises(MinimaxError, match="cannot read folder .*dogs: Permission denied"):
        image_folder(tmp_path / "pics", "cpu", "tanh", 8)


def test_a_run_says_what_it_trains_on_and_what_it_left_out(tmp_path, capsys):
    """The run's first line (stderr, beside the progress): the images, their size and colour, the classes, and the
    files of the folder that are not images; nothing with --progress off."""
    from PIL import Image

    from minimax.cli import main

    for cls in ("discs", "squares"):
        (tmp_path / "photos" / cls).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (28, 28), (40 * i, 90, 200)).save(tmp_path / "photos" / cls / f"{i}.png")
    (tmp_path / "photos" / "README.txt").write_text("about these photos")
    (tmp_path / "photos" / "squares" / ".DS_Store").write_bytes(b"\0\1")
    args = ["train", "--dataset", "folder", "--data-dir", str(tmp_path / "photos"), "--image-size", "28", "--model",
            "dcgan", "--steps", "1", "--batch-size", "4", "--no-plots", "--tensorboard", "off"]
    assert main([*args, "--out", str(tmp_path / "a"), "--progress", "lines"]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first == (f"minimax: data: folder from {tmp_path / 'photos'}: 12 images, 28×28 RGB, 2 classes (discs, "
                     "squares); left out, not images: README.txt, squares/.DS_Store")
    assert main([*args, "--out", str(tmp_path / "b"), "--progress", "off"]) == 0
    assert capsys.readouterr().err == ""
