"""The FID Inception network, loaded offline: fabricated weights run end to end; wrong hashes, pickles, missing
files are refused in one line; no network connection is ever made."""
import hashlib
import json
import os
import pickle
import socket

import pytest
import torch
from test_image_data import write_mnist

from minimax.cli import main
from minimax.metrics import inception


def fabricated_weights(folder, name="fake-inception"):
    """A state dict with the published file's names and shapes and random values under which the features
    depend on the image, named torch-hub style: <name>-<first 8 hex digits of its SHA-256>.pth.

    Convolutions and the fc layer are He-initialised, N(0, 2/fan_in), and every BatchNorm is near the identity
    (γ = 1 + 0.1·N, β = 0.1·N, running mean 0.1·N, running variance 1 + 0.1·U), so the signal keeps its scale
    through the 94 layers. (Weights N(0, 0.05²) with running variances |N| + 0.5 shrank it to a constant: every
    image had the same features to 1e-11, and scores compared at that level were rounding noise.)
    """
    gen = torch.Generator().manual_seed(0)
    state = {}
    for key, v in inception.FIDInceptionV3().state_dict().items():
        normal = torch.randn(v.shape, generator=gen) if v.is_floating_point() else None
        if normal is None:
            state[key] = v
        elif key.endswith("conv.weight") or key == "fc.weight":
            state[key] = normal * (2.0 / v[0].numel()) ** 0.5
        elif key.endswith("bn.weight"):
            state[key] = 1 + 0.1 * normal
        elif key.endswith("running_var"):
            state[key] = 1 + 0.1 * torch.rand(v.shape, generator=gen)
        else:  # BatchNorm's bias and running mean, the fc bias
            state[key] = 0.1 * normal
    tmp = folder / "weights.tmp"
    torch.save(state, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = folder / f"{name}-{digest[:8]}.pth"
    tmp.rename(path)
    return path, state


def distinct_images(side=32):
    """Five images that differ in kind: black, white, a ramp, a checkerboard and noise, [5, 3, side, side]."""
    ramp = torch.linspace(0, 1, side).expand(3, side, side)
    board = ((torch.arange(side)[:, None] // 4 + torch.arange(side)[None, :] // 4) % 2).float().expand(3, side, side)
    noise = torch.rand(3, side, side, generator=torch.Generator().manual_seed(1))
    return torch.stack([torch.zeros(3, side, side), torch.ones(3, side, side), ramp, board, noise])


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection is recorded and refused."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_the_network_has_the_published_names_and_shapes():
    net = inception.FIDInceptionV3()
    sd = net.state_dict()
    assert sd["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert sd["Mixed_7c.branch3x3dbl_3b.conv.weight"].shape == (384, 384, 3, 1)
    assert sd["fc.weight"].shape == (1008, 2048)
    assert sum(p.numel() for p in net.parameters()) == 23_850_960
    phi = net.eval().features(torch.rand(2, 1, 28, 28))
    assert phi.shape == (2, 2048) and torch.isfinite(phi).all()


def test_fabricated_weights_load_and_score_end_to_end_offline(tmp_path, capsys, no_network):
    weights, state = fabricated_weights(tmp_path)
    net, record = inception.load_inception(weights)
    assert torch.equal(net.state_dict()["Mixed_6b.branch7x7_2.conv.weight"], state["Mixed_6b.branch7x7_2.conv.weight"])
    assert record["standard"] is False and record["sha256"].startswith(weights.name.split("-")[-1][:8])
    data = write_mnist(tmp_path / "mnist", n_train=40, n_test=12)
    run = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--data-dir", str(data), "--model", "mlp", "--steps", "2",
                 "--batch-size", "8", "--g-hidden", "16", "--d-hidden", "16", "--out", str(run), "--no-plots",
                 "--device", "cpu", "--tensorboard", "off"]) == 0
    common = ["--data-dir", str(data), "--features", "inception", "--inception-weights", str(weights),
              "--cache-dir", str(tmp_path / "cache")]
    assert main(["eval", "kid", str(run), *common, "--n", "12", "--subsets", "4", "--subset-size", "10"]) == 0
    assert main(["eval", "is", str(run), *common, "--n", "10", "--splits", "2"]) == 0
    out = capsys.readouterr().out
    assert "KID = MMD²_u, unscaled (inception features)" in out and "Inception Score" in out
    record = json.loads((run / "kid.json").read_text())
    assert record["protocol"]["feature_network"]["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert record["protocol"]["feature_network"]["standard"] is False
    reference = {k: v for k, v in record["protocol"]["reference"].items() if k != "sha256"}
    assert record["protocol"]["n_samples"] == 12 and reference == {"split": "test", "size": 12}
    assert json.loads((run / "is.json").read_text())["is"] > 1.0 + 1e-5  # ≥ 1 always; measured 1 + 6e-5 (alike samples)
    assert no_network == []


def one_line(code, err, needle):
    assert code == 2 and needle in err and err.count("\n") == 1, err


def test_wrong_hash_pickle_payload_and_missing_weights_are_refused(tmp_path, capsys, monkeypatch, no_network):
    weights, _ = fabricated_weights(tmp_path)
    data = write_mnist(tmp_path / "mnist", n_train=40, n_test=12)
    base = ["eval", "kid", "--real", "--data-dir", str(data), "--features", "inception", "--n", "12",
            "--subset-size", "10", "--subsets", "2", "--inception-weights"]
    wrong = tmp_path / "fake-inception-00000000.pth"
    wrong.write_bytes(weights.read_bytes())
    one_line(main([*base, str(wrong)]), capsys.readouterr().err, "does not start with 00000000")
    marker = tmp_path / "payload-ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    raw = pickle.dumps({"fc.weight": Payload()})
    hostile = tmp_path / f"hostile-{hashlib.sha256(raw).hexdigest()[:8]}.pth"
    hostile.write_bytes(raw)
    one_line(main([*base, str(hostile)]), capsys.readouterr().err, "not a plain file of tensors")
    assert not marker.exists()
    partial = {k: v for k, v in torch.load(weights, weights_only=True).items() if not k.startswith("fc.")}
    torch.save(partial, tmp_path / "p.tmp")
    cut = tmp_path / f"cut-{hashlib.sha256((tmp_path / 'p.tmp').read_bytes()).hexdigest()[:8]}.pth"
    (tmp_path / "p.tmp").rename(cut)
    one_line(main([*base, str(cut)]), capsys.readouterr().err, "is not the FID Inception-v3 state dict")
    one_line(main([*base, str(tmp_path / "nowhere.pth")]), capsys.readouterr().err, "not found")
    # no flag: the torch hub cache; a file there under the standard name must have the standard digest
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub-home"))
    one_line(main(base[:-1]), capsys.readouterr().err, "minimax never downloads during evaluation")
    hub = tmp_path / "hub-home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / inception.STANDARD_NAMES[0]).write_bytes(weights.read_bytes())
    one_line(main(base[:-1]), capsys.readouterr().err, "does not start with 6726825d")
    assert no_network == []


def test_fid_refuses_fewer_samples_than_the_feature_dimension(tmp_path, capsys):
    weights, _ = fabricated_weights(tmp_path)
    data = write_mnist(tmp_path / "mnist", n_train=40, n_test=12)
    code = main(["eval", "fid", "--real", "--data-dir", str(data), "--features", "inception", "--inception-weights",
                 str(weights), "--n", "40"])
    one_line(code, capsys.readouterr().err,
             "N = 40 samples (--n, or the images of --fake-dir) is below the feature dimension 2048")


def test_fabricated_weights_give_features_that_depend_on_the_image(tmp_path):
    """Guards the constructed weights every Inception test relies on: distinct images must get distinct
    features, far above float error (float32 rounding is ~1e-7 of the features' size). The old weights gave a
    relative spread of 1e-9, so a score "changing" was a CPU's rounding."""
    weights, _ = fabricated_weights(tmp_path)
    net, _ = inception.load_inception(weights)
    with torch.no_grad():
        phi = net.features(distinct_images())
        logits = net.class_logits(phi)
    size = float(phi.abs().mean())
    assert float(phi.std(0).mean()) > 1e-2 * size  # measured 0.19 of the size
    assert float(torch.cdist(phi, phi).masked_fill(torch.eye(5, dtype=torch.bool), float("inf")).min()) > 1e-2 * size
    assert float(logits.std(0).mean()) > 1e-2 * float(logits.abs().mean())


def test_download_inception_keeps_only_a_file_with_the_named_sha256_and_says_where(tmp_path, capsys, monkeypatch):
    """`minimax download inception` (here from a file:// URL the test writes): the file is kept only when its
    SHA-256 starts with the prefix in the standard name (torch hub's check), in the folder evaluation reads; a
    verified file is not fetched again; a wrong one is discarded with a one-line error."""
    src = tmp_path / "served.pth"
    src.write_bytes(b"not the weights")
    monkeypatch.setattr(inception, "WEIGHTS_URL", "file://" + str(src))
    code = main(["download", "inception", "--data-dir", str(tmp_path / "w")])
    err = capsys.readouterr().err
    assert code == 2 and "SHA-256" in err and "expected 6726825d" in err and err.count("\n") == 1
    assert not list((tmp_path / "w").iterdir())  # nothing half-kept
    monkeypatch.setattr(inception, "STANDARD_SHA256_PREFIX", hashlib.sha256(src.read_bytes()).hexdigest()[:8])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert main(["download", "inception"]) == 0
    kept = tmp_path / "torch" / "hub" / "checkpoints" / inception.STANDARD_NAMES[0]
    assert kept.read_bytes() == src.read_bytes() and str(kept) in capsys.readouterr().out
    src.unlink()  # verified and present: not fetched again
    assert main(["download", "inception"]) == 0
    assert inception.find_weights(None) == kept
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty"))
    with pytest.raises(inception.MinimaxError, match="minimax download inception"):
        inception.find_weights(None)
