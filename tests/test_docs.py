"""The documentation stays true to the code: the generated reference is current, the README is a front page
(≤ 200 lines, the two set-up commands), and every relative link in README.md and docs/ points at a file."""
import re
import subprocess
import sys
from pathlib import Path

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
