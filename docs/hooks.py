"""MkDocs hooks that keep the built site self-contained (no CDN): the LaTeX of ``pymdownx.arithmatex`` is turned
into MathML at build time (``latex2mathml``; browsers render MathML natively), and the Sphinx roles our docstrings
use (``:func:`log_d```) become links to the entry on the page (or plain code where the page has none)."""
from __future__ import annotations

import html
import re

from latex2mathml.converter import convert

MATH = re.compile(r'<(div|span) class="arithmatex">\\([\[(])(.*?)\\[\])]</\1>', re.S)
ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const):<code>(~?)([\w.]+)(\(\))?</code>")
ANCHOR = re.compile(r'id="([\w.]+)"')


def _mathml(match: re.Match) -> str:
    display = "block" if match.group(2) == "[" else "inline"
    out = convert(html.unescape(match.group(3)), display=display)
    return out.replace("<mi>&#x0007E;</mi>", "<mo>&#x0223C;</mo>")  # (latex2mathml writes \sim as a tilde)


def on_page_content(text: str, page, config, files) -> str:
    text = MATH.sub(_mathml, text)
    if ":<code>" not in text:
        return text
    anchors = set(ANCHOR.findall(text))

    def link(match: re.Match) -> str:
        short, target, call = match.group(1), match.group(2), match.group(3) or ""
        shown = (target.rsplit(".", 1)[-1] if short else target) + call
        found = target if target in anchors else next((a for a in sorted(anchors) if a.endswith("." + target)), None)
        code = f"<code>{html.escape(shown)}</code>"
        return f'<a href="#{found}">{code}</a>' if found else code

    return ROLE.sub(link, text)
