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
    """A state dict with the published file's names and shapes and random values, named torch-hub style:
    <name>-<first 8 hex digits of its SHA-256>.pth."""
    torch.manual_seed(0)
    net = inception.FIDInceptionV3()
    state = {k: (torch.randn_like(v) * 0.05 if v.is_floating_point() else v) for k, v in net.state_dict().items()}
    state = {k: (v.abs() + 0.5 if k.endswith("running_var") else v) for k, v in state.items()}
    tmp = folder / "weights.tmp"
    torch.save(state, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = folder / f"{name}-{digest[:8]}.pth"
    tmp.rename(path)
    return path, state


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
    assert json.loads((run / "is.json").read_text())["is"] >= 1.0
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
    one_line(code, capsys.readouterr().err, "--n 40 is below the feature dimension 2048")
