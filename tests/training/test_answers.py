"""Completions judged whole: one block in the language, prose around it, SMILES one ASCII token."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import finishes, fuzz
from training.answers import judge, looks_like_code

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="20" fill="red"/></svg>'

PAGE = '<div style="background:#36c;width:600px;height:300px"></div><h1>Title</h1>'

# (language, completion, the reason it earns nothing): known hacks, one list per language.
HACKS = [
    ("smiles", "```smiles\nCNCCN scale scale scale\n```", "smiles_not_one_ascii_token"),
    ("smiles", "```smiles\n\ufffdCCCC\ufffd\n```", "smiles_not_one_ascii_token"),
    ("smiles", "```smiles\nCCO\tethanol\n```", "smiles_not_one_ascii_token"),
    ("smiles", "```smiles\nCCO\nCCN\n```", "smiles_not_one_ascii_token"),
    ("smiles", "```smiles\nCC\u00d6\n```", "smiles_not_one_ascii_token"),
    ("smiles", "The molecule is CC(=O)O.\n```smiles\nCCN\n```", "code_outside_block"),
    ("smiles", "```smiles\nCCO\n```\n```smiles\nCCN\n```", "several_blocks"),
    ("svg", f"```svg\n{SVG}\n```\n{SVG}", "code_outside_block"),
    ("svg", f"```svg\n{SVG}\n```\n```svg\n<svg", "unclosed_fence"),
    ("svg", f"```html\n{SVG}\n```", "wrong_language"),
    ("svg", "```svg\n\n```", "empty_block"),
    ("python", "```python\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\n```\nplt.savefig('out.png')", "code_outside_block"),
    ("python", "import numpy as np\n```python\nimport matplotlib.pyplot as plt\n```", "code_outside_block"),
    ("html", "<style>body{background:red}</style>\n```html\n<p>hi</p>\n```", "code_outside_block"),
    ("latex", "\\usepackage{tikz}\n```latex\n\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}\n```", "code_outside_block"),
    ("latex", "no code at all", "no_block"),
]

HONEST = [
    ("smiles", "Here is the molecule:\n```smiles\nCC(=O)Oc1ccccc1C(=O)O\n```\nIt is aspirin.", "CC(=O)Oc1ccccc1C(=O)O"),
    ("svg", f"Sure! The picture is a red circle.\n```svg\n{SVG}\n```\nThe circle sits in the middle.", SVG),
    ("python", "```python\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\n```\nThis draws a line (two points).",
     "import matplotlib.pyplot as plt\nplt.plot([1, 2])"),
    ("html", "The page has a blue box and a heading.\n```html\n" + PAGE + "\n```", PAGE),
    ("latex", "A diagonal line:\n```tikz\n\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}\n```",
     "\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}"),
]


@pytest.mark.parametrize("lang,completion,reason", HACKS)
def test_known_hacks_are_not_accepted(lang, completion, reason):
    answer = judge(completion, lang)
    assert answer.code is None and answer.reason == reason


@pytest.mark.parametrize("lang,completion,code", HONEST)
def test_honest_answers_with_prose_are_accepted(lang, completion, code):
    answer = judge(completion, lang)
    assert answer.ok and answer.code == code


def test_conversational_completions_are_judged_like_text():
    turns = [{"role": "assistant", "content": [{"type": "text", "text": "```smiles\nCCO extra\n```"}]}]
    assert judge(turns, "smiles").reason == "smiles_not_one_ascii_token"
    assert judge([{"role": "assistant", "content": "```smiles\nCCO\n```"}], "smiles").code == "CCO"


@pytest.mark.parametrize("line,lang,expected", [
    ("It is ethanol, a simple alcohol.", "smiles", False),
    ("The SMILES is CCO", "smiles", True),
    ("x = np.linspace(0, 1)", "python", True),
    ("The chart shows sales (in dollars) per year.", "python", False),
    ("<div>", "html", True),
    ("\\draw (0,0) -- (1,1);", "latex", True),
    ("{{{}}} ;;; <<>>", "svg", True),
])
def test_prose_and_code_lines(line, lang, expected):
    assert looks_like_code(line, lang) is expected


# Answers that held the judge for minutes while it matched with backtracking regexes (seconds on the
# old code, 2 cores: "```" + 80k spaces > 150 s; a line "<" + 80k spaces + "x" > 150 s); each is one
# forward scan now. Run in a fresh interpreter under a 10 s bound.
SLOW_ANSWERS = [
    ("python", '"```" + " " * 80_000', "no_block"),
    ("html", '"```html\\n<p>x</p>\\n```\\n<" + " " * 80_000 + "x"', None),  # no ">": prose, the answer is taken
    ("html", '"```html\\n<p>x</p>\\n```\\n" + "<a" * 40_000', "code_outside_block"),
    ("svg", '"```x" * 20_000 + "\\n"', "no_block"),
    ("smiles", '"```smiles\\nCCO\\n```\\n" + "C" * 80_000', "code_outside_block"),
]


@pytest.mark.parametrize("lang,expression,reason", SLOW_ANSWERS)
def test_adversarial_answers_are_judged_in_linear_time(lang, expression, reason):
    out = finishes(f"from training.answers import judge\nprint(judge({expression}, {lang!r}).reason)")
    assert out.strip() == str(reason)


ANSWER_TEXT = st.lists(st.sampled_from(["```", "```python\n", "```svg\n", "\n", " ", "<", ">", "a", "<!--", "-->", "(", ")",
                                        "CCO", "\\draw", "{", "=", "`", "\t", "é"]), max_size=40).map("".join) | st.text(max_size=200)


@fuzz
@given(ANSWER_TEXT, st.sampled_from(["python", "html", "svg", "latex", "smiles"]))
def test_judge_answers_anything_with_code_or_a_reason(text, lang):
    answer = judge(text, lang)
    assert (answer.code is None) != (answer.reason is None)
    assert answer.code is None or answer.code in text or lang == "smiles" and answer.code in text.replace("\n", "")


@fuzz
@given(ANSWER_TEXT)
def test_fences_match_the_pattern_they_replace(text):
    """The forward scan finds exactly what the former regex found (on inputs small enough for it)."""
    import re

    from core.fences import fences

    old = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.S)
    assert [(f.tag, f.body, f.start, f.end) for f in fences(text)] == [(m.group(1), m.group(2), m.start(), m.end())
                                                                        for m in old.finditer(text)]
