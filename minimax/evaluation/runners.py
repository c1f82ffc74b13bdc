"""One runner per metric: its inputs (the run's samples or real images, the reference set, the feature
network), the score from :mod:`minimax.metrics`, the lines ``minimax eval`` prints, and the protocol record.

Seven runners of ~30 lines each share what they draw from (:class:`Job`: the samples; :class:`Features`: the
feature network; the reference set), which is why they live in one module (~350 lines) rather than seven."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from .._version import __version__
from ..catalogue import IMAGE_SETS, METRICS, MNIST_FAMILY, STACKED, WITH_TEST_SPLIT
from ..config import TrainConfig, noise_seed, positive_int
from ..data import load_dataset
from ..data.images import mnist_like
from ..errors import MinimaxError
from ..metrics import classifier
from ..metrics.conditional import conditional_accuracy, intra_class_fid
from ..metrics.frechet import GaussianFit, frechet_between
from ..metrics.inception import FEATURE_DIM, inception_outputs, load_inception
from ..metrics.inception_score import inception_score
from ..metrics.kid import check_subset_size, kid
from ..metrics.modes import histogram_metrics, stacked_modes
from ..metrics.parzen import parzen_evaluate
from ..metrics.precision_recall import K, precision_recall
from ..run.checkpoint import list_checkpoints
from ..run.resources import check_sample_memory
from ..run.rundir import load_run_config, step_of
from ..run.sampling import generate
from ..run.trained import Trained, load_trained
from .options import EvalOptions
from .reference import check_shapes, reference_features, reference_set

MAX_EVAL_SAMPLES = 10**6
DIGIT_EPOCHS = 6  # the digit reader of Stacked MNIST trains longer than the FID network (>= 99% on test digits)


def default_n(metric: str) -> int:
    """A metric's N without ``--n`` (:attr:`minimax.catalogue.Metric.default_n`)."""
    return METRICS[metric].default_n


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

    def real_data(self):
        if self._real is None:
            self._real = load_dataset(self.cfg, "cpu", split="train")
        return self._real

    def samples(self) -> tuple[torch.Tensor, str]:
        """N samples in [0, 1], flattened: the run's generator's, or real training images with --real."""
        check_sample_memory(self.n, self.shape, "--n")
        if self.players is None:
            data = self.real_data()
            if self.cfg.dataset == STACKED:
                return data.pixels(self.n, self.seed), f"{self.n} real stacks (seed {self.seed})"
            samples = data.pixels()[:self.n]
            return samples, f"{len(samples)} real training images"
        x = generate(self.players, self.n, seed=self.seed).reshape(self.n, -1).cpu().float()
        return x, f"{self.n} samples of {self.run_dir} (step {self.players.step})"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple((self.players.data if self.players is not None else self.real_data()).shape)

    def protocol(self, source: str, reference: dict | None, network: dict | None, **extra) -> dict:
        return {"metric": self.metric, "minimax_version": __version__, "run": self.run_dir,
                "step": None if self.players is None else self.players.step, "source": source, "n_samples": self.n,
                "noise_seed": None if self.players is None else self.seed, "reference": reference,
                "feature_network": network, "features": self.opts.features,
                "generator_weights": None if self.players is None else generator_weights(self.cfg), **extra,
                "evaluated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


# what RUN/<metric>.json holds (docs/reference.md is generated from these; tests check them against real records)
PROTOCOL_FIELDS = {
    "metric": "the metric's name",
    "minimax_version": "the minimax that measured it",
    "run": "the run directory (null: real images scored with --real)",
    "step": "the step of the checkpoint whose generator was sampled",
    "source": "what was scored, in words (N samples of RUN at step S, or N real training images)",
    "n_samples": "N, the number of samples scored",
    "noise_seed": "the seed of the noise the samples were drawn with",
    "generator_weights": "which weights of G were sampled: its own, an exponential or a uniform average",
    "reference": "what the samples were compared with: the split and its size, or a folder (--real-dir) with its "
                 "side, resize and the SHA-256 of its pixels; null for IS",
    "features": "the feature network asked for: 'classifier' or 'inception'",
    "feature_network": "the network used: its name, weights file and SHA-256, or the classifier's test accuracy",
    "subsets": "KID: the number of subsets", "subset_size": "KID: samples per subset",
    "splits": "IS: the number of splits",
    "evaluated": "when, UTC (ISO 8601)",
}
SCORE_FIELDS = {
    "parzen": {"parzen_ll": "mean log-likelihood of the test images under the samples' Parzen window (nats)",
               "parzen_se": "its standard error, std/√N_test", "sigma": "the window width chosen on validation images",
               "valid_ll_by_sigma": "validation log-likelihood for each σ tried", "n_samples": "N",
               "n_test": "test images"},
    "fid": {"fid": "the Fréchet distance between Gaussians fitted to the features", "n_samples": "N",
            "n_test": "reference images",
            "classifier_test_accuracy": "the feature classifier's accuracy (MNIST-style)"},
    "kid": {"kid": "MMD²_u with the cubic polynomial kernel, mean over subsets, unscaled (not ×10³)",
            "kid_std": "its standard deviation over subsets", "subsets": "subsets", "subset_size": "samples per subset",
            "classifier_test_accuracy": "as for fid"},
    "pr": {"precision": "share of samples inside the real features' k-NN balls (Kynkäänniemi et al. 2019)",
           "recall": "share of real features inside the samples' k-NN balls", "density": "Naeem et al. 2020",
           "coverage": "share of real features whose ball holds a sample (Naeem et al. 2020)", "k": "neighbours",
           "classifier_test_accuracy": "as for fid"},
    "is": {"is": "the Inception Score, exp E KL(p(y|x) ‖ p(y)), mean over splits", "is_std": "its std over splits",
           "splits": "splits"},
    "modes": {"modes": "Stacked MNIST digit triples seen (of 1,000)", "n_modes": "1000",
              "kl": "KL(q ‖ uniform) of the triples' histogram (nats)",
              "classifier_test_accuracy": "the digit classifier's",
              "curve": "--every-checkpoint: modes and KL at each kept checkpoint",
              "skipped_checkpoints": "checkpoints that did not verify"},
    "conditional": {"accuracy": "per class: share of samples of class c the classifier calls c",
                    "accuracy_mean": "its mean", "intra_fid": "per class: FID of class c's samples against class c's "
                    "test images", "intra_fid_mean": "its mean", "classes": "the class names",
                    "classifier_test_accuracy": "the feature classifier's", "n_samples": "N", "n_test": "test images"},
}


def generator_weights(cfg: TrainConfig) -> str:
    """Which weights of G a run's samples come from (they change scores a lot: docs/results-table1.md)."""
    if cfg.g_uniform_average_from > 0:
        before = f"an exponential average (β = {cfg.g_ema}) before" if cfg.g_ema > 0 else "G's own weights before"
        return f"the uniform average of G's weights from step {cfg.g_uniform_average_from} ({before})"
    if cfg.g_ema > 0:
        return f"an exponential average of G's weights (β = {cfg.g_ema})"
    return "G's own weights (no average kept)"


def make_job(opts: EvalOptions, run_dir: str | None, datasets: tuple[str, ...], hint: str = "") -> Job:
    """The run's generator (or with --real none) after checking the dataset suits the metric (``hint``: what
    to do when it does not)."""
    metric = opts.metric
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
    cfg.data_dir = opts.data_dir
    if not opts.real:
        players = load_trained(run_dir)
        players.cfg.data_dir = opts.data_dir
    return Job(opts, metric, run_dir, cfg, players, n, seed)


# ----------------------------------------------------------------------------------------------
# features: the dataset's classifier or the FID Inception network
def classifier_record(name: str, net, test) -> dict:
    """A classifier feature network's entry in the protocol: its name, digest and accuracy on the test images."""
    return {"name": f"{name} (metrics.classifier v{classifier.VERSION})", "digest": classifier.network_digest(net),
            "test_accuracy": classifier.accuracy(net, test.images, test.labels)}


class Features:
    """φ(pixels) of a run's images: the dataset's classifier (default) or Inception-v3 (--features inception).
    Loaded before any sample is drawn, so a missing or wrong weights file fails fast."""

    def __init__(self, opts: EvalOptions, cfg, train=None, test=None):
        self.kind = opts.features
        if self.kind == "inception":
            self.net, self.record = load_inception(opts.inception_weights)
            self.dim = FEATURE_DIM
            return
        if cfg.dataset not in MNIST_FAMILY:
            raise MinimaxError(f"the classifier features are trained on MNIST-style test splits; for "
                               f"{cfg.dataset!r} use --features inception")
        self.net = classifier.load_or_train(cfg.dataset, train.images, train.labels, opts.cache_dir)
        self.dim = classifier.FEATURE_DIM
        self.record = classifier_record(f"minimax {cfg.dataset} classifier", self.net, test)

    def __call__(self, pixels: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        if self.kind == "inception":
            return inception_outputs(self.net, pixels, shape)
        return classifier.features(self.net, pixels, shape)


def _feature_job(opts, run_dir, check=None):
    """(job, features, real features, reference record) shared by fid, kid and pr; ``check(job, reference)``
    refuses options before any feature is computed."""
    if opts.features == "inception":
        job = make_job(opts, run_dir, IMAGE_SETS)
    else:
        job = make_job(opts, run_dir, MNIST_FAMILY, hint=" (the classifier features are trained on MNIST-style "
                       "sets; pass --features inception)")
    reference = reference_set(job)  # checks the run's shape against the data's first
    if check is not None:
        check(job, reference.record)
    train = test = None
    if opts.features == "classifier":
        train = load_dataset(job.cfg, "cpu", split="train")
        test = load_dataset(job.cfg, "cpu", split="t10k")
    features = Features(opts, job.cfg, train, test)
    real_f = reference_features(reference, features, opts.cache_dir, say=opts.say)
    return job, features, real_f, job.shape, reference.record


def _label(reference: dict) -> str:
    """How a printed line names the reference set: "10000 test images", "500 images of photos/"."""
    if "folder" in reference:
        return f"{reference['size']} images of {reference['folder']}"
    return f"{reference['size']} {reference['split']} images"


# ----------------------------------------------------------------------------------------------
# the metrics
def eval_parzen(opts, run_dir) -> dict:
    job = make_job(opts, run_dir, MNIST_FAMILY)
    test_set = load_dataset(job.cfg, "cpu", split="t10k")
    check_shapes(job, test_set)
    valid = load_dataset(job.cfg, "cpu", split="valid").pixels()[:1000]
    samples, source = job.samples()
    result = parzen_evaluate(samples, valid, test_set.pixels())
    result["source"] = source
    opts.say(f"Parzen log-likelihood: {result['parzen_ll']:.1f} ± {result['parzen_se']:.1f} nats "
          f"(sigma {result['sigma']:.4f}; {source}; {len(test_set)} test images)")
    return {**result, "protocol": job.protocol(source, {"split": "test", "size": len(test_set), "sigma_chosen_on":
                                                        "train[50000:51000]"}, None)}


def eval_fid(opts, run_dir) -> dict:
    job, features, real_f, shape, reference = _feature_job(opts, run_dir)  # (N ≥ the feature dimension: preflight)
    samples, source = job.samples()
    real, fake = GaussianFit(features.dim), GaussianFit(features.dim)
    real.update(real_f)
    fake.update(features(samples, shape))
    result = {"fid": frechet_between(real, fake), "n_samples": len(samples), "n_test": reference["size"],
              "source": source}
    if "test_accuracy" in features.record:
        result["classifier_test_accuracy"] = features.record["test_accuracy"]
    opts.say(f"Frechet distance ({features.kind} features): {result['fid']:.3f} ({source} vs "
          f"{_label(reference)}{_accuracy_note(features)})")
    return {**result, "protocol": job.protocol(source, reference, features.record)}


def _accuracy_note(features: Features) -> str:
    acc = features.record.get("test_accuracy")
    return "" if acc is None else f"; feature classifier test accuracy {acc:.4f}"


def eval_kid(opts, run_dir) -> dict:
    subsets = positive_int(opts.subsets, "--subsets")
    size = positive_int(opts.subset_size, "--subset-size")
    job, features, real_f, shape, reference = _feature_job(
        opts, run_dir, check=lambda job, reference: check_subset_size(size, reference["size"], job.n))
    samples, source = job.samples()
    result = {**kid(real_f, features(samples, shape), subsets, size, seed=job.seed), "source": source}
    opts.say(f"KID = MMD²_u, unscaled ({features.kind} features): {result['kid']:.5f} ± {result['kid_std']:.5f} "
             f"({subsets} subsets of "
          f"{size}; {source} vs {_label(reference)}{_accuracy_note(features)})")
    return {**result, "protocol": job.protocol(source, reference, features.record, subsets=subsets,
                                               subset_size=size)}


def eval_pr(opts, run_dir) -> dict:
    job, features, real_f, shape, reference = _feature_job(opts, run_dir)  # (N > k: preflight)
    samples, source = job.samples()
    result = {**precision_recall(real_f, features(samples, shape)), "source": source}
    opts.say(f"precision {result['precision']:.4f}  recall {result['recall']:.4f}  density {result['density']:.4f}  "
          f"coverage {result['coverage']:.4f}  (k = {K}, {features.kind} features; {source} vs "
          f"{_label(reference)}{_accuracy_note(features)})")
    return {**result, "protocol": job.protocol(source, reference, features.record)}


def eval_is(opts, run_dir) -> dict:
    splits = positive_int(opts.splits, "--splits")  # (Inception features and N ≥ splits: preflight)
    job = make_job(opts, run_dir, IMAGE_SETS)
    features = Features(opts, job.cfg)
    samples, source = job.samples()
    _, logits = inception_outputs(features.net, samples, job.shape, logits=True)
    result = {**inception_score(logits, splits), "source": source}
    opts.say(f"Inception Score: {result['is']:.3f} ± {result['is_std']:.3f} ({splits} splits; {source})")
    return {**result, "protocol": job.protocol(source, None, features.record, splits=splits)}


def eval_modes(opts, run_dir) -> dict:
    """Stacked MNIST: read each channel's digit with the digit classifier, count distinct triples of 1,000
    and KL(q ‖ uniform) (VEEGAN's and PacGAN's protocol: N = 26,000)."""
    job = make_job(opts, run_dir, (STACKED,))
    digits = mnist_like("mnist", opts.data_dir, "cpu", "tanh", "train")
    test = mnist_like("mnist", opts.data_dir, "cpu", "tanh", "t10k")
    net = classifier.load_or_train("mnist-digits", digits.images, digits.labels, opts.cache_dir, epochs=DIGIT_EPOCHS)
    network = classifier_record(f"minimax MNIST digit classifier, {DIGIT_EPOCHS} epochs", net, test)
    accuracy = network["test_accuracy"]

    def score(samples: torch.Tensor) -> dict:
        modes = stacked_modes(lambda x: classifier.predict(net, x, (1, 28, 28)), samples)
        return histogram_metrics(modes, 1000)

    curve, skipped = [], []
    if getattr(opts, "every_checkpoint", False) and job.players is not None:
        for path in list_checkpoints(Path(run_dir)):
            if step_of(path) >= job.players.step:  # (the latest that verifies is scored below)
                continue
            try:
                game = load_trained(run_dir, checkpoint=path)
            except MinimaxError as e:  # a corrupt older checkpoint: said, recorded, and the curve goes on
                skipped.append(path.name)
                opts.say(f"  step {step_of(path):>7}: skipped ({e})")
                continue
            r = score(generate(game, job.n, seed=job.seed).reshape(job.n, -1).cpu().float())
            curve.append({"step": game.step, "modes": r["modes"], "kl": r["kl"]})
            opts.say(f"  step {game.step:>7}: {r['modes']:>4} modes  KL {r['kl']:.3f}")
    samples, source = job.samples()
    result = {**score(samples), "classifier_test_accuracy": accuracy, "source": source}
    if curve:
        result["curve"] = [*curve, {"step": job.players.step, "modes": result["modes"], "kl": result["kl"]}]
    if skipped:
        result["skipped_checkpoints"] = skipped
    opts.say(f"Stacked MNIST: {result['modes']} of 1000 modes, KL(q || uniform) {result['kl']:.3f} nats ({source}; "
          f"digit classifier test accuracy {accuracy:.4f})")
    return {**result, "protocol": job.protocol(source, {"modes": "uniform over 1000 digit triples"}, network)}


def eval_conditional(opts, run_dir) -> dict:
    """Conditional accuracy and intra-class FID of a conditional run, per class, on the dataset's test split."""
    job = make_job(opts, run_dir, WITH_TEST_SPLIT)
    game = job.players
    if game is not None and not game.conditional:
        raise MinimaxError(f"{run_dir} is unconditional (condition 'none'); eval conditional needs a "
                           "conditional run (use eval fid)")
    train = load_dataset(job.cfg, "cpu", split="train")
    test = load_dataset(job.cfg, "cpu", split="t10k")
    check_shapes(job, test)
    k = test.n_classes
    per = job.n // k
    if per < 2:
        raise MinimaxError(f"--n {job.n} gives {per} samples per class for {k} classes; need at least 2 each")
    net = classifier.load_or_train(job.cfg.dataset, train.images, train.labels, opts.cache_dir)
    if game is None:  # --real: real training images, as many of each class as the generator would draw
        pick = torch.cat([torch.nonzero(train.labels == c)[:per, 0] for c in range(k)])
        samples, labels, source = train.pixels()[pick], train.labels[pick], f"{len(pick)} real training images"
    else:
        labels = torch.arange(k).repeat_interleave(per)
        samples = generate(game, len(labels), seed=job.seed, classes=labels).reshape(len(labels), -1).cpu()
        source = f"{len(labels)} samples of {run_dir} (step {game.step}), {per} per class"
    predicted = classifier.predict(net, samples, test.shape)
    real_f = classifier.features(net, test.pixels(), test.shape)
    fake_f = classifier.features(net, samples, test.shape)
    network = classifier_record(f"minimax {job.cfg.dataset} classifier", net, test)
    accuracy = network["test_accuracy"]
    result = {**conditional_accuracy(predicted, labels, k), **intra_class_fid(real_f, test.labels, fake_f, labels, k),
              "classes": list(test.class_names), "classifier_test_accuracy": accuracy,
              "n_samples": len(samples), "n_test": len(test), "source": source}
    opts.say(f"class  accuracy  intra-class FID   ({source}; {len(test)} test images)")
    for c, name in enumerate(test.class_names):
        opts.say(f"{name:>5}  {result['accuracy'][c]:8.4f}  {result['intra_fid'][c]:15.3f}")
    opts.say(f" mean  {result['accuracy_mean']:8.4f}  {result['intra_fid_mean']:15.3f}   (the feature classifier "
             f"labels real test images with accuracy {accuracy:.4f}: the ceiling)")
    return {**result, "protocol": job.protocol(source, {"split": "test", "size": len(test)}, network)}


class Runner(Protocol):
    """A metric's runner: the scores of one run (None: real images with ``opts.real``) and their protocol record."""
    def __call__(self, opts: EvalOptions, run_dir: str | None) -> dict: ...


EVALUATORS: dict[str, Runner] = {"parzen": eval_parzen, "fid": eval_fid, "kid": eval_kid, "pr": eval_pr, "is": eval_is,
              "modes": eval_modes, "conditional": eval_conditional}


