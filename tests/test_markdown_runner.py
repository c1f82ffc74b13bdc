"""The documentation runner (tests/markdown_runner.py) is strict: a page whose output shows a wrong optimum, a
mode count off by one or another picture fails; a block's stated tolerance loosens only the numbers it names."""
from pathlib import Path

import numpy as np
import pytest
from markdown_runner import BLOCK, labelled_numbers, pieces, same_output, same_picture, tolerances
from PIL import Image

DOCS = Path(__file__).resolve().parent.parent / "docs"
SHOWN = ("done: 300 iterations -> runs/saturating | modes 4/8, high quality 25.7%, reverse KL 1.294 | minimax: "
         "V -0.339 (optimum -1.386), D(x) 0.880 (optimum 0.5), D(G(z)) 0.125 (optimum 0.5)")
LOOSE = {"modes": 2.0, "high quality": 20.0, "reverse KL": 0.8, "V": 0.3, "D(x)": 0.1, "D(G(z))": 0.1}


def edited(line: str, old: str, new: str) -> str:
    assert old in line
    return line.replace(old, new, 1)


def test_numbers_are_labelled_by_the_words_before_them():
    assert labelled_numbers(SHOWN)[1:7] == [("iterations -> runs/saturating | modes", "4"), ("/", "8"),
                                           (", high quality", "25.7"), ("%, reverse KL", "1.294"),
                                           ("| minimax: V", "-0.339"), ("(optimum", "-1.386")]
    assert [label for label, _ in labelled_numbers(SHOWN)][-4:] == ["), D(x)", "(optimum", "), D(G(z))", "(optimum"]


@pytest.mark.parametrize("old,new", [("(optimum -1.386)", "(optimum -0.693)"),  # a wrong optimum
                                     ("(optimum 0.5), D(G", "(optimum 1), D(G"),
                                     ("4/8", "4/7"),  # how many modes there are
                                     ("300 iterations", "299 iterations"),
                                     ("minimax:", "lsgan:")])  # words
def test_what_no_tolerance_loosens_is_compared_strictly_even_in_a_loose_block(old, new):
    assert same_output(SHOWN, SHOWN, LOOSE) is None
    assert same_output(SHOWN, edited(SHOWN, old, new), LOOSE) is not None


def test_whole_numbers_are_equal_and_decimals_within_a_unit_of_their_last_digit_without_a_stated_tolerance():
    for count in ("3/8", "5/8"):
        assert same_output(SHOWN, edited(SHOWN, "4/8", count)) is not None
    assert same_output("modes 8/8", "modes 7/8") is not None and same_output("modes 25/25", "modes 24/25") is not None
    assert same_output("step 1000", "step 999") is not None and same_output("[N, 3, 32, 32]", "[N, 3, 32, 31]")
    assert same_output("D(x) 0.880", "D(x) 0.881") is None and same_output("D(x) 0.880", "D(x) 0.882") is not None
    assert same_output("high quality 25.7%", "high quality 25.8%") is None
    assert same_output("high quality 25.7%", "high quality 25.9%") is not None
    assert same_output("loss 1e-05", "loss 2e-05") is None and same_output("loss 1e-05", "loss 3e-05") is not None


def test_a_stated_tolerance_loosens_its_label_only():
    tol = {"high quality": 8.0}
    assert same_output(SHOWN, edited(SHOWN, "25.7%", "33.0%"), tol) is None
    assert same_output(SHOWN, edited(SHOWN, "25.7%", "34.0%"), tol) is not None
    assert same_output(SHOWN, edited(SHOWN, "1.294", "1.296"), tol) is not None  # reverse KL: strict
    assert same_output(SHOWN, edited(SHOWN, "1.294", "1.295"), tol) is None
    assert same_output("V -0.339, D(x) 0.880", "V -0.339, D(x) 0.880", {"x": 1.0}) is None
    assert same_output("V -0.339, D(x) 0.880", "V -0.339, D(x) 0.980", {"x": 1.0}) is not None  # "x" is not "D(x)"
    grads = "gradient norm saturating   4.32, non-saturating   25.48"
    tol = {"saturating": 1.0, "non-saturating": 30.0}  # the longest name that ends the label
    assert same_output(grads, "gradient norm saturating   4.32, non-saturating    6.41", tol) is None
    assert same_output(grads, "gradient norm saturating   6.32, non-saturating   25.48", tol) is not None


def test_tolerances_read_label_plus_minus_amount():
    assert tolerances("high quality ±8, reverse KL ±0.3, D(G(z)) ±0.05") == {
        "high quality": 8.0, "reverse KL": 0.3, "D(G(z))": 0.05}
    for bad in ("0.5", "modes 1", "modes ±", "±1"):
        with pytest.raises(ValueError):
            tolerances(bad)


@pytest.mark.parametrize("page", ["tutorial.md", "howto.md"])
def test_every_stated_tolerance_names_numbers_of_its_block(page):
    """A tolerance that names no number of the output block after it would loosen nothing and say something
    untrue; each is a 'LABEL ±X' list and every LABEL labels a number there."""
    parts = pieces((DOCS / page).read_text())
    seen = 0
    for i, piece in enumerate(parts):
        if piece.kind != "tolerance":
            continue
        block = next(p for p in parts[i + 1:] if p.kind == "text")
        labels = [label for line in block.body.splitlines() for label, _ in labelled_numbers(line)]
        for name, amount in tolerances(piece.body).items():
            assert amount > 0 and (name == "*" and labels or any(label == name or label.endswith(" " + name)
                                                                 for label in labels)), (page, name)
        seen += 1
    assert seen >= 1 and BLOCK.pattern


def test_a_picture_matches_itself_and_not_another_or_a_damaged_copy(tmp_path):
    figure1, gradients = DOCS / "tutorial-figure1.png", DOCS / "tutorial-saturating-gradients.png"
    assert same_picture(figure1, figure1) is None
    assert same_picture(figure1, gradients) is not None
    pixels = np.asarray(Image.open(figure1).convert("RGB")).copy()
    h, w, _ = pixels.shape
    pixels[h // 4: 3 * h // 4, w // 8: 7 * w // 8] = 255  # the plots' middle half erased: curves gone
    Image.fromarray(pixels).save(tmp_path / "erased.png")
    assert same_picture(figure1, tmp_path / "erased.png") is not None
    Image.fromarray(pixels[:-1]).save(tmp_path / "cropped.png")
    assert "pixels" in same_picture(figure1, tmp_path / "cropped.png")
