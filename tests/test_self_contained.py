"""A trained run used anywhere (#38): without its training data (the data card), from Python (``minimax.load``),
as PNG files, and any folder of images scored against any other (``--fake-dir``), KID's subset adapting to small
sets."""
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from test_folder_eval import write_folder
from test_image_data import write_mnist
from test_inception import fabricated_weights, no_network  # noqa: F401  (a fixture)

import minimax
from minimax.cli import main
from minimax.data.images import image_folder
from minimax.metrics import inception
from minimax.metrics.kid import kid


def train(tmp_path, *extra, data=None, steps=3):
    data = data or write_mnist(tmp_path / "digits")
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--dataset", "mnist", "--data-dir", str(data), "--model", "dcgan",
                 "--steps", str(steps), "--batch-size", "4", "--latent-dim", "8", "--log-every", "1", "--device",
                 "cpu", "--no-plots", "--tensorboard", "off", "--progress", "off", *extra]) == 0
    return run, data


@pytest.fixture
def conditional_run(tmp_path):
    return train(tmp_path, "--condition", "projection", "--g-ema", "0.9")


# ----------------------------------------------------------------------------------------------
# the data card: a run without its data
def test_a_run_samples_exports_interpolates_and_reports_with_its_training_data_deleted(conditional_run, capsys):
    run, data = conditional_run
    before = {"any": minimax.sample(str(run), 9, seed=3), "classes": minimax.sample(str(run), 4, classes=[2, "7"])}
    assert main(["sample", str(run), "--n", "6", "--out", str(run / "sample-before.npy")]) == 0
    shutil.rmtree(data)
    # everything that uses G works, with the same numbers: c ~ p_data(c) drawn from the card's labels
    assert torch.equal(minimax.sample(str(run), 9, seed=3), before["any"])
    assert torch.equal(minimax.sample(str(run), 4, classes=[2, "7"]), before["classes"])
    assert main(["sample", str(run), "--n", "6", "--out", str(run / "sample-after.npy")]) == 0
    assert np.array_equal(np.load(run / "sample-before.npy"), np.load(run / "sample-after.npy"))
    for args in (["sample", str(run), "--interpolate", "2", "--points", "3"], ["export", str(run)],
                 ["report", str(run)], ["sample", str(run), "--format", "png", "--n", "3"]):
        assert main(args) == 0, args
    capsys.readouterr()
    # training on needs the data: a one-line error naming it
    assert main(["train", "--resume", str(run), "--steps", "4", "--progress", "off", "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "data directory" in err and str(data) in err and err.count("\n") == 1


def test_a_resumed_run_warns_when_its_data_changed(tmp_path, capsys):
    run, data = train(tmp_path)
    capsys.readouterr()
    write_mnist(data, seed=1)  # other pixels under the same names
    assert main(["train", "--resume", str(run), "--steps", "4", "--progress", "off", "--no-plots"]) == 0
    err = capsys.readouterr().err
    assert "training data" in err and "changed since this run last trained" in err
    assert main(["train", "--resume", str(run), "--steps", "5", "--progress", "off", "--no-plots"]) == 0
    assert "changed" not in capsys.readouterr().err  # the card now describes the data there


def test_a_corrupt_data_card_is_a_one_line_error(conditional_run, capsys):
    run, _ = conditional_run
    (run / "data.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    assert main(["sample", str(run), "--n", "2"]) == 2
    err = capsys.readouterr().err
    assert "data.safetensors is not a minimax data card" in err and err.count("\n") == 1


def test_the_card_draws_labels_as_the_data_does():
    from minimax.data.card import DataCard
    from minimax.data.images import ImageData
    from minimax.data.stacked import StackedMNIST

    gen = torch.Generator().manual_seed(0)
    digits = ImageData("mnist", torch.randint(0, 256, (50, 1, 28, 28), generator=gen, dtype=torch.uint8),
                       labels=torch.randint(0, 10, (50,), generator=gen))
    for data in (digits, StackedMNIST(digits)):
        card = DataCard.from_bytes(DataCard.of(data).to_bytes())
        assert card.shape == data.shape and card.n_classes == data.n_classes and card.images == len(data)
        a, b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
        assert torch.equal(card.sample_labels(1000, a), data.sample_labels(1000, b))
        x = torch.linspace(-2, 2, 11)
        assert torch.equal(card.to_data_space(x), data.to_data_space(x))


# ----------------------------------------------------------------------------------------------
# minimax.load
def test_load_gives_a_module_whose_samples_are_the_runs(conditional_run):
    run, _ = conditional_run
    G = minimax.load(run)
    assert isinstance(G, torch.nn.Module) and G.weights == "average" and G.step == 3
    assert G.latent_dim == 8 and G.prior == "normal" and G.class_names == tuple(str(c) for c in range(10))
    assert torch.equal(G.sample(5, seed=2), minimax.sample(str(run), 5, seed=2))
    assert torch.equal(G.sample(3, classes="4"), minimax.sample(str(run), 3, classes="4"))
    x, c = G.sample_labelled(6, seed=2)
    assert torch.equal(x, G.sample(6, seed=2)) and c.shape == (6,)
    # G(z, c) is the same map: the sampled classes and noise give the same images, with gradients
    z = G.noise(6, seed=2).requires_grad_()
    y = G(z, c)
    assert torch.equal(y.detach(), x) and y.shape == (6, 1, 28, 28) and 0 <= y.min() and y.max() <= 1
    y.sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    raw = minimax.load(run, weights="raw")
    assert raw.weights == "raw" and not torch.equal(raw.sample(4), G.sample(4))
    with pytest.raises(minimax.MinimaxError, match="conditional: call G"):
        G(z)


def test_load_refuses_what_it_cannot_give(tmp_path):
    run, _ = train(tmp_path)
    with pytest.raises(minimax.MinimaxError, match="kept no weight average"):
        minimax.load(run, weights="average")
    with pytest.raises(minimax.MinimaxError, match="weights must be one of"):
        minimax.load(run, weights="ema")
    with pytest.raises(minimax.MinimaxError, match="device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got 'tpu'"):
        minimax.load(run, device="tpu")
    with pytest.raises(minimax.MinimaxError, match="run directory"):
        minimax.load(3)
    with pytest.raises(minimax.MinimaxError, match="unconditional"):
        minimax.load(run).sample_labelled(2)


# ----------------------------------------------------------------------------------------------
# images out
def test_png_samples_are_the_arrays_samples_in_8_bits_one_folder_per_class(conditional_run, capsys):
    run, _ = conditional_run
    x = minimax.sample(str(run), 4, classes=[1, 5], seed=7).numpy()
    out = run.parent / "pngs"
    assert main(["sample", str(run), "--format", "png", "--n", "4", "--class", "1,5", "--seed", "7",
                 "--out", str(out)]) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert files == [f"1/00000{i}.png" for i in range(4)] + [f"5/00000{i}.png" for i in range(4, 8)]
    for i, name in enumerate(files):
        got = np.asarray(Image.open(out / name))
        assert np.array_equal(got, (x[i, 0] * 255 + 0.5).astype(np.uint8))
    capsys.readouterr()
    assert main(["sample", str(run), "--format", "png", "--n", "4", "--out", str(out)]) == 2  # not empty
    assert "not empty" in capsys.readouterr().err


def test_an_unconditional_run_writes_numbered_pngs_whole_or_not_at_all(tmp_path, monkeypatch, capsys):
    run, _ = train(tmp_path)
    assert main(["sample", str(run), "--format", "png", "--n", "12"]) == 0
    folder = run / "sample-n12-seed0-png"
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:06d}.png" for i in range(12)]
    import minimax.viz.grids as grids

    calls = []

    def fail_after_three(image):
        calls.append(1)
        if len(calls) > 3:
            raise OSError(28, "No space left on device")
        return grids.image_grid_png(image[None], pad=0)

    monkeypatch.setattr(grids, "image_png", fail_after_three)
    assert main(["sample", str(run), "--format", "png", "--n", "12", "--out", str(tmp_path / "half")]) == 2
    assert "No space left" in capsys.readouterr().err
    assert not (tmp_path / "half").exists() and not list(tmp_path.glob(".half*"))  # no half-written folder


def test_grids_scale_and_label_their_rows(conditional_run):
    run, _ = conditional_run
    plain, big = run.parent / "plain.png", run.parent / "big.png"
    assert main(["sample", str(run), "--n", "3", "--class", "0,1", "--grid", str(plain)]) == 0
    assert main(["sample", str(run), "--n", "3", "--class", "0,1", "--grid", str(big), "--scale", "3"]) == 0
    a, b = Image.open(plain), Image.open(big)
    grid_w, grid_h = 3 * 30 + 2, 2 * 30 + 2  # 28-px images, 2-px gaps
    assert a.height == grid_h and a.width > grid_w  # the labels' margin on the left
    assert b.height == 3 * grid_h and b.width - 3 * grid_w < a.width  # the margin is not scaled
    right = np.asarray(b)[:, -3 * grid_w:]
    assert np.array_equal(right, np.asarray(a)[:, -grid_w:].repeat(3, 0).repeat(3, 1))  # each pixel a 3×3 block
    margin = np.asarray(a)[:, :a.width - grid_w]
    assert margin.min() < 128  # ink: the class names are written


# ----------------------------------------------------------------------------------------------
# any folder against any folder
@pytest.mark.slow  # (the Inception network on two folders: the full suite)
def test_a_folder_is_scored_against_a_folder_and_kid_adapts_to_small_sets(tmp_path, capsys, no_network):  # noqa: F811
    weights, _ = fabricated_weights(tmp_path)
    real = write_folder(tmp_path / "real", 9, seed=0, side=24)
    fake = write_folder(tmp_path / "fake", 7, seed=1, side=16, shift=40)
    common = ["--real-dir", str(real), "--fake-dir", str(fake), "--inception-weights", str(weights),
              "--cache-dir", str(tmp_path / "cache")]
    assert main(["eval", "kid", *common, "--subsets", "4"]) == 0
    out = capsys.readouterr().out
    record = json.loads((tmp_path / "fake.kid.json").read_text())  # beside the folder by default
    p = record["protocol"]
    assert record["subset_size"] == 7 and "lowered to 7" in p["subset_size_note"] and "lowered to 7" in out
    assert p["run"] is None and p["scored"]["folder"] == str(fake) and p["scored"]["size"] == 7
    assert p["scored"]["side"] == 16 and p["reference"]["side"] == 16 and p["features"] == "inception"
    # the same number as the estimator on both folders' features, read at the fake images' side (16)
    net, _ = inception.load_inception(weights)
    folders = {"real": image_folder(real, "cpu", "tanh", 16), "fake": image_folder(fake, "cpu", "tanh", 16)}
    phi = {k: inception.inception_outputs(net, d.pixels(), d.shape) for k, d in folders.items()}
    want = kid(phi["real"], phi["fake"], 4, 7, seed=0)["kid"]
    assert record["kid"] == pytest.approx(want, rel=1e-6, abs=1e-9)
    # --record, --image-size, precision/recall and IS from Python too
    r = minimax.evaluate(None, "pr", real_dir=str(real), fake_dir=str(fake), inception_weights=str(weights),
                         cache_dir=str(tmp_path / "cache"), image_size=20, record=str(tmp_path / "pr.json"))
    assert r["protocol"]["scored"]["side"] == 20 and json.loads((tmp_path / "pr.json").read_text())["precision"] == \
        r["precision"]
    r = minimax.evaluate(None, "is", fake_dir=str(fake), inception_weights=str(weights), splits=2)
    assert r["is"] >= 1 and r["protocol"]["reference"] is None
    assert no_network == []


@pytest.mark.parametrize("extra, needle", [
    (["kid", "--fake-dir", "FAKE"], "eval kid --fake-dir needs --real-dir"),
    (["fid", "--fake-dir", "FAKE", "--real-dir", "REAL"], "is below the feature dimension 2048"),
    (["kid", "--fake-dir", "FAKE", "--real-dir", "REAL", "--n", "5"], "drop --n"),
    (["kid", "--fake-dir", "FAKE", "--real-dir", "REAL", "--subset-size", "8"], "subset size 8 is larger than"),
    (["kid", "--fake-dir", "nowhere", "--real-dir", "REAL"], "--fake-dir 'nowhere' is not a folder"),
    (["kid", "--fake-dir", "FAKE", "--real-dir", "REAL", "--features", "classifier"], "needs --features inception"),
    (["parzen", "--data-dir", "x", "--fake-dir", "FAKE"], "unrecognized arguments"),
    (["kid", "--fake-dir", "MIXED", "--real-dir", "REAL"], "have different sides (16, 24 px"),
    (["kid", "--fake-dir", "FAKE", "--real-dir", "REAL", "--record", "REAL/im000.png"], "is not a minimax evaluation"),
])
def test_folder_against_folder_refusals_are_one_line(tmp_path, capsys, extra, needle):
    real = write_folder(tmp_path / "real", 9, seed=0, side=24)
    fake = write_folder(tmp_path / "fake", 7, seed=1, side=16)
    mixed = write_folder(tmp_path / "mixed", 2, seed=1, side=16)
    Image.fromarray(np.zeros((24, 30, 3), np.uint8)).save(mixed / "wide.png")
    names = {"FAKE": str(fake), "REAL": str(real), "MIXED": str(mixed)}
    args = [a.replace("REAL", str(real)) if a.startswith("REAL/") else names.get(a, a) for a in extra]
    assert main(["eval", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1, err


@pytest.mark.slow  # (the Inception network on two folders: the full suite)
def test_kid_of_a_run_against_a_small_folder_adapts_with_the_training_data_gone(tmp_path, capsys, no_network):  # noqa: F811
    """The README's line on a folder under 1,000 images: the subset is lowered (and said), not refused."""
    photos = write_folder(tmp_path / "photos", 12, seed=0, side=16)
    run = tmp_path / "run"
    assert main(["train", "--dataset", "folder", "--data-dir", str(photos), "--image-size", "16", "--model", "mlp",
                 "--steps", "2", "--batch-size", "4", "--g-hidden", "16", "--d-hidden", "16", "--out", str(run),
                 "--no-plots", "--progress", "off", "--tensorboard", "off"]) == 0
    weights, _ = fabricated_weights(tmp_path)
    reference = shutil.copytree(photos, tmp_path / "kept")
    shutil.rmtree(photos)
    assert main(["eval", "kid", str(run), "--real-dir", str(reference), "--inception-weights", str(weights),
                 "--n", "20", "--subsets", "3", "--cache-dir", str(tmp_path / "cache")]) == 0
    record = json.loads((run / "kid.json").read_text())
    assert record["subset_size"] == 12 and "reference set has 12 images" in record["protocol"]["subset_size_note"]
    assert no_network == []


# ----------------------------------------------------------------------------------------------
# class names from a run's files never name a path outside --out (hostile round 5)
@pytest.mark.parametrize("bad", ["../../x", "/abs", "..", "", "a/b", "a\\b"])
def test_a_class_name_that_is_not_one_folder_name_is_refused_wherever_it_is_read(conditional_run, bad, capsys):
    from minimax.data.card import DataCard
    from minimax.files import atomic_write_folder

    run, _ = conditional_run
    cfg = json.loads((run / "config.json").read_text())
    names = [bad] + cfg["class_names"][1:]
    (run / "config.json").write_text(json.dumps({**cfg, "class_names": names}))
    capsys.readouterr()
    assert main(["sample", str(run), "--format", "png", "--n", "2", "--class", "all", "--out",
                 str(run.parent / "pngs")]) == 2
    err = capsys.readouterr().err
    assert "class_names must be" in err and err.count("\n") == 1
    card = DataCard.from_bytes((run / "data.safetensors").read_bytes())
    card.class_names = tuple(names)
    with pytest.raises(minimax.MinimaxError, match="holds values a data card cannot have"):
        DataCard.from_bytes(card.to_bytes())
    with pytest.raises(minimax.MinimaxError, match="not a name of a file there"):
        atomic_write_folder(run.parent / "direct", [(f"{bad}/000000.png", b"x")], "--out")
    assert sorted(p.name for p in run.parent.iterdir()) == ["digits", "run"]  # nothing written beside the run


# ----------------------------------------------------------------------------------------------
# a run whose data moved
def test_a_resumed_run_reads_its_moved_data_when_the_digest_matches_and_goes_on_bitwise(tmp_path, capsys):
    straight, data = train(tmp_path / "a", steps=4)
    run, moved = train(tmp_path / "b", data=write_mnist(tmp_path / "b" / "digits"), steps=2)
    new = tmp_path / "elsewhere"
    shutil.move(moved, new)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "4", "--progress", "off", "--no-plots"]) == 2
    assert "data directory" in capsys.readouterr().err  # the folder the run knows is gone
    assert main(["train", "--resume", str(run), "--steps", "4", "--data-dir", str(new), "--progress", "off",
                 "--no-plots"]) == 0
    a, b = minimax.load(straight), minimax.load(run)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert json.loads((run / "config.json").read_text())["data_dir"] == str(new.absolute())  # the next resume too


def test_a_resume_onto_other_data_is_refused_naming_both_digests(tmp_path, capsys):
    run, _ = train(tmp_path, steps=2)
    other = write_mnist(tmp_path / "other", seed=5)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "4", "--data-dir", str(other), "--progress", "off"]) == 2
    err = capsys.readouterr().err
    assert f"the data in {other} are not those {run} trained on (SHA-256" in err and err.count("\n") == 1
    assert json.loads((run / "config.json").read_text())["steps"] == 2  # nothing rewritten
    with pytest.raises(minimax.MinimaxError, match="data_dir= goes with resume="):
        minimax.train(minimax.TrainConfig(), data_dir=str(other))


# ----------------------------------------------------------------------------------------------
# the Generator's methods take what minimax.sample takes, and refuse the rest in one line (hostile round 5)
@pytest.fixture(scope="module")
def one_conditional_run(tmp_path_factory):  # read only by the tests below: trained once
    return train(tmp_path_factory.mktemp("conditional"), "--condition", "projection")


@pytest.mark.parametrize("call,needle", [
    (lambda G: G.sample(1.5), "n must be an integer, got 1.5"),
    (lambda G: G.sample("5"), "n must be an integer, got '5'"),
    (lambda G: G.sample(True), "n must be an integer, got True"),
    (lambda G: G.sample(0), "n must be >= 1, got 0"),
    (lambda G: G.sample(-5), "n must be >= 1, got -5"),
    (lambda G: G.sample(2, seed=2**64), r"seed must be in \[0, 9223372036854775807\]"),
    (lambda G: G.sample(2, seed=-1), r"seed must be in \[0, "),
    (lambda G: G.sample(2, seed="x"), "seed must be an integer"),
    (lambda G: G.sample(10**12), "n 1000000000000: the samples need about"),
    (lambda G: G.sample(2, classes=3.5), "classes must be class indices or names"),
    (lambda G: G.noise(-1), "n must be >= 1"),
    (lambda G: G.noise(10**13), "the samples need about"),
    (lambda G: G.sample_labelled(-2), "n must be >= 1"),
    (lambda G: G(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long)), r"z must be a float tensor of shape \[m, 8\]"),
    (lambda G: G(torch.zeros(2, 8), torch.tensor([0, 10])), r"c holds class indices outside \[0, 10\)"),
    (lambda G: G(torch.zeros(2, 8), torch.tensor([0.0, 1.0])), "c must be an integer tensor of shape"),
    (lambda G: G(torch.zeros(2, 8)), "this run is conditional"),
])
def test_the_generators_methods_refuse_what_they_cannot_take_in_one_line(one_conditional_run, call, needle):
    G = minimax.load(one_conditional_run[0])
    with pytest.raises(minimax.MinimaxError, match=needle):
        call(G)
    assert G(G.noise(3), torch.tensor([0, 4, 9])).shape == (3, 1, 28, 28)  # and takes what it should


@pytest.mark.parametrize("device,needle", [("cuda", "CPU build|sees no GPU"), ("meta", "device must be 'cpu'"),
                                           ("nonsense", "device must be 'cpu'")])
def test_load_onto_a_device_it_cannot_use_is_one_line(one_conditional_run, device, needle):
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(minimax.MinimaxError, match=needle):
        minimax.load(one_conditional_run[0], device=device)
