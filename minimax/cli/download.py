"""``minimax download DATASET --data-dir DIR``: fetch a dataset's files and check their md5; ``minimax download
inception``: pytorch-fid's Inception weights, checked by SHA-256, where evaluation reads them (needs a network)."""
from __future__ import annotations

import argparse

from ..catalogue import DOWNLOADS
from ..errors import MinimaxError


def cmd_download(args: argparse.Namespace) -> int:
    if args.dataset == "inception":
        from ..metrics.inception import STANDARD_SHA256_PREFIX, download_weights

        path = download_weights(args.data_dir)
        print(f"{path}: SHA-256 {STANDARD_SHA256_PREFIX}... verified (pytorch-fid's Inception weights)")
        return 0
    from ..data.download import download

    if args.data_dir is None:
        raise MinimaxError(f"download {args.dataset} needs --data-dir (where to put the files)")
    paths = download(args.dataset, args.data_dir)
    for path in paths:  # which files, by name: a user checks them against the dataset's published list
        print(f"  {path.name}: md5 verified")
    print(f"{args.dataset}: {len(paths)} file(s) verified in {args.data_dir}")
    return 0


def add_parser(sub) -> None:
    d = sub.add_parser("download", help="download a dataset or the Inception weights (needs a network), verified")
    d.set_defaults(func=cmd_download)
    d.add_argument("dataset", choices=(*DOWNLOADS, "inception"),
                   help="the dataset whose files to fetch, or 'inception' (the FID/KID/IS feature network)")
    d.add_argument("--data-dir", default=None, help="where to put the files (inception: default the torch hub folder "
                                                    "that evaluation reads)")
