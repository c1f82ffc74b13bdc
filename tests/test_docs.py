"""The documentation stays true to the code: the generated reference is current, the README is a front page
(≤ 200 lines, the two set-up commands), and every relative link in README.md and docs/ points at a file."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_reference_page_is_generated_from_the_current_code():
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "gen_reference.py"), "--check"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    page = (ROOT / "docs" / "reference.md").read_text()
    for flag in ("--on-collapse", "--real-dir", "--r2", "--game"):  # flags of train and eval are listed
        assert f"`{flag}" in page


def test_readme_is_a_front_page_with_the_two_set_up_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert 'pip install -e ".[dev]" -c constraints.txt && minimax train' in readme
    assert "\npytest " in readme
    command = re.search(r"\n(pytest[^\n#]*?)\s+#", readme).group(1)  # CI runs exactly the README's test command
    assert command == "pytest -n auto" and command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_every_relative_link_points_at_a_file():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not re.match(r"[a-z]+://", target) and not (page.parent / target).exists():
                missing.append(f"{page.relative_to(ROOT)}: {target}")
    assert missing == []


def test_the_built_site_works_offline_and_shows_no_raw_roles(tmp_path):
    """The site as `mkdocs build` makes it (the docs extra installed): no script or stylesheet from another
    host (the equation is MathML made at build time, code is coloured by Pygments), and no Sphinx role left raw
    on the API page."""
    pytest.importorskip("material", reason="the docs extra (mkdocs-material) is not installed")
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    pages = {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8") for p in site.rglob("*.html")}
    assert len(pages) > 15
    external = [(name, ref) for name, page in pages.items()
                for ref in re.findall(r'<(?:script[^>]*\ssrc|link[^>]*\shref|img[^>]*\ssrc)="((?:https?:)?//[^"]+)"',
                                      page)]
    assert not external, external[:5]
    assert not [n for n, page in pages.items() if re.search(r"@import url\((?:https?:)?//", page)]
    home = pages["index.html"]
    assert "<math" in home and "\\min_G" not in home  # the game's equation, rendered at build time
    api = pages["api/index.html"]
    assert not re.search(r":(?:func|class|mod|meth|attr|data|obj|exc):<code>", api)
    assert '<a href="#minimax.games.minimax.log_d"><code>log_d</code></a>' in api  # a role became a link
    assert re.search(r'class="highlight".*?<span class="', pages["usage/index.html"], re.S)  # coloured code
