"""Perturbations read rendered, still untrusted code on the host: every kind on adversarial code ends in
linear time (a TikZ ``node`` and 400 spaces took 48 s: four adjacent ``\\s*``), and none raises."""
from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.perturb.base import registry
from tests.hostile import finishes, fuzz

# ~20 KB (the quality check's default cap on code) to 60 KB (a manifest may raise the cap).
HOSTILE = {
    "latex": ['"\\\\begin{tikzpicture}\\\\draw (0,0) node" + " " * 20_000 + "x;\\\\end{tikzpicture}"',
              '"\\\\begin{tikzpicture}\\\\addplot {" + "x" * 20_000 + ";\\\\end{tikzpicture}"'],
    "html": ['"<style>" + "a" * 60_000 + "</style><p class=a>x</p>"', '"<p style=\\"" + "a" * 60_000 + "\\">x</p>"'],
    "python": ['"import matplotlib.pyplot as plt\\nplt.plot(" + "-" * 15_000 + "1)\\n"'],
}


@pytest.mark.parametrize("lang,expression", [(lang, e) for lang, es in HOSTILE.items() for e in es])
def test_every_kind_ends_on_adversarial_code(lang, expression):
    out = finishes("import random\nfrom pipelines.perturb.base import registry\n"
                   f"code = {expression}\n"
                   f"for name, kind in registry({lang!r}).items():\n"
                   "    kind.apply(code, random.Random(0))\n"
                   "print('done')", seconds=20)
    assert out.strip() == "done"


CODE = {
    "latex": st.lists(st.sampled_from(["\\draw", "\\node", "node", " ", "[", "]", "(", ")", "{", "}", ";", "at", "x", "0,0",
                                       "\\begin{tikzpicture}", "\\end{tikzpicture}", "\\addplot", "red", "->", "\n"]),
                      max_size=30).map("".join),
    "html": st.lists(st.sampled_from(["<p>", "</p>", "<style>", "</style>", "style=\"", "\"", "{", "}", ".a", "class=a", "color:",
                                      "red", ";", " ", "12px", "#fff", "<div", ">"]), max_size=30).map("".join),
    "svg": st.lists(st.sampled_from(["<svg>", "</svg>", "<rect", "/>", " fill=\"red\"", " stroke-width=\"2\"", "<g>", "</g>",
                                     "<!--", "-->", " ", "x"]), max_size=30).map("".join),
    "python": st.lists(st.sampled_from(["import matplotlib.pyplot as plt\n", "plt.plot(", ")", "[1, 2]", "color='red'", ",",
                                        "\n", " ", "(", "-", "1", "lambda:"]), max_size=30).map("".join),
    "smiles": st.text(alphabet=st.sampled_from(list("CNOc1()=#[]+-@%0123456789")), max_size=30),
}


@pytest.mark.parametrize("lang", sorted(CODE))
def test_perturbations_return_code_or_none_on_anything(lang):
    @fuzz
    @given(CODE[lang], st.integers(0, 3))
    def check(code, seed):
        for kind in registry(lang).values():
            out = kind.apply(code, random.Random(seed))
            assert out is None or isinstance(out, str)

    check()


@fuzz
@given(CODE["html"] | CODE["latex"], st.integers(0, 4), st.integers(0, 4))
def test_css_rules_and_node_text_match_the_patterns_they_replace(text, lo, hi):
    """On inputs small enough for them, the linear replacements find what the former regexes found."""
    import re

    from pipelines.perturb.html import DECL, css_rules
    from pipelines.perturb.latex import NODE_TEXT

    a, b = min(lo, len(text)), max(len(text) - hi, min(lo, len(text)))
    rule = re.compile(r"(?P<selector>[^{}]+)\{(?P<body>[^{}]*)\}")
    node = re.compile(r"node\s*(?:\[[^\]]*\])?\s*(?:\([^)]*\))?\s*(?:at\s*\([^)]*\))?\s*\{")
    decl = re.compile(r"(?P<prop>[a-z-]+)\s*:\s*(?P<value>[^;{}\"']+)")
    assert css_rules(text, a, b) == [(m.group("selector"), m.start("body"), m.end("body")) for m in rule.finditer(text, a, b)]
    assert [m.span() for m in NODE_TEXT.finditer(text, a, b)] == [m.span() for m in node.finditer(text, a, b)]
    braced = "{" + text
    assert [m.span() for m in DECL.finditer(braced, 1)] == [m.span() for m in decl.finditer(braced, 1)]
