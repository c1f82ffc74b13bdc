"""``minimax eval METRIC RUN_DIR... --data-dir DIR``: score trained runs, each with its protocol written down.

Metrics (each one's formula lives in :mod:`minimax.metrics`):

    parzen       Parzen-window log-likelihood of the test set (Table 1 of the 2014 paper)
    fid          Fréchet distance of features to the test set (the classifier's, or --features inception)
    kid          Kernel Inception Distance: unbiased MMD², cubic kernel, mean ± std over subsets
    pr           precision, recall (k-NN manifolds, k = 3), density and coverage
    is           Inception Score, mean ± std over splits (--features inception only)
    modes        Stacked MNIST: modes covered of 1,000 and KL to uniform (--every-checkpoint: the curve)
    conditional  a conditional run's per-class accuracy and intra-class FID

Each evaluation writes ``RUN_DIR/<metric>.json`` (only when it succeeds; a failed one leaves the old file): the
scores and a ``protocol`` record with what a reader needs to compare them — the metric, N samples and the noise
seed, the reference split and its size, the feature network and its digest, the minimax version. With several
runs each gets its line and its record, then one table with mean ± std over the runs.
"""
from __future__ import annotations

import argparse
import copy
import datetime
from dataclasses import dataclass
from pathlib import Path

import torch

from .cli import _check_sample_memory, _positive_int, _seed
from .errors import MinimaxError
from .rundir import CONDITIONAL, FID, INCEPTION_SCORE, KID, MODES, PARZEN, PRECISION_RECALL

MAX_EVAL_SAMPLES = 10**6
MNIST_FAMILY = ("mnist", "fashion-mnist")
WITH_TEST_SPLIT = (*MNIST_FAMILY, "cifar10")
STACKED = "stacked-mnist"
REFERENCE_SIZE = 10_000  # real stacks drawn as Stacked MNIST's reference set (it has no test split)
REFERENCE_SEED = 1  # their stream (noise seeds of generated samples are --seed)
STACKED_EVAL_SAMPLES = 26_000  # VEEGAN's and PacGAN's N
DIGIT_EPOCHS = 6  # the digit reader of Stacked MNIST trains longer than the FID network (>= 99% on test digits)

FILES = {"parzen": PARZEN, "fid": FID, "kid": KID, "pr": PRECISION_RECALL, "is": INCEPTION_SCORE, "modes": MODES,
         "conditional": CONDITIONAL}
HEADLINE = {"parzen": ("parzen_ll",), "fid": ("fid",), "kid": ("kid",), "pr": ("precision", "recall", "density",
            "coverage"), "is": ("is",), "modes": ("modes", "kl"), "conditional": ("accuracy_mean", "intra_fid_mean")}


@dataclass
class Job:
    """One evaluation: the run (or none with --real), its config, and the samples asked for."""
    args: argparse.Namespace
    metric: str
    run_dir: str | None
    cfg: object
    game: object
    n: int
    seed: int

    def samples(self) -> tuple[torch.Tensor, str]:
        """N samples in [0, 1], flattened: the run's generator's, or real training images with --real."""
        from .data import load_dataset

        _check_sample_memory(self.n, self.shape, "--n")
        if self.game is None:
            data = load_dataset(self.cfg, "cpu", split="train")
            if self.cfg.dataset == STACKED:
                return data.pixels(self.n, self.seed), f"{self.n} real stacks (seed {self.seed})"
            samples = data.pixels()[:self.n]
            return samples, f"{len(samples)} real training images"
        x = self.game.generate(self.n, seed=self.seed).reshape(self.n, -1).cpu().float()
        return x, f"{self.n} samples of {self.run_dir} (step {self.game.step})"

    @property
    def shape(self) -> tuple[int, ...]:
        if self.game is not None:
            return tuple(self.game.data.shape)
        return (3, 28, 28) if self.cfg.dataset == STACKED else (1, 28, 28)

    def protocol(self, source: str, reference: dict | None, network: dict | None, **extra) -> dict:
        from . import __version__

        return {"metric": self.metric, "minimax_version": __version__, "run": self.run_dir,
                "step": None if self.game is None else self.game.step, "source": source, "n_samples": self.n,
                "noise_seed": None if self.game is None else self.seed, "reference": reference,
                "feature_network": network, **extra,
                "evaluated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def make_job(args: argparse.Namespace, run_dir: str | None, datasets: tuple[str, ...], default_n: int) -> Job:
    """The run's generator (or with --real none) after checking the dataset suits the metric."""
    metric = args.metric
    n = _positive_int(args.n, "--n") if args.n is not None else default_n
    seed = _seed(args.seed)
    if n > MAX_EVAL_SAMPLES:
        raise MinimaxError(f"--n must be at most {MAX_EVAL_SAMPLES} for eval {metric}, got {n}")
    from .rundir import load_run_config

    if args.real:
        cfg = load_run_config(run_dir) if run_dir else None
        game = None
    else:
        if not run_dir:
            raise MinimaxError(f"eval {metric} needs a run directory (or --real)")
        cfg = load_run_config(run_dir)  # the dataset check comes before loading the checkpoint
    if cfg is None:
        from .config import TrainConfig

        cfg = TrainConfig(dataset=args.dataset, model="veegan" if args.dataset == STACKED else "paper")
    if cfg.dataset not in datasets:
        raise MinimaxError(f"eval {metric} needs a run of {', '.join(datasets)}; the "
                           f"{'run' if run_dir else '--dataset'}'s dataset is {cfg.dataset!r}")
    cfg.data_dir = args.data_dir
    if not args.real:
        from .train import load_run

        game = load_run(run_dir)
        game.cfg.data_dir = args.data_dir
    return Job(args, metric, run_dir, cfg, game, n, seed)


def _check_shapes(job: Job, test) -> None:
    """The run's images and the evaluation set's must have one shape (never reshape one into the other)."""
    if job.game is not None and tuple(job.game.data.shape) != tuple(test.shape):
        raise MinimaxError(f"the run makes images of shape {tuple(job.game.data.shape)}, the evaluation set in "
                           f"--data-dir has {tuple(test.shape)}")


# ----------------------------------------------------------------------------------------------
# features: the dataset's classifier or the FID Inception network
def classifier_record(name: str, net, test) -> dict:
    """A classifier feature network's entry in the protocol: its name, digest and accuracy on the test images."""
    from .metrics import classifier

    return {"name": f"{name} (metrics.classifier v{classifier.VERSION})", "digest": classifier.network_digest(net),
            "test_accuracy": classifier.accuracy(net, test.images, test.labels)}


class Features:
    """φ(pixels) of a run's images: the dataset's classifier (default) or Inception-v3 (--features inception).
    Loaded before any sample is drawn, so a missing or wrong weights file fails fast."""

    def __init__(self, args: argparse.Namespace, cfg, train=None, test=None):
        self.kind = args.features
        if self.kind == "inception":
            from .metrics.inception import FEATURE_DIM, load_inception

            self.net, self.record = load_inception(args.inception_weights)
            self.dim = FEATURE_DIM
            return
        from .metrics import classifier

        if cfg.dataset not in MNIST_FAMILY:
            raise MinimaxError(f"the classifier features are trained on MNIST-style test splits; for "
                               f"{cfg.dataset!r} use --features inception")
        self.net = classifier.load_or_train(cfg.dataset, train.images, train.labels, args.cache_dir)
        self.dim = classifier.FEATURE_DIM
        self.record = classifier_record(f"minimax {cfg.dataset} classifier", self.net, test)

    def __call__(self, pixels: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        if self.kind == "inception":
            from .metrics.inception import inception_outputs

            return inception_outputs(self.net, pixels, shape)
        from .metrics import classifier

        return classifier.features(self.net, pixels, shape)


def reference_set(job: Job):
    """(pixels [N, D] in [0, 1], shape, record) of the real images samples are compared with: the test split,
    or for Stacked MNIST (no test split) REFERENCE_SIZE stacks of training digits from their own seed."""
    from .data import load_dataset

    if job.cfg.dataset == STACKED:
        data = load_dataset(job.cfg, "cpu", split="train")
        return data.pixels(REFERENCE_SIZE, REFERENCE_SEED), data.shape, \
            {"split": "stacks of train[:50000]", "size": REFERENCE_SIZE, "seed": REFERENCE_SEED}
    test = load_dataset(job.cfg, "cpu", split="t10k")
    _check_shapes(job, test)
    return test.pixels(), test.shape, {"split": "test", "size": len(test)}


def _feature_job(args, run_dir, datasets_inception=(*WITH_TEST_SPLIT, STACKED)):
    """(job, features, real features, reference record) shared by fid, kid and pr."""
    from .data import load_dataset

    datasets = datasets_inception if args.features == "inception" else MNIST_FAMILY
    job = make_job(args, run_dir, datasets, 10_000)
    real, shape, reference = reference_set(job)  # checks the run's shape against the data's first
    train = test = None
    if args.features == "classifier":
        train = load_dataset(job.cfg, "cpu", split="train")
        test = load_dataset(job.cfg, "cpu", split="t10k")
    features = Features(args, job.cfg, train, test)
    return job, features, features(real, shape), shape, reference


# ----------------------------------------------------------------------------------------------
# the metrics
def eval_parzen(args, run_dir) -> dict:
    from .data import load_dataset
    from .metrics.parzen import parzen_evaluate

    job = make_job(args, run_dir, MNIST_FAMILY, 10_000)
    test_set = load_dataset(job.cfg, "cpu", split="t10k")
    _check_shapes(job, test_set)
    valid = load_dataset(job.cfg, "cpu", split="valid").pixels()[:1000]
    samples, source = job.samples()
    result = parzen_evaluate(samples, valid, test_set.pixels())
    result["source"] = source
    print(f"Parzen log-likelihood: {result['parzen_ll']:.1f} ± {result['parzen_se']:.1f} nats "
          f"(sigma {result['sigma']:.4f}; {source}; {len(test_set)} test images)")
    return {**result, "protocol": job.protocol(source, {"split": "test", "size": len(test_set), "sigma_chosen_on":
                                                        "train[50000:51000]"}, None)}


def eval_fid(args, run_dir) -> dict:
    from .metrics.frechet import GaussianFit, frechet_between

    job, features, real_f, shape, reference = _feature_job(args, run_dir)
    if job.n < features.dim:
        raise MinimaxError(f"--n {job.n} is below the feature dimension {features.dim}: the covariance of the "
                           f"samples would be singular and the FID meaningless; use --n {features.dim} or more "
                           "(10000 is usual)")
    samples, source = job.samples()
    real, fake = GaussianFit(features.dim), GaussianFit(features.dim)
    real.update(real_f)
    fake.update(features(samples, shape))
    result = {"fid": frechet_between(real, fake), "n_samples": len(samples), "n_test": reference["size"],
              "source": source}
    if "test_accuracy" in features.record:
        result["classifier_test_accuracy"] = features.record["test_accuracy"]
    print(f"Frechet distance ({features.kind} features): {result['fid']:.3f} ({source} vs "
          f"{reference['size']} {reference['split']} images{_accuracy_note(features)})")
    return {**result, "protocol": job.protocol(source, reference, features.record)}


def _accuracy_note(features: Features) -> str:
    acc = features.record.get("test_accuracy")
    return "" if acc is None else f"; feature classifier test accuracy {acc:.4f}"


def eval_kid(args, run_dir) -> dict:
    from .metrics.kid import check_subset_size, kid

    subsets = _positive_int(args.subsets, "--subsets")
    size = _positive_int(args.subset_size, "--subset-size")
    job, features, real_f, shape, reference = _feature_job(args, run_dir)
    check_subset_size(size, len(real_f), job.n)  # before drawing any sample
    samples, source = job.samples()
    result = {**kid(real_f, features(samples, shape), subsets, size, seed=job.seed), "source": source}
    print(f"KID ({features.kind} features): {result['kid']:.5f} ± {result['kid_std']:.5f} ({subsets} subsets of "
          f"{size}; {source} vs {reference['size']} {reference['split']} images{_accuracy_note(features)})")
    return {**result, "protocol": job.protocol(source, reference, features.record, subsets=subsets,
                                               subset_size=size)}


def eval_pr(args, run_dir) -> dict:
    from .metrics.precision_recall import K, precision_recall

    job, features, real_f, shape, reference = _feature_job(args, run_dir)
    if job.n <= K:
        raise MinimaxError(f"--n {job.n}: precision and recall need more than k = {K} samples")
    samples, source = job.samples()
    result = {**precision_recall(real_f, features(samples, shape)), "source": source}
    print(f"precision {result['precision']:.4f}  recall {result['recall']:.4f}  density {result['density']:.4f}  "
          f"coverage {result['coverage']:.4f}  (k = {K}, {features.kind} features; {source} vs {reference['size']} "
          f"{reference['split']} images{_accuracy_note(features)})")
    return {**result, "protocol": job.protocol(source, reference, features.record)}


def eval_is(args, run_dir) -> dict:
    from .metrics.inception import inception_outputs
    from .metrics.inception_score import inception_score

    if args.features != "inception":
        raise MinimaxError("the Inception Score is defined on the Inception network: pass --features inception")
    splits = _positive_int(args.splits, "--splits")
    job = make_job(args, run_dir, (*WITH_TEST_SPLIT, STACKED), 10_000)
    if job.n < splits:
        raise MinimaxError(f"--n {job.n} is below --splits {splits}")
    features = Features(args, job.cfg)
    samples, source = job.samples()
    _, logits = inception_outputs(features.net, samples, job.shape, logits=True)
    result = {**inception_score(logits, splits), "source": source}
    print(f"Inception Score: {result['is']:.3f} ± {result['is_std']:.3f} ({splits} splits; {source})")
    return {**result, "protocol": job.protocol(source, None, features.record, splits=splits)}


def eval_modes(args, run_dir) -> dict:
    """Stacked MNIST: read each channel's digit with the digit classifier, count distinct triples of 1,000
    and KL(q ‖ uniform) (VEEGAN's and PacGAN's protocol: N = 26,000)."""
    from .checkpoint import list_checkpoints
    from .data.images import mnist_like
    from .metrics import classifier
    from .metrics.modes import histogram_metrics, stacked_modes
    from .train import load_run

    job = make_job(args, run_dir, (STACKED,), STACKED_EVAL_SAMPLES)
    digits = mnist_like("mnist", args.data_dir, "cpu", "tanh", "train")
    test = mnist_like("mnist", args.data_dir, "cpu", "tanh", "t10k")
    net = classifier.load_or_train("mnist-digits", digits.images, digits.labels, args.cache_dir, epochs=DIGIT_EPOCHS)
    network = classifier_record(f"minimax MNIST digit classifier, {DIGIT_EPOCHS} epochs", net, test)
    accuracy = network["test_accuracy"]

    def score(samples: torch.Tensor) -> dict:
        modes = stacked_modes(lambda x: classifier.predict(net, x, (1, 28, 28)), samples)
        return histogram_metrics(modes, 1000)

    curve = []
    if getattr(args, "every_checkpoint", False) and job.game is not None:
        for path in list_checkpoints(Path(run_dir))[:-1]:
            game = load_run(run_dir, checkpoint=path)
            r = score(game.generate(job.n, seed=job.seed).reshape(job.n, -1).cpu().float())
            curve.append({"step": game.step, "modes": r["modes"], "kl": r["kl"]})
            print(f"  step {game.step:>7}: {r['modes']:>4} modes  KL {r['kl']:.3f}")
    samples, source = job.samples()
    result = {**score(samples), "classifier_test_accuracy": accuracy, "source": source}
    if curve:
        result["curve"] = [*curve, {"step": job.game.step, "modes": result["modes"], "kl": result["kl"]}]
    print(f"Stacked MNIST: {result['modes']} of 1000 modes, KL(q || uniform) {result['kl']:.3f} nats ({source}; "
          f"digit classifier test accuracy {accuracy:.4f})")
    return {**result, "protocol": job.protocol(source, {"modes": "uniform over 1000 digit triples"}, network)}


def eval_conditional(args, run_dir) -> dict:
    """Conditional accuracy and intra-class FID of a conditional run, per class, on the dataset's test split."""
    from .data import load_dataset
    from .metrics import classifier
    from .metrics.conditional import conditional_accuracy, intra_class_fid

    job = make_job(args, run_dir, WITH_TEST_SPLIT, 10_000)
    game = job.game
    if game is not None and not game.conditional:
        raise MinimaxError(f"{run_dir} is unconditional (condition 'none'); eval conditional needs a "
                           "conditional run (use eval fid)")
    train = load_dataset(job.cfg, "cpu", split="train")
    test = load_dataset(job.cfg, "cpu", split="t10k")
    _check_shapes(job, test)
    k = test.n_classes
    per = job.n // k
    if per < 2:
        raise MinimaxError(f"--n {job.n} gives {per} samples per class for {k} classes; need at least 2 each")
    net = classifier.load_or_train(job.cfg.dataset, train.images, train.labels, args.cache_dir)
    if game is None:  # --real: real training images, as many of each class as the generator would draw
        pick = torch.cat([torch.nonzero(train.labels == c)[:per, 0] for c in range(k)])
        samples, labels, source = train.pixels()[pick], train.labels[pick], f"{len(pick)} real training images"
    else:
        labels = torch.arange(k).repeat_interleave(per)
        samples = game.generate(len(labels), seed=job.seed, classes=labels).reshape(len(labels), -1).cpu()
        source = f"{len(labels)} samples of {run_dir} (step {game.step}), {per} per class"
    predicted = classifier.predict(net, samples, test.shape)
    real_f = classifier.features(net, test.pixels(), test.shape)
    fake_f = classifier.features(net, samples, test.shape)
    network = classifier_record(f"minimax {job.cfg.dataset} classifier", net, test)
    accuracy = network["test_accuracy"]
    result = {**conditional_accuracy(predicted, labels, k), **intra_class_fid(real_f, test.labels, fake_f, labels, k),
              "classes": list(test.class_names), "classifier_test_accuracy": accuracy,
              "n_samples": len(samples), "n_test": len(test), "source": source}
    print(f"class  accuracy  intra-class FID   ({source}; {len(test)} test images)")
    for c, name in enumerate(test.class_names):
        print(f"{name:>5}  {result['accuracy'][c]:8.4f}  {result['intra_fid'][c]:15.3f}")
    print(f" mean  {result['accuracy_mean']:8.4f}  {result['intra_fid_mean']:15.3f}   (the feature classifier labels "
          f"real test images with accuracy {accuracy:.4f}: the ceiling)")
    return {**result, "protocol": job.protocol(source, {"split": "test", "size": len(test)}, network)}


EVALUATORS = {"parzen": eval_parzen, "fid": eval_fid, "kid": eval_kid, "pr": eval_pr, "is": eval_is,
              "modes": eval_modes, "conditional": eval_conditional}


# ----------------------------------------------------------------------------------------------
# the command: every run, its record, one table
def write_record(run_dir: str, metric: str, result: dict) -> None:
    import json

    from .checkpoint import atomic_write_bytes

    atomic_write_bytes(Path(run_dir) / FILES[metric], json.dumps(result, indent=2).encode())


def format_table(metric: str, rows: list[tuple[str, dict]]) -> str:
    """One line per run with the metric's headline numbers, then mean ± std over the runs."""
    keys = HEADLINE[metric]
    width = max(len("run"), *(len(label) for label, _ in rows))
    lines = [f"{'run':<{width}}  {'step':>7}  " + "  ".join(f"{k:>15}" for k in keys)]
    for label, r in rows:
        step = r["protocol"]["step"]
        lines.append(f"{label:<{width}}  {'-' if step is None else step:>7}  "
                     + "  ".join(f"{r[k]:>15.4f}" for k in keys))
    if len(rows) > 1:
        cells = []
        for k in keys:
            v = torch.tensor([float(r[k]) for _, r in rows], dtype=torch.float64)
            cells.append(f"{float(v.mean()):.4f} ± {float(v.std()):.4f}")
        lines.append(f"{f'mean ± std ({len(rows)})':<{width}}  {'':>7}  " + "  ".join(f"{c:>15}" for c in cells))
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    runs = list(args.run_dirs) or [None]
    if args.real and len(runs) > 1:
        raise MinimaxError("--real scores real images: give at most one run directory (for its dataset)")
    rows = []
    for run in runs:
        result = EVALUATORS[args.metric](copy.copy(args), run)
        if run and not args.real:
            write_record(run, args.metric, result)
        rows.append((run or "real", result))
    if len(rows) > 1:
        print(format_table(args.metric, rows))
    return 0


def add_eval_parser(sub) -> None:
    e = sub.add_parser("eval", help="evaluate trained runs (writes RUN_DIR/<metric>.json with the protocol)")
    esub = e.add_subparsers(dest="metric", required=True, parser_class=type(e))
    specs = {
        "parzen": ("Parzen-window log-likelihood on the MNIST test set (paper's Table 1)", MNIST_FAMILY),
        "fid": ("Frechet distance of features (classifier, or --features inception) to the test split",
                (*WITH_TEST_SPLIT, STACKED)),
        "kid": ("Kernel Inception Distance: unbiased MMD^2 (cubic kernel), mean ± std over subsets",
                (*WITH_TEST_SPLIT, STACKED)),
        "pr": ("precision, recall, density and coverage (k-NN manifolds, k = 3)", (*WITH_TEST_SPLIT, STACKED)),
        "is": ("Inception Score, mean ± std over splits (--features inception)", (*WITH_TEST_SPLIT, STACKED)),
        "modes": ("Stacked MNIST: modes covered of 1,000 and KL to uniform (N = 26,000)", (STACKED,)),
        "conditional": ("conditional runs: accuracy of each class's samples under the feature classifier, and "
                        "intra-class FID", WITH_TEST_SPLIT),
    }
    for metric, (help_, datasets) in specs.items():
        p = esub.add_parser(metric, help=help_)
        p.add_argument("run_dirs", nargs="*", metavar="RUN_DIR", help="run directories (none with --real)")
        p.add_argument("--data-dir", required=True, help="folder with the dataset's files")
        default_n = STACKED_EVAL_SAMPLES if metric == "modes" else 10_000
        p.add_argument("--n", default=None, help=f"samples to draw (default: {default_n})")
        p.add_argument("--seed", default="0", help="seed of the noise (default: 0)")
        p.add_argument("--real", action="store_true", help="score real training images instead (the metric's "
                                                           "floor or ceiling)")
        p.add_argument("--dataset", default=datasets[0], choices=datasets,
                       help=f"with --real and no run: which dataset (default: {datasets[0]})")
        p.add_argument("--cache-dir", help="where the feature classifier is cached "
                                           "(default: $MINIMAX_CACHE or ~/.cache/minimax)")
        if metric in ("fid", "kid", "pr", "is"):
            p.add_argument("--features", choices=("classifier", "inception"),
                           default="inception" if metric == "is" else "classifier",
                           help="feature network: the dataset's classifier (MNIST-style sets) or the FID "
                                "Inception-v3 (needs its weights file; never downloaded)")
            p.add_argument("--inception-weights", metavar="FILE", default=None,
                           help="pt_inception-2015-12-05-6726825d.pth (default: the torch hub cache)")
        if metric == "kid":
            p.add_argument("--subsets", default="100", help="number of subsets (default: 100)")
            p.add_argument("--subset-size", default="1000", help="samples per subset (default: 1000)")
        if metric == "is":
            p.add_argument("--splits", default="10", help="number of splits (default: 10)")
        if metric == "modes":
            p.add_argument("--every-checkpoint", action="store_true",
                           help="also score every checkpoint the run kept: modes against iterations")
        p.set_defaults(func=cmd_eval)
