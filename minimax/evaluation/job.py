"""What every metric's runner draws on: the run to score and its samples (:class:`Job`), the feature network
(:class:`Features`: the dataset's classifier or Inception-v3), the reference set with its cached features, and the
protocol record each score is written with. One metric's runner is one module beside this one
(``evaluation/fid.py``, ...), named by its declaration (``COMPONENTS``, :mod:`minimax.registry`)."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol

import torch

from .. import registry
from .._version import __version__
from ..catalogue import IMAGE_SETS, MNIST_FAMILY, STACKED
from ..config import TrainConfig, noise_seed, positive_int
from ..data import load_dataset
from ..data.images import image_folder, shared_side
from ..errors import MinimaxError
from ..metrics import classifier
from ..metrics.inception import FEATURE_DIM, inception_outputs, load_inception
from ..run.resources import check_sample_memory
from ..run.rundir import load_run_config
from ..run.sampling import generate
from ..run.trained import Trained, load_trained
from .options import EvalOptions
from .reference import RESIZE, Reference, reference_features, reference_set

MAX_EVAL_SAMPLES = 10**6


def default_n(metric: str) -> int:
    """A metric's N without ``--n`` (:attr:`minimax.registry.Metric.default_n`)."""
    return registry.metrics()[metric].default_n


def sample_count(opts: EvalOptions) -> int:
    """N: ``--n``, else the metric's default."""
    return default_n(opts.metric) if opts.n is None else positive_int(opts.n, "--n")


@dataclass
class Job:
    """One evaluation: the run (or none with --real), its config, and the samples asked for."""

    opts: EvalOptions
    metric: str
    run_dir: str | None
    cfg: TrainConfig
    players: Trained | None
    n: int
    seed: int
    _real: object = None  # the training set, loaded once: --real's samples, a folder or Stacked MNIST reference
    fake: object = None  # with --fake-dir: the folder's images, scored instead of a run's samples

    def real_data(self):
        if self._real is None:
            self._real = load_dataset(self.cfg, "cpu", split="train")
        return self._real

    def samples(self, eight_bit: bool = True) -> tuple[torch.Tensor, str]:
        """N samples in [0, 1], flattened: the run's generator's, or real training images with --real. A
        generator's are rounded to 8 bits (:func:`eight_bits`) unless ``eight_bit=False`` (Parzen's densities,
        as the 2014 paper computed them, take them as they are)."""
        if self.fake is not None:
            return self.fake.pixels(), f"{len(self.fake)} images of {self.opts.fake_dir}"
        check_sample_memory(self.n, self.shape, "--n")
        if self.players is None:
            data = self.real_data()
            if self.cfg.dataset == STACKED:
                return data.pixels(self.n, self.seed), f"{self.n} real stacks (seed {self.seed})"
            samples = data.pixels()[:self.n]
            return samples, f"{len(samples)} real training images"
        x = generate(self.players, self.n, seed=self.seed).reshape(self.n, -1).cpu().float()
        return eight_bits(x) if eight_bit else x, f"{self.n} samples of {self.run_dir} (step {self.players.step})"

    def scored(self) -> dict:
        """--fake-dir: the folder scored, as a reference folder is recorded (its SHA-256 included)."""
        return Reference(self.fake.pixels(), self.shape, {"folder": str(self.opts.fake_dir), "size": len(self.fake),
                                                          "side": self.shape[-1], "resize": RESIZE}).record

    @property
    def shape(self) -> tuple[int, ...]:
        if self.fake is not None:
            return tuple(self.fake.shape)
        return tuple((self.players.data if self.players is not None else self.real_data()).shape)

    def protocol(self, source: str, reference: dict | None, network: dict | None, **extra) -> dict:
        return {"metric": self.metric, "minimax_version": __version__, "run": self.run_dir,
                "step": None if self.players is None else self.players.step, "source": source, "n_samples": self.n,
                "noise_seed": None if self.players is None else self.seed, "reference": reference,
                "feature_network": network, "features": self.opts.features,
                "generator_weights": None if self.players is None else generator_weights(self.cfg),
                **({} if self.fake is None else {"scored": self.scored()}),
                **({"pixels": PIXELS} if self.players is not None and self.metric != "parzen" else {}), **extra,
                "evaluated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


# what RUN/<metric>.json holds (docs/reference.md is generated from these; tests check them against real records)
PROTOCOL_FIELDS = {
    "metric": "the metric's name",
    "minimax_version": "the minimax that measured it",
    "run": "the run directory (null: real images scored with --real, or a folder's with --fake-dir)",
    "step": "the step of the checkpoint whose generator was sampled",
    "source": "what was scored, in words (N samples of RUN at step S, N real training images, or N images of a "
              "folder)",
    "n_samples": "N, the number of samples scored",
    "noise_seed": "the seed of the noise the samples were drawn with",
    "generator_weights": "which weights of G were sampled: its own, an exponential or a uniform average",
    "scored": "with --fake-dir: the folder scored, its size, side, resize and the SHA-256 of its pixels",
    "reference": "what the samples were compared with: the split and its size, or a folder (--real-dir) with its "
                 "side, resize and the SHA-256 of its pixels; null for IS",
    "features": "the feature network asked for: 'classifier' or 'inception'",
    "feature_network": "the network used: its name, weights file and SHA-256, or the classifier's test accuracy",
    "pixels": "how a generator's samples reach the feature network (rounded to 8 bits, as saved images)",
    "subsets": "KID: the number of subsets", "subset_size": "KID: samples per subset",
    "subset_size_note": "KID: why the subset is below 1,000 (the default lowered to a set's size)",
    "splits": "IS: the number of splits",
    "evaluated": "when, UTC (ISO 8601)",
}
DIGIT_SHAPE = (1, 28, 28)  # what the digit classifier reads
PIXELS = "a generator's samples rounded to 8 bits (k/255) before the feature network, as saved images are"


def eight_bits(x: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1] rounded to the 256 levels an 8-bit image file holds, round(255·x)/255: the numbers a
    feature network sees when the samples are saved as PNGs and scored by another tool (clean-fid,
    torch-fidelity and pytorch-fid read images from files)."""
    return torch.round(x.clamp(0, 1) * 255) / 255


def generator_weights(cfg: TrainConfig) -> str:
    """Which weights of G a run's samples come from (they change scores a lot: docs/results-table1.md)."""
    ema = f"β = {cfg.g_ema}" if cfg.g_ema > 0 else f"half-life {cfg.g_ema_kimg:g} kimg" + (
        f", ramp {cfg.g_ema_rampup:g}" if cfg.g_ema_rampup > 0 else "") if cfg.g_ema_kimg > 0 else None
    if cfg.g_uniform_average_from > 0:
        before = f"an exponential average ({ema}) before" if ema else "G's own weights before"
        return f"the uniform average of G's weights from step {cfg.g_uniform_average_from} ({before})"
    if ema:
        return f"an exponential average of G's weights ({ema})"
    return "G's own weights (no average kept)"


def folder_job(opts: EvalOptions) -> Job:
    """--fake-dir: the folder's images (centre-cropped and resized to --image-size, default the side they
    share, as a training folder is read) are what is scored; no run, no noise."""
    side = positive_int(opts.image_size, "--image-size") if opts.image_size is not None else \
        shared_side(opts.fake_dir, "--fake-dir")
    fake = image_folder(opts.fake_dir, "cpu", "tanh", side)  # (its N checked by preflight)
    cfg = TrainConfig(dataset="folder", data_dir=str(opts.fake_dir), image_size=side)
    return Job(opts, opts.metric, None, cfg, None, len(fake), 0, fake=fake)


def make_job(opts: EvalOptions, run_dir: str | None, datasets: tuple[str, ...], hint: str = "") -> Job:
    """The run's generator (or with --real none) after checking the dataset suits the metric (``hint``: what
    to do when it does not)."""
    metric = opts.metric
    if opts.fake_dir is not None:
        return folder_job(opts)
    n = sample_count(opts)
    seed = noise_seed(opts.seed)
    if n > MAX_EVAL_SAMPLES:
        raise MinimaxError(f"--n must be at most {MAX_EVAL_SAMPLES} for eval {metric}, got {n}")

    if opts.real:
        cfg = load_run_config(run_dir) if run_dir else None
        players = None
    else:
        if not run_dir:
            raise MinimaxError(f"eval {metric} needs a run directory (or --real)")
        cfg = load_run_config(run_dir)  # the dataset check comes before loading the checkpoint
    if cfg is None:
        cfg = TrainConfig(dataset=opts.dataset, model="veegan" if opts.dataset == STACKED else "paper")
    if cfg.dataset not in datasets:
        raise MinimaxError(f"eval {metric} needs a run of {', '.join(datasets)}; the "
                           f"{'run' if run_dir else '--dataset'}'s dataset is {cfg.dataset!r}{hint}")
    # the metrics' protocol reads the whole dataset (feature classifier, references), also for a run trained on a
    # part of it (--train-images): every run is scored against the same references
    cfg = cfg.replaced(data_dir=opts.data_dir, train_images=0)
    if not opts.real:
        players = load_trained(run_dir)
        players.cfg = players.cfg.replaced(data_dir=opts.data_dir)
    return Job(opts, metric, run_dir, cfg, players, n, seed)


# ----------------------------------------------------------------------------------------------
# features: the dataset's classifier or the FID Inception network
def classifier_record(name: str, net, test) -> dict:
    """A classifier feature network's entry in the protocol: its name, digest and accuracy on the test images."""
    return {"name": f"{name} (metrics.classifier v{classifier.VERSION})", "digest": classifier.network_digest(net),
            "test_accuracy": classifier.accuracy(net, test.images, test.labels)}


def feature_dim(opts: EvalOptions) -> int:
    """The dimension of the features ``opts`` asks for (Inception's 2048 or the classifier's)."""
    return FEATURE_DIM if opts.features == "inception" else classifier.FEATURE_DIM


class Features:
    """φ(pixels) of a run's images: the dataset's classifier (default) or Inception-v3 (--features inception).
    Loaded before any sample is drawn, so a missing or wrong weights file fails fast."""

    def __init__(self, opts: EvalOptions, cfg, train=None, test=None):
        self.kind = opts.features
        if self.kind == "inception":
            self.net, self.record = load_inception(opts.inception_weights)
            self.dim = feature_dim(opts)
            return
        if cfg.dataset not in MNIST_FAMILY:
            raise MinimaxError(f"the classifier features are trained on MNIST-style test splits; for "
                               f"{cfg.dataset!r} use --features inception"
                               + (" or --classifier-data DIR (folders of 28x28 digits)" if cfg.dataset == "folder"
                                  else ""))
        self.net = classifier.load_or_train(cfg.dataset, train.images, train.labels, opts.cache_dir, log=opts.say)
        self.dim = feature_dim(opts)
        self.record = classifier_record(f"minimax {cfg.dataset} classifier", self.net, test)

    def __call__(self, pixels: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        if self.kind == "inception":
            return inception_outputs(self.net, pixels, shape)
        return classifier.features(self.net, pixels, shape)


def feature_job(opts, run_dir, check=None):
    """(job, features, real features, reference record) shared by fid, kid and pr; ``check(job, reference)``
    refuses options before any feature is computed."""
    if opts.features == "inception":
        job = make_job(opts, run_dir, IMAGE_SETS)
    elif opts.classifier_data:  # folders of digits, in the features of the classifier of MNIST
        job = make_job(opts, run_dir, ("folder",), hint=" (--classifier-data scores folders of digits)")
    else:
        job = make_job(opts, run_dir, MNIST_FAMILY, hint=" (the classifier features are trained on MNIST-style "
                       "sets; pass --features inception, or --classifier-data DIR for a folder of 28x28 digits)")
    reference = reference_set(job)  # checks the run's shape against the data's first
    if check is not None:
        check(job, reference.record)
    train = test = None
    classifier_cfg = job.cfg
    if opts.features == "classifier" and opts.classifier_data:
        classifier_cfg = TrainConfig(dataset="mnist", data_dir=str(opts.classifier_data))
        if tuple(job.shape) != DIGIT_SHAPE:
            raise MinimaxError(f"the digit classifier reads 28x28 greyscale images, shape {DIGIT_SHAPE}; these "
                               f"images have shape {tuple(job.shape)} (--features inception scores any images)")
    if opts.features == "classifier":
        train = load_dataset(classifier_cfg, "cpu", split="train")
        test = load_dataset(classifier_cfg, "cpu", split="t10k")
    features = Features(opts, classifier_cfg, train, test)
    real_f = reference_features(reference, features, opts.cache_dir, say=opts.say)
    return job, features, real_f, job.shape, reference.record


def reference_label(reference: dict) -> str:
    """How a printed line names the reference set: "10000 test images", "500 images of photos/"."""
    if "folder" in reference:
        return f"{reference['size']} images of {reference['folder']}"
    return f"{reference['size']} {reference['split']} images"


def accuracy_note(features: Features) -> str:
    """"; feature classifier test accuracy 0.9912" for a classifier feature network, "" for Inception."""
    acc = features.record.get("test_accuracy")
    return "" if acc is None else f"; feature classifier test accuracy {acc:.4f}"


class Runner(Protocol):
    """A metric's runner: the scores of one run (None: real images with ``opts.real``) and their protocol record."""
    def __call__(self, opts: EvalOptions, run_dir: str | None) -> dict: ...
