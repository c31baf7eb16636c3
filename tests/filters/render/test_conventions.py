"""Render conventions on real benchmark code: pictures as the dataset drew them.

Fixtures (``tests/fixtures/real``, see its README): ChartMimic's ground-truth scripts with the
benchmark's own PDFs rasterised at 100 DPI, and Design2Code pages with the benchmark's screenshots
(downscaled; ``sizes.json`` holds their real sizes).
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from filters.distance import phash_distance
from filters.render import RenderPool
from filters.render.base import resolve_conventions, renderer_class
from sources.hub.registry import DATASETS, DESIGN2CODE_SCREENSHOT

pytestmark = pytest.mark.renders  # renders through the sandboxed pool (pytest -m 'not renders' leaves it out)

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"
CHARTMIMIC = REAL / "chartmimic_ori500"
DESIGN2CODE = REAL / "design2code"
FIGURE = "import matplotlib.pyplot as plt\nfig = plt.figure(figsize=(6, 4), facecolor='{face}')\nplt.plot([1, 3, 2])\n"


@pytest.fixture(scope="module")
def python_pool():
    with RenderPool("python", 1, timeout_s=60) as pool:
        yield pool


@pytest.fixture(scope="module")
def html_pool():
    with RenderPool("html", 1, timeout_s=30) as pool:
        yield pool


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def size_of(png: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(png)).size


@pytest.mark.parametrize("script", sorted(p.name for p in CHARTMIMIC.glob("*.py")))
def test_chartmimic_scripts_render_as_the_benchmark_drew_them(python_pool, script):
    """Default conventions (ChartMimic's: the script's own ``bbox_inches='tight'``): the benchmark's picture
    size to 4 px and within pHash 8 -- including scripts that need squarify, matplotlib-venn, pandas and
    the drift shims (``cm.get_cmap``, ``boxplot(labels=)``, ``DataFrame.applymap``)."""
    conventions = DATASETS["ChartMimic/ChartMimic"].render["python"]
    result = python_pool.render((CHARTMIMIC / script).read_text(), conventions=conventions)
    assert result.ok, result.message
    reference = (CHARTMIMIC / script).with_suffix(".png").read_bytes()
    (w, h), (rw, rh) = size_of(result.png), size_of(reference)
    assert abs(w - rw) <= 4 and abs(h - rh) <= 4, ((w, h), (rw, rh))  # text extents: Agg vs the PDF backend
    assert phash_distance(result.png, reference) <= 8


def test_savefig_policy_crops_as_the_script_saves(python_pool):
    tight = FIGURE.format(face="white") + "plt.savefig('out.pdf', bbox_inches='tight')\n"
    cropped = python_pool.render(tight)
    whole = python_pool.render(tight, conventions={"savefig": "figure"})
    assert cropped.ok and whole.ok
    assert (whole.width, whole.height) == (600, 400)
    assert cropped.width < 600 and cropped.height < 400
    padded = python_pool.render(tight.replace("'tight'", "'tight', pad_inches=1"))
    assert padded.width - cropped.width == pytest.approx(180, abs=2)  # (1 - 0.1) in a side, at 100 DPI
    shown = python_pool.render(FIGURE.format(face="white") + "plt.show()\n")
    assert shown.png == whole.png  # no savefig: the whole figure, as before
    by_rc = python_pool.render("import matplotlib\nmatplotlib.rcParams['savefig.bbox'] = 'tight'\n"
                               + FIGURE.format(face="white") + "plt.savefig('out.png')\n")
    assert by_rc.png == cropped.png  # set once in rcParams, as a real script may


def test_a_tight_crop_is_matplotlibs_own_picture_pixel_for_pixel(python_pool):
    """vinci takes the crop's raw pixels instead of a PNG savefig wrote: the same picture."""
    import matplotlib
    import matplotlib.pyplot as plt

    script = FIGURE.format(face="white") + "plt.title('a title wider than the axes, to be cropped around')\n"
    rendered = python_pool.render(script + "plt.savefig('out.pdf', bbox_inches='tight', pad_inches=0.05)\n")
    with matplotlib.rc_context(), plt.ioff():
        matplotlib.use("Agg")
        namespace: dict = {}
        exec(script, namespace)
        buf = io.BytesIO()
        namespace["fig"].savefig(buf, format="png", dpi=100, bbox_inches="tight", pad_inches=0.05)
        plt.close(namespace["fig"])
    assert rendered.ok and np.array_equal(pixels(rendered.png), pixels(buf.getvalue()))


def test_savefig_colours_are_honoured_at_vinci_dpi(python_pool):
    black = python_pool.render(FIGURE.format(face="white") + "plt.savefig('o.png', facecolor='black', dpi=300)\n")
    assert black.ok and (black.width, black.height) == (600, 400)  # the script's dpi is not vinci's
    assert pixels(black.png)[2, 2].tolist() == [0, 0, 0]
    clear = python_pool.render(FIGURE.format(face="red") + "plt.savefig('o.png', transparent=True)\n")
    assert pixels(clear.png)[2, 2].tolist() == [255, 255, 255]  # transparent, flattened on white
    red = python_pool.render(FIGURE.format(face="red") + "plt.savefig('o.png')\n")
    assert pixels(red.png)[2, 2].tolist() == [255, 0, 0]


@pytest.mark.parametrize("old, new", [
    ("import matplotlib.cm as cm\nc = cm.get_cmap('viridis', 5)", "import matplotlib\nc = matplotlib.colormaps['viridis'].resampled(5)"),
    ("c = lambda v: 'C0'\nplt.gca().boxplot([[1, 2, 3], [2, 4, 5]], labels=['a', 'b'])",
     "c = lambda v: 'C0'\nplt.gca().boxplot([[1, 2, 3], [2, 4, 5]], tick_labels=['a', 'b'])"),
    ("import pandas as pd\nd = pd.DataFrame({'v': [1, 2]}).applymap(lambda v: v * 2)\nc = lambda v: 'C0'",
     "import pandas as pd\nd = pd.DataFrame({'v': [1, 2]}).map(lambda v: v * 2)\nc = lambda v: 'C0'"),
    ("import numpy as np\nx = np.array([1.0, 2.0])\nplt.annotate('p', (1, x[x > 1]))\nc = lambda v: 'C0'",
     "import numpy as np\nx = np.array([1.0, 2.0])\nplt.annotate('p', (1, 2.0))\nc = lambda v: 'C0'"),
])
def test_drift_shims_draw_what_todays_spelling_draws(python_pool, old, new):
    tail = "\nplt.bar([0, 1], [1, 2], color=c(1))\nplt.show()\n"
    before = python_pool.render("import matplotlib.pyplot as plt\n" + old + tail)
    after = python_pool.render("import matplotlib.pyplot as plt\n" + new + tail)
    assert before.ok, before.message
    assert before.png == after.png


def test_render_environment_has_the_packages_real_chart_code_imports(python_pool):
    code = ("import matplotlib.pyplot as plt, networkx as nx, scipy.stats, seaborn as sns, squarify, pandas\n"
            "from matplotlib_venn import venn2\nfig, ax = plt.subplots(1, 2)\nsquarify.plot([3, 2, 1], ax=ax[0])\n"
            "nx.draw(nx.path_graph(3), ax=ax[1])\nplt.show()\n")
    result = python_pool.render(code)
    assert result.ok, result.message


def test_a_missing_module_is_named(python_pool):
    result = python_pool.render("import matplotlib.pyplot as plt\nimport not_in_the_env.sub\nplt.plot([1])\n")
    assert result.error_kind == "missing_module"
    assert "No module named 'not_in_the_env'" in result.message


@pytest.mark.needs_chromium
def test_bad_conventions_fail_the_sample_not_the_pool(python_pool):
    assert python_pool.render("x = 1", conventions={"dpi": 300}).error_kind == "unsupported"
    assert python_pool.render("x = 1", conventions={"savefig": "tight"}).error_kind == "unsupported"
    with pytest.raises(ValueError, match="viewport_width"):
        resolve_conventions(renderer_class("html"), {"viewport_width": 10**6})


@pytest.mark.needs_chromium
@pytest.mark.parametrize("page", ["1002", "13302", "1009", "4405", "10414"])
def test_design2code_pages_render_as_the_benchmark_shot_them(html_pool, page):
    """Design2Code's policy (a 1280x720 viewport, full page; its screenshots show no placeholder): the
    screenshot's size exactly and within pHash 8 of it."""
    sizes = json.loads((DESIGN2CODE / "sizes.json").read_text())
    code = (DESIGN2CODE / f"{page}.html").read_text(encoding="utf-8")
    result = html_pool.render(code, files={"rick.jpg": (DESIGN2CODE / "rick.jpg").read_bytes()},
                              conventions=DESIGN2CODE_SCREENSHOT)
    assert result.ok, result.message
    assert [result.width, result.height] == sizes[page]
    assert phash_distance(result.png, (DESIGN2CODE / f"{page}.png").read_bytes()) <= 8


PLACEHOLDER_PAGE = ('<html><body style="margin:0"><img src="rick.jpg" width="400" height="300">'
                    '<img src="other.jpg" width="400" height="300"></body></html>')


def blue_share(png: bytes) -> float:
    a = pixels(png).astype(int)
    return float(((a[..., 2] > 200) & (a[..., 0] < 60) & (a[..., 1] < 60)).mean())


@pytest.mark.needs_chromium
def test_files_beside_a_page_are_served_to_it_and_nothing_else(html_pool):
    rick = (DESIGN2CODE / "rick.jpg").read_bytes()  # Design2Code's placeholder: a blue picture
    served = html_pool.render(PLACEHOLDER_PAGE, files={"rick.jpg": rick})
    assert blue_share(served.png) == pytest.approx(400 * 300 / (1024 * 768), abs=0.01)  # other.jpg is not carried
    assert blue_share(html_pool.render(PLACEHOLDER_PAGE).png) == 0
    withheld = html_pool.render(PLACEHOLDER_PAGE, files={"rick.jpg": rick}, conventions={"files_beside": False})
    assert blue_share(withheld.png) == 0
    again = html_pool.render(PLACEHOLDER_PAGE)  # the same page without files: nothing cached from the one with them
    assert blue_share(again.png) == 0


@pytest.mark.needs_chromium
def test_viewport_and_full_page_conventions(html_pool):
    tall = "<html><body style='margin:0'><div style='height:2000px;width:50%;background:#08f'></div></body></html>"
    full = html_pool.render(tall, conventions={"viewport_width": 1280, "viewport_height": 720})
    assert (full.width, full.height) == (1280, 2000)
    window = html_pool.render(tall, conventions={"viewport_width": 1280, "viewport_height": 720, "full_page": False})
    assert (window.width, window.height) == (1280, 720)
    short = html_pool.render("<p>short</p>", conventions={"viewport_width": 1280, "viewport_height": 720})
    assert (short.width, short.height) == (1280, 720)  # a short page is the viewport, as Playwright's full page
    default = html_pool.render("<p>short</p>")
    assert (default.width, default.height) == (1024, 768)


def test_svg_size_and_molecule_size_conventions():
    with RenderPool("svg", 1) as svg, RenderPool("smiles", 1) as smiles:
        icon = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="20" height="20" fill="red"/></svg>'
        assert (svg.render(icon, conventions={"long_side": 224}).width, svg.render(icon).width) == (224, 512)
        small = smiles.render("c1ccccc1O", conventions={"size": 300})
        assert (small.width, small.height) == (300, 300)


@pytest.mark.needs_tex
def test_datikz_framing_of_a_full_document():
    """DaTikZ's rows are whole documents (an article here, page number and all), framed by its builder:
    cropped to the drawing, 384 px on the longer side, padded to a white 384 x 384 square."""
    from sources.hub.registry import DATIKZ_PICTURE

    document = ("\\documentclass{article}\n\\usepackage{tikz}\n\\begin{document}\n"
                "\\begin{tikzpicture}\\fill[red] (0,0) rectangle (4,1);\\end{tikzpicture}\n\\end{document}\n")
    with RenderPool("latex", 1, timeout_s=30) as pool:
        page, framed = pool.render(document), pool.render(document, conventions=DATIKZ_PICTURE)
    assert page.ok and framed.ok, (page.message, framed.message)
    assert page.height > 2000  # a letter page at 200 DPI
    assert (framed.width, framed.height) == (384, 384)
    red = (pixels(framed.png)[..., 0] > 200) & (pixels(framed.png)[..., 1] < 60)
    rows = np.flatnonzero(red.any(axis=1))
    assert red[:, 0].any() and red[:, -1].any()  # the drawing spans the width: the page number was not kept
    assert abs((rows[-1] - rows[0] + 1) - 96) <= 2 and abs((rows[0] + rows[-1]) / 2 - 191.5) <= 2  # 4:1, centred


@pytest.mark.needs_tex
def test_tikz_border_convention():
    snippet = "\\begin{tikzpicture}\\draw (0,0) rectangle (1,1);\\end{tikzpicture}"
    with RenderPool("latex", 1, timeout_s=30) as pool:
        default, wide = pool.render(snippet), pool.render(snippet, conventions={"border": "20pt"})
    assert default.ok and wide.ok, (default.message, wide.message)
    assert wide.width - default.width == pytest.approx(2 * 16 * 200 / 72.27, abs=3)  # 16 pt more a side at 200 DPI


@pytest.mark.needs_chromium
def test_a_file_beside_a_page_cannot_land_outside_its_scratch_folder(html_pool, python_pool):
    for pool, code in ((html_pool, PLACEHOLDER_PAGE), (python_pool, "import matplotlib.pyplot as plt\nplt.plot([1, 2])\n")):
        result = pool.render(code, files={"../../escape.jpg": b"\xff\xd8"})
        assert result.error_kind == "forbidden" and "outside the scratch folder" in result.message
    binary = python_pool.render("import matplotlib.pyplot as plt\nplt.plot(list(open('data.bin', 'rb').read()))\nplt.show()\n",
                                files={"data.bin": bytes([3, 1, 2, 250])})
    assert binary.ok, binary.message  # a binary file beside a script arrives byte for byte
