"""Evaluating a run of your own images: Inception FID/KID/PR against any folder (``--real-dir``), the reference
features cached by content, both resizes checked against constructed cases, and the network's forward checked
against an independent functional forward with constructed weights."""
import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_inception import fabricated_weights, no_network  # noqa: F401  (a fixture)
from torch.nn import functional as F

from minimax.cli import main
from minimax.data.images import image_folder
from minimax.metrics import inception


# ----------------------------------------------------------------------------------------------
# the two resizes
def test_inception_resize_is_pytorch_fids_bilinear_on_a_ramp():
    """A horizontal ramp v(j) = j / (W − 1): bilinear interpolation is exact on a linear function, so output
    column i holds clamp((i + ½)·W/299 − ½, 0, W − 1) / (W − 1), scaled to [-1, 1]."""
    for w in (28, 32, 64, 500):
        ramp = (torch.arange(w, dtype=torch.float64) / (w - 1)).expand(1, 1, 7, w)
        out = inception.to_network_input(ramp.float())
        assert out.shape == (1, 3, 299, 299)
        s = ((torch.arange(299, dtype=torch.float64) + 0.5) * w / 299 - 0.5).clamp(0, w - 1)
        want = 2 * s / (w - 1) - 1
        for c in range(3):  # grey repeated to RGB
            assert torch.allclose(out[0, c, 150].double(), want, atol=1e-5)


def triangle_resize_1d(a: np.ndarray, size: int) -> np.ndarray:
    """PIL's BILINEAR reduce along axis 1, written from its definition: output i is centred at (i + ½)·scale in
    input pixels, input pixel j (centre j + ½) weighs max(0, 1 − |j + ½ − centre| / scale), weights normalised
    over the pixels inside the image; rounded to 8 bits (PIL stores each pass as 8-bit)."""
    n = a.shape[1]
    scale = n / size
    out = np.empty((a.shape[0], size, *a.shape[2:]))
    for i in range(size):
        centre = (i + 0.5) * scale
        w = np.maximum(0.0, 1 - np.abs(np.arange(n) + 0.5 - centre) / scale)
        out[:, i] = np.tensordot(a, w / w.sum(), axes=([1], [0]))
    return np.clip(np.round(out), 0, 255)


def test_folder_images_are_centre_cropped_and_resized_with_an_antialiased_bilinear_filter(tmp_path):
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)  # H 48, W 80: the crop keeps columns 16..63
    (tmp_path / "pics").mkdir()
    Image.fromarray(picture, "RGB").save(tmp_path / "pics" / "a.png")
    got = image_folder(tmp_path / "pics", "cpu", "tanh", 16).images[0].numpy().transpose(1, 2, 0).astype(float)
    square = picture[:, 16:64].astype(float)
    want = triangle_resize_1d(triangle_resize_1d(square, 16).transpose(1, 0, 2), 16).transpose(1, 0, 2)
    assert np.abs(got - want).max() <= 1  # PIL's fixed-point weights round differently by at most one level
    point = square[1::3, 1::3]  # what a point-sampling resize would keep: far from the filtered image
    assert np.abs(point - want).mean() > 20


# ----------------------------------------------------------------------------------------------
# the network, against a forward written independently from the published architecture
def reference_forward(sd: dict, x: torch.Tensor, tf_pools: bool = True) -> torch.Tensor:
    """pool3 features of the FID Inception-v3 (pytorch-fid's FIDInceptionA/C/E_1/E_2 and torchvision's B/D),
    computed with torch.nn.functional from the state dict alone; x already resized and in [-1, 1].
    ``tf_pools=False``: torchvision's pools instead (padding counted in the mean, average pool in Mixed_7c)."""

    def conv(name, x, stride=1, padding=0):
        y = F.conv2d(x, sd[f"{name}.conv.weight"], stride=stride, padding=padding)
        y = (y - sd[f"{name}.bn.running_mean"][:, None, None]) / torch.sqrt(sd[f"{name}.bn.running_var"] + 1e-3)[
            :, None, None]
        return F.relu(y * sd[f"{name}.bn.weight"][:, None, None] + sd[f"{name}.bn.bias"][:, None, None])

    def avg(x):  # the TF graph's average pool leaves the padding out of the mean
        if not tf_pools:
            return F.avg_pool2d(x, 3, 1, 1)
        ones = torch.ones_like(x[:, :1])
        return F.avg_pool2d(x, 3, 1, 1) / F.avg_pool2d(ones, 3, 1, 1)

    def block_a(p, x):
        return torch.cat([conv(f"{p}.branch1x1", x),
                          conv(f"{p}.branch5x5_2", conv(f"{p}.branch5x5_1", x), padding=2),
                          conv(f"{p}.branch3x3dbl_3", conv(f"{p}.branch3x3dbl_2", conv(f"{p}.branch3x3dbl_1", x),
                                                          padding=1), padding=1),
                          conv(f"{p}.branch_pool", avg(x))], 1)

    def block_c(p, x):
        a = conv(f"{p}.branch7x7_1", x)
        a = conv(f"{p}.branch7x7_3", conv(f"{p}.branch7x7_2", a, padding=(0, 3)), padding=(3, 0))
        b = conv(f"{p}.branch7x7dbl_1", x)
        for i, pad in zip(range(2, 6), [(3, 0), (0, 3), (3, 0), (0, 3)]):
            b = conv(f"{p}.branch7x7dbl_{i}", b, padding=pad)
        return torch.cat([conv(f"{p}.branch1x1", x), a, b, conv(f"{p}.branch_pool", avg(x))], 1)

    def block_e(p, x, pool):
        a = conv(f"{p}.branch3x3_1", x)
        d = conv(f"{p}.branch3x3dbl_2", conv(f"{p}.branch3x3dbl_1", x), padding=1)
        return torch.cat([conv(f"{p}.branch1x1", x),
                          conv(f"{p}.branch3x3_2a", a, padding=(0, 1)), conv(f"{p}.branch3x3_2b", a, padding=(1, 0)),
                          conv(f"{p}.branch3x3dbl_3a", d, padding=(0, 1)),
                          conv(f"{p}.branch3x3dbl_3b", d, padding=(1, 0)),
                          conv(f"{p}.branch_pool", pool(x))], 1)

    x = conv("Conv2d_1a_3x3", x, stride=2)
    x = conv("Conv2d_2b_3x3", conv("Conv2d_2a_3x3", x), padding=1)
    x = F.max_pool2d(x, 3, 2)
    x = F.max_pool2d(conv("Conv2d_4a_3x3", conv("Conv2d_3b_1x1", x)), 3, 2)
    for p in ("Mixed_5b", "Mixed_5c", "Mixed_5d"):
        x = block_a(p, x)
    x = torch.cat([conv("Mixed_6a.branch3x3", x, stride=2),
                   conv("Mixed_6a.branch3x3dbl_3", conv("Mixed_6a.branch3x3dbl_2", conv("Mixed_6a.branch3x3dbl_1", x),
                                                       padding=1), stride=2),
                   F.max_pool2d(x, 3, 2)], 1)
    for p in ("Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
        x = block_c(p, x)
    b = conv("Mixed_7a.branch7x7x3_1", x)
    b = conv("Mixed_7a.branch7x7x3_3", conv("Mixed_7a.branch7x7x3_2", b, padding=(0, 3)), padding=(3, 0))
    x = torch.cat([conv("Mixed_7a.branch3x3_2", conv("Mixed_7a.branch3x3_1", x), stride=2),
                   conv("Mixed_7a.branch7x7x3_4", b, stride=2), F.max_pool2d(x, 3, 2)], 1)
    x = block_e("Mixed_7b", x, avg)
    x = block_e("Mixed_7c", x, (lambda t: F.max_pool2d(t, 3, 1, 1)) if tf_pools else avg)
    return F.adaptive_avg_pool2d(x, 1).flatten(1)


def test_the_network_matches_an_independent_forward_with_constructed_weights(tmp_path):
    weights, state = fabricated_weights(tmp_path)
    net, _ = inception.load_inception(weights)
    torch.manual_seed(1)
    x = torch.rand(2, 3, 40, 40)
    with torch.no_grad():
        got = net.features(x)
        want = reference_forward({k: v.double() for k, v in state.items()},
                                 inception.to_network_input(x).double())
    assert got.shape == (2, 2048) and float(want.std(0).mean()) > 1e-2 * float(want.abs().mean())  # image-dependent
    scale = float(want.abs().max())
    assert float((got.double() - want).abs().max()) < 1e-4 * scale
    # the TF graph's pooling quirks matter: torchvision's pools give features this test would tell apart
    plain = reference_forward({k: v.double() for k, v in state.items()}, inception.to_network_input(x).double(),
                              tf_pools=False)
    assert float((plain - want).abs().max()) > 1e-2 * scale


# ----------------------------------------------------------------------------------------------
# end to end: a folder run, a reference folder, the cache
def write_folder(folder, n, seed, side=20, shift=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(n):
        a = np.clip(rng.normal(120 + shift, 50, (side, side, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(a, "RGB").save(folder / f"im{i:03d}.png")
    return folder


@pytest.fixture
def folder_run(tmp_path):
    photos = write_folder(tmp_path / "photos", 24, seed=0)
    run = tmp_path / "run"
    assert main(["train", "--dataset", "folder", "--data-dir", str(photos), "--image-size", "16", "--model", "mlp",
                 "--steps", "2", "--batch-size", "8", "--g-hidden", "16", "--d-hidden", "16", "--out", str(run),
                 "--no-plots", "--progress", "off", "--tensorboard", "off"]) == 0
    return run, photos


@pytest.mark.slow  # (several processes or a browser: the full suite)
def test_a_folder_run_is_scored_against_any_folder_and_the_reference_features_are_cached(
        tmp_path, folder_run, capsys, no_network):  # noqa: F811
    run, photos = folder_run
    weights, _ = fabricated_weights(tmp_path)
    other = write_folder(tmp_path / "other", 14, seed=1, side=30, shift=40)
    common = ["--data-dir", str(photos), "--features", "inception", "--inception-weights", str(weights),
              "--cache-dir", str(tmp_path / "cache"), "--n", "12"]
    kid = ["eval", "kid", str(run), *common, "--subsets", "3", "--subset-size", "10", "--real-dir", str(other)]
    assert main(kid) == 0
    out = capsys.readouterr().out
    assert "14 images, computed and cached" in out and f"vs 14 images of {other}" in out
    first = json.loads((run / "kid.json").read_text())
    ref = first["protocol"]["reference"]
    assert ref["folder"] == str(other) and ref["size"] == 14 and ref["side"] == 16 and len(ref["sha256"]) == 64
    assert "pytorch-fid" in ref["resize"]
    assert main(kid) == 0  # the same protocol: re-evaluated, the reference features read back
    assert "14 images, read from the cache" in capsys.readouterr().out
    # bitwise by design: the same generated samples, the reference features read back from the cache
    assert json.loads((run / "kid.json").read_text())["kid"] == first["kid"]
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(other / "im000.png")  # an edited image: a new key
    assert main(kid) == 0
    assert "computed and cached" in capsys.readouterr().out
    edited = json.loads((run / "kid.json").read_text())["kid"]
    # one of 14 reference images replaced by black: KID 0.00238 -> 0.00231 (measured), a move of 6.6e-5, where the
    # features' float32 rounding (~1e-7 of their size) moves KID by ~1e-7
    assert abs(edited - first["kid"]) > 1e-5
    # a folder run without --real-dir: its training folder; another reference is another protocol
    assert main(["eval", "pr", str(run), *common]) == 0
    out = capsys.readouterr().out
    assert f"vs 24 images of {photos}" in out and "precision" in out
    assert json.loads((run / "pr.json").read_text())["protocol"]["reference"]["split"] == "training folder"
    assert main(["eval", "pr", str(run), *common, "--real-dir", str(other)]) == 2
    assert "another protocol" in capsys.readouterr().err
    assert no_network == []


@pytest.mark.parametrize("extra, needle", [
    (["--real-dir", "nowhere"], "--real-dir 'nowhere' is not a folder of images"),
    (["--features", "classifier", "--real-dir", "."], "--real-dir needs --features inception"),
    (["--features", "classifier"], "pass --features inception"),
])
def test_folder_evaluation_refusals_are_one_line(folder_run, capsys, extra, needle):
    run, photos = folder_run
    args = ["eval", "kid", str(run), "--data-dir", str(photos), "--n", "12", "--subset-size", "10"]
    if "--features" not in extra:
        args += ["--features", "inception"]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1, err


def test_missing_inception_weights_name_the_file_and_where_to_put_it(folder_run, capsys, monkeypatch, tmp_path):
    run, photos = folder_run
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))
    assert main(["eval", "kid", str(run), "--data-dir", str(photos), "--n", "12", "--subset-size", "10",
                 "--features", "inception"]) == 2
    err = capsys.readouterr().err
    assert inception.STANDARD_NAMES[0] in err and str(tmp_path / "empty-hub") in err and err.count("\n") == 1


# ----------------------------------------------------------------------------------------------
# folders of digits in the digit classifier's features (--classifier-data)
def test_folders_of_digits_are_scored_in_the_digit_classifiers_features(tmp_path, capsys):
    """MNIST-style IDX files train the classifier (once, cached); a folder of 28×28 greyscale digits is then scored
    against another: FID 0 between a folder and its copy, above 0 against the same digits a quarter as bright; the
    classifier's test accuracy is in the record. RGB images and a missing --classifier-data are refused in one
    line."""
    from test_image_data import write_mnist

    from minimax.data.idx import read_idx

    mnist = write_mnist(tmp_path / "mnist", n_train=200, n_test=140)  # (FID needs more images than 128 features)
    digits = read_idx(mnist / "t10k-images-idx3-ubyte.gz")
    for name, images in (("real", digits), ("copy", digits), ("other", digits // 4)):  # other: a quarter as bright
        (tmp_path / name).mkdir()
        for i, im in enumerate(images):
            Image.fromarray(im, "L").save(tmp_path / name / f"{i:03d}.png")
    common = ["--features", "classifier", "--classifier-data", str(mnist), "--real-dir", str(tmp_path / "real"),
              "--cache-dir", str(tmp_path / "cache")]
    fids = {}
    for fake in ("copy", "other"):
        record = tmp_path / f"{fake}.json"
        assert main(["eval", "fid", "--fake-dir", str(tmp_path / fake), *common, "--record", str(record)]) == 0
        fids[fake] = json.loads(record.read_text())
    assert abs(fids["copy"]["fid"]) < 1e-3 and fids["other"]["fid"] > 1.0
    assert "test_accuracy" in json.dumps(fids["other"]["protocol"])
    capsys.readouterr()

    (tmp_path / "rgb").mkdir()
    for i in range(130):
        Image.new("RGB", (28, 28), (i, 10, 200)).save(tmp_path / "rgb" / f"{i}.png")
    assert main(["eval", "fid", "--fake-dir", str(tmp_path / "rgb"), *common]) == 2
    err = capsys.readouterr().err
    assert "28x28 greyscale" in err and "(3, 28, 28)" in err and err.count("\n") == 1
    assert main(["eval", "fid", "--fake-dir", str(tmp_path / "copy"), "--real-dir", str(tmp_path / "real"),
                 "--features", "classifier"]) == 2
    assert "--classifier-data DIR" in capsys.readouterr().err
    assert main(["eval", "fid", "--fake-dir", str(tmp_path / "copy"), "--real-dir", str(tmp_path / "real"),
                 "--features", "inception", "--classifier-data", str(mnist)]) == 2
    assert "goes with --features classifier" in capsys.readouterr().err
