"""Write docs/reference.md from the code: every command's flags (the argparse parsers the CLI runs), every
config-file key (TrainConfig), the run directory's files (run/rundir.py) and the exit codes.

    python docs/gen_reference.py            # rewrite docs/reference.md
    python docs/gen_reference.py --check    # exit 1 if docs/reference.md is out of date (tests/test_docs.py)
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import sys
from pathlib import Path

from minimax.cli import build_parser
from minimax.config import TrainConfig, presets_of, presets_reference
from minimax.errors import MinimaxError
from minimax.evaluation import PROTOCOL_FIELDS, SCORE_FIELDS
from minimax.run import rundir
from minimax.run.loop import GeneratorCollapsed, TrainingDiverged

PAGE = Path(__file__).with_name("reference.md")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| flag | meaning |", "| --- | --- |"]
    for a in parser._actions:
        if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) or a.help == argparse.SUPPRESS:
            continue
        name = ", ".join(a.option_strings) or a.dest.upper()
        if a.choices and not isinstance(a, argparse._SubParsersAction):
            name += " {" + ",".join(map(str, a.choices)) + "}"
        help_text = (a.help or "") % {"default": a.default} if a.help and "%" in a.help else (a.help or "")
        rows.append(f"| `{_cell(name)}` | {_cell(help_text)} |")
    return rows


def _commands(parser, prefix="minimax") -> list[str]:
    out = []
    for name, sub in _subparsers(parser).items():
        nested = _subparsers(sub)
        if nested:
            out += _commands(sub, f"{prefix} {name}")
            continue
        out += [f"### `{prefix} {name}`", "", _cell(sub.description or ""), "", *_flags(sub), ""]
    return out


def _config_keys() -> list[str]:
    rows = ["| key | default | presets | meaning |", "| --- | --- | --- | --- |"]
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "")
        meaning = f.metadata["help"] + (f": {f.metadata['more']}" if f.metadata["more"] else "")
        if f.metadata["choices"]:
            meaning += f" {{{', '.join(f.metadata['choices'])}}}"
        rows.append(f"| `{f.name}` | `{_cell(repr(default))}` | {_cell('; '.join(presets_of(f.name)))} | "
                    f"{_cell(meaning)} |")
    return rows


def _metrics_files() -> list[str]:
    rows = ["`minimax eval METRIC RUN` writes `RUN/<metric>.json` (and `minimax.evaluate` returns the same "
            "mapping): the scores, `source`, and `protocol`, the record of how they were measured. A record of "
            "another protocol is kept in `RUN/<metric>.history.jsonl` when `--force` replaces it.", "",
            "| metric | score fields |", "| --- | --- |"]
    for metric, fields in SCORE_FIELDS.items():
        rows.append(f"| `{metric}` | " + "; ".join(f"`{k}`: {_cell(v)}" for k, v in fields.items()) + " |")
    rows += ["", "The protocol record:", "", "| field | meaning |", "| --- | --- |"]
    rows += [f"| `{k}` | {_cell(v)} |" for k, v in PROTOCOL_FIELDS.items()]
    return rows


def reference() -> str:
    """The page's text."""
    lines = ["# Reference", "",
             "Generated from the code by `python docs/gen_reference.py`; `tests/test_docs.py` fails when this page "
             "is out of date.", "", "## Commands", "", *_commands(build_parser()),
             "## Config-file keys", "",
             "A TOML or JSON file passed as `--config FILE` sets these keys (the flag of key `a_b` is `--a-b`); "
             "the presets (below) fill what neither the file nor a flag sets.", "", *_config_keys(), "",
             "## Presets", "", *presets_reference(), "",
             "## The run directory", "", inspect.getdoc(rundir) or "", "",
             "## Metrics files", "", *_metrics_files(), "",
             "## Exit codes", "", "| status | meaning |", "| --- | --- |",
             "| 0 | done |",
             f"| {MinimaxError.exit_code} | bad input: {_cell(MinimaxError.__doc__)} (one line on stderr) |",
             f"| {TrainingDiverged.exit_code} | {_cell(TrainingDiverged.__doc__)} |",
             f"| {GeneratorCollapsed.exit_code} | {_cell(GeneratorCollapsed.__doc__)} |",
             "| 128 + N | stopped by signal N (SIGINT: 130, SIGTERM: 143) after a checkpoint |", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = reference()
    if "--check" in argv:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE} is out of date: run python docs/gen_reference.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
