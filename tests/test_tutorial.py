"""The tutorial runs as written: every command and snippet of docs/tutorial.md in order, its outputs and the
numbers its prose quotes checked against this run (tests/markdown_runner.py). ``MINIMAX_RECORD=1`` rewrites the
page's outputs and pictures from the run instead."""
import os
from pathlib import Path

import pytest
from markdown_runner import run_page

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.slow
def test_the_tutorial_runs_as_written(tmp_path):
    problems = run_page(DOCS / "tutorial.md", tmp_path, record=os.environ.get("MINIMAX_RECORD") == "1")
    assert not problems, "\n\n".join(problems)


@pytest.mark.slow
def test_the_how_to_guides_run_as_written(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIMAX_CACHE", str(tmp_path / "cache"))  # (zoo:NAME unpacks there, not in ~/.cache)
    problems = run_page(DOCS / "howto.md", tmp_path, record=os.environ.get("MINIMAX_RECORD") == "1")
    assert not problems, "\n\n".join(problems)
