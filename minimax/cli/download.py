"""``minimax download DATASET --data-dir DIR``: fetch a dataset's files and check their md5 (needs a network)."""
from __future__ import annotations

import argparse

from ..catalogue import DOWNLOADS


def cmd_download(args: argparse.Namespace) -> int:
    from ..data.download import download

    paths = download(args.dataset, args.data_dir)
    for path in paths:  # which files, by name: a user checks them against the dataset's published list
        print(f"  {path.name}: md5 verified")
    print(f"{args.dataset}: {len(paths)} file(s) verified in {args.data_dir}")
    return 0


def add_parser(sub) -> None:
    d = sub.add_parser("download", help="download a dataset (needs a network), verified by md5")
    d.set_defaults(func=cmd_download)
    d.add_argument("dataset", choices=DOWNLOADS, help="the dataset whose files to fetch")
    d.add_argument("--data-dir", required=True, help="where to put the files")
