"""``minimax eval METRIC RUN_DIR... --data-dir DIR``: score trained runs (:mod:`minimax.evaluation`), one line
each, then a table with mean ± std over the runs."""
from __future__ import annotations

import argparse

from .. import registry


def cmd_eval(args: argparse.Namespace) -> int:
    from ..evaluation import EvalOptions, evaluate_runs, format_table, seeds_of_one_configuration

    own = [o.name for o in registry.metrics()[args.metric].options]
    given = ("features", "inception_weights", "classifier_data", "real_dir", "fake_dir", "image_size", "record", *own)
    opts = EvalOptions.build(args.metric, text=True, data_dir=args.data_dir, n=args.n, seed=args.seed, real=args.real,
                             dataset=args.dataset, cache_dir=args.cache_dir, quiet=False,
                             **{k: getattr(args, k) for k in given if hasattr(args, k)})
    rows = evaluate_runs(args.run_dirs, opts, force=args.force)
    if len(rows) > 1:
        seeds = seeds_of_one_configuration(args.run_dirs)
        print(format_table(args.metric, rows, summary=seeds))
        if not seeds:
            print("(no mean ± std: these runs differ in more than their seed)")
    return 0


def add_parser(sub) -> None:
    e = sub.add_parser("eval", help="evaluate trained runs (writes RUN_DIR/<metric>.json with the protocol)")
    esub = e.add_subparsers(dest="metric", required=True, parser_class=type(e))
    for metric, entry in registry.metrics().items():
        datasets = entry.datasets
        p = esub.add_parser(metric, help=entry.help)
        p.add_argument("run_dirs", nargs="*", metavar="RUN_DIR", help="run directories (none with --real)")
        p.add_argument("--data-dir", default=None, help="folder with the dataset's files (needed for the test split, "
                                                        "the classifier features and --real; not with --real-dir and "
                                                        "Inception features, nor with --fake-dir)")
        p.add_argument("--n", default=None, help=f"samples to draw (default: {entry.default_n})")
        p.add_argument("--seed", default="0", help="seed of the noise (default: 0)")
        p.add_argument("--real", action="store_true", help="score real training images instead (the metric's "
                                                           "floor or ceiling)")
        p.add_argument("--dataset", default=datasets[0], choices=datasets,
                       help=f"with --real and no run: which dataset (default: {datasets[0]})")
        p.add_argument("--force", action="store_true",
                       help="replace a RUN_DIR/<metric>.json made with another protocol (N, seed, features, generator "
                            "weights); the old record goes to RUN_DIR/<metric>.history.jsonl")
        p.add_argument("--cache-dir", help="where the feature classifier is cached "
                                           "(default: $MINIMAX_CACHE or ~/.cache/minimax)")
        if entry.features:
            p.add_argument("--features", choices=("classifier", "inception"), default=None,
                           help="feature network: the dataset's classifier (MNIST-style sets) or the FID "
                                "Inception-v3 (needs its weights file; never downloaded) (default: "
                                f"{entry.default_features}; inception with --real-dir or --fake-dir)")
            p.add_argument("--inception-weights", metavar="FILE", default=None,
                           help="pt_inception-2015-12-05-6726825d.pth (default: the torch hub cache)")
            p.add_argument("--classifier-data", metavar="DIR", default=None,
                           help="MNIST's IDX files: score folders of 28x28 greyscale digits (a folder run, --fake-dir, "
                                "--real-dir) in the features of the digit classifier trained on them (once; cached)")
        if entry.reference:
            p.add_argument("--real-dir", metavar="DIR", default=None,
                           help="compare with every image under DIR (read as a training folder: centre crop, "
                                "resized to the run's side) instead of the test split (a folder run: its training "
                                "folder); needs --features inception; its features are cached by content")
        if entry.features:
            p.add_argument("--fake-dir", metavar="DIR", default=None,
                           help="score the images under DIR instead of a run's samples (no run; with --real-dir as "
                                "the reference; Inception features); both folders are read at --image-size")
            p.add_argument("--image-size", metavar="S", default=None,
                           help="--fake-dir: the side both folders are centre-cropped and resized to (default: the "
                                "side the images of --fake-dir share)")
            p.add_argument("--record", metavar="FILE", default=None,
                           help="--fake-dir: write the scores and their protocol record here (default: "
                                "DIR.<metric>.json beside the folder)")
        for option in entry.options:  # the metric's own, as its declaration gives them (checked by EvalOptions.build)
            flag = "--" + option.name.replace("_", "-")
            if option.type == "bool":
                p.add_argument(flag, action="store_true", help=option.help)
            else:
                p.add_argument(flag, default=argparse.SUPPRESS, metavar="N" if option.type == "int" else "S",
                               help=f"{option.help} (default: {option.shown_default()})")
        p.set_defaults(func=cmd_eval)
