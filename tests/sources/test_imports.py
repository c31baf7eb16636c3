"""Only the helper modules a script imports travel with it (not every sibling script)."""
from __future__ import annotations

from sources.imports import imported_names, needed_helpers

SIBLINGS = {"style": "charts/style.py", "data": "charts/data.py", "other_plot": "charts/other_plot.py",
            "colors": "charts/colors.py", "broken": "charts/broken.py"}
TEXTS = {"charts/style.py": "from colors import PALETTE\nWIDTH = 3\n", "charts/colors.py": "PALETTE = ['#000']\n",
         "charts/data.py": "VALUES = [1, 2]\n", "charts/other_plot.py": "import matplotlib.pyplot as plt\nplt.plot([1])\n",
         "charts/broken.py": None}


def test_only_imported_helpers_and_their_own_imports_travel():
    script = "import matplotlib.pyplot as plt\nfrom style import WIDTH\nplt.plot([1], lw=WIDTH)\n"
    assert needed_helpers(script, SIBLINGS, TEXTS.get) == {"style.py": TEXTS["charts/style.py"],
                                                          "colors.py": TEXTS["charts/colors.py"]}


def test_a_script_importing_nothing_local_carries_nothing():
    assert needed_helpers("import numpy as np\nimport matplotlib.pyplot as plt\n", SIBLINGS, TEXTS.get) == {}


def test_relative_dotted_and_unreadable_imports():
    script = "from . import data\nimport style.sub as s\nimport broken\n"
    assert set(needed_helpers(script, SIBLINGS, TEXTS.get)) == {"data.py", "style.py", "colors.py"}
    assert imported_names("from .data import VALUES\nimport os, sys\n") == {"data", "os", "sys"}


def test_a_script_that_does_not_parse_still_names_its_imports():
    broken = "import matplotlib.pyplot as plt\nfrom data import VALUES\nplt.plot(VALUES\n"
    assert "data" in imported_names(broken) and "matplotlib" in imported_names(broken)
    assert set(needed_helpers(broken, SIBLINGS, TEXTS.get)) == {"data.py"}


def test_cost_is_linear_in_the_folder():
    siblings = {f"plot{i}": f"f/plot{i}.py" for i in range(200)}
    texts = {path: "import matplotlib.pyplot as plt\n" + "x = 1\n" * 100 for path in siblings.values()}
    carried = sum(len(needed_helpers(texts[p], siblings, texts.get)) for p in siblings.values())
    assert carried == 0
