"""Local copies of the known Hub datasets, each written in exactly its published layout.

Every builder writes files into a folder the way the dataset repo holds them (file names, column
names and types, image as raw bytes / ``datasets`` Image / path into a folder or zip, fenced or
bare replies, E-SMILES labels) and returns the ``--option`` values that point vinci at them plus
the samples vinci must yield, row by row.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

PY = "import matplotlib.pyplot as plt\nplt.bar(['a', 'b'], [3, 5], color='tab:blue')\nplt.title('Sales')"
PY_DRAFT = "import matplotlib.pyplot as plt\nplt.plot(['a', 'b'], [5, 1], color='red')\nplt.title('Sales')"
HTML = "<!DOCTYPE html>\n<html><body><h1>Shop</h1><p>Open daily</p></body></html>"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><circle cx="20" cy="20" r="9" fill="red"/></svg>'
TIKZ = "\\begin{tikzpicture}\n\\draw[thick] (0,0) -- (2,1);\n\\end{tikzpicture}"


def png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), ((seed * 53) % 256, (seed * 97) % 256, (seed * 31) % 256)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Expected:
    lang: str
    code: str
    image: bytes | None
    meta: dict = field(default_factory=dict)


@dataclass
class Fixture:
    options: dict
    expected: list[Expected]


def image_cell(seed: int) -> dict:
    return {"bytes": png(seed), "path": None}


def vincicoder_sft(root: Path) -> Fixture:
    """Parquet files at the repo root named by task; ``image`` is raw PNG bytes (binary, no Image feature)."""
    schema = pa.schema([("user_content", pa.string()), ("assistant_content", pa.string()), ("image", pa.binary())])
    files = {
        "chart2code_refine.parquet": [(f"<image>\nThe code below draws a chart unlike the picture. Fix it.\n```python\n{PY_DRAFT}\n```",
                                       f"Here is the corrected code:\n```python\n{PY}\n```", 1)],
        "cosyn_1.parquet": [("<image>\nWhat does this figure show?", "```\nA bar chart of sales.\n```", 7)],
        "img2svg_1.parquet": [("<image>\nWrite SVG code that draws this icon.", f"```svg\n{SVG}\n```", 2)],
        "web2html_1.parquet": [("<image>\nWrite the HTML of this page.", HTML, 3)],
    }
    for name, rows in files.items():
        table = pa.Table.from_pylist([{"user_content": u, "assistant_content": a, "image": png(s)} for u, a, s in rows], schema)
        pq.write_table(table, root / name)
    return Fixture({"data_files": str(root / "*.parquet")}, [
        Expected("python", PY, png(1), {"flawed_code": PY_DRAFT, "task_file": "chart2code_refine.parquet"}),
        Expected("unknown", "A bar chart of sales.", png(7), {"harvest_error": "unknown_language"}),
        Expected("svg", SVG, png(2), {"task_file": "img2svg_1.parquet"}),
        Expected("html", HTML, png(3), {"task_file": "web2html_1.parquet"}),
    ])


def vincicoder_rl(root: Path) -> Fixture:
    """EasyR1 layout: ``problem`` with ``<image>``, ``answer`` the reference code, ``images`` a list of Images."""
    rows = {"problem": ["<image>Convert this icon into SVG code.", "<image>Write python code that reproduces the chart.",
                        "<image>Reproduce the figure with LaTeX TikZ code."],
            "answer": [f"```svg\n{SVG}\n```", PY, f"```latex\n{TIKZ}\n```"],
            "images": [[image_cell(4)], [image_cell(5)], [image_cell(6)]]}
    features = datasets.Features({"problem": datasets.Value("string"), "answer": datasets.Value("string"),
                                  "images": datasets.Sequence(datasets.Image())})
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(root / "train-00000-of-00001.parquet"))
    return Fixture({"data_files": str(root / "train-00000-of-00001.parquet")}, [
        Expected("svg", SVG, png(4)), Expected("python", PY, png(5)), Expected("latex", TIKZ, png(6))])


def chart2code(root: Path) -> Fixture:
    """LLaVA JSON (one array) plus an ``images/`` folder; ``image`` is a path string."""
    (root / "images").mkdir()
    rows = []
    for i in range(2):
        (root / "images" / f"chart_{i}.png").write_bytes(png(10 + i))
        rows.append({"id": f"chart_{i}", "image": f"images/chart_{i}.png", "conversations": [
            {"from": "human", "value": "<image>\nGenerate the matplotlib code that draws this chart."},
            {"from": "gpt", "value": f"```python\n{PY}\n# chart {i}\n```"}]})
    (root / "chart2code_160k.json").write_text(json.dumps(rows))
    return Fixture({"data_files": str(root / "chart2code_160k.json")},
                   [Expected("python", f"{PY}\n# chart {i}", png(10 + i)) for i in range(2)])


def chartmimic(root: Path) -> Fixture:
    """Config ``chartmimic``, split ``test``: input and ground-truth figures as Images, code as text."""
    rows = {"ExampleID": ["bar_1", "line_2"], "Task": ["direct", "customized"],
            "Instruction": ["Redraw this chart.", "Redraw with this data."],
            "InputFigurePreview": [image_cell(20), image_cell(21)],
            "GroundTruthFigureCode": [PY, PY.replace("Sales", "Costs")],
            "GroundTruthFigurePreview": [image_cell(22), image_cell(23)]}
    string, image = datasets.Value("string"), datasets.Image()
    features = datasets.Features({"ExampleID": string, "Task": string, "Instruction": string, "InputFigurePreview": image,
                                  "GroundTruthFigureCode": string, "GroundTruthFigurePreview": image})
    (root / "chartmimic").mkdir()
    path = root / "chartmimic" / "test-00000-of-00001.parquet"
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(path))
    return Fixture({"data_files": str(path)}, [Expected("python", PY, png(22)),
                                               Expected("python", PY.replace("Sales", "Costs"), png(23))])


def websight(root: Path) -> Fixture:
    """Config ``v0.2``: ``image`` (Image), ``text`` (the HTML), ``llm_generated_idea``."""
    html = [HTML, HTML.replace("Shop", "Bakery")]
    features = datasets.Features({"image": datasets.Image(), "text": datasets.Value("string"),
                                  "llm_generated_idea": datasets.Value("string")})
    (root / "v0.2").mkdir()
    path = root / "v0.2" / "train-00000-of-00001.parquet"
    datasets.Dataset.from_dict({"image": [image_cell(30), image_cell(31)], "text": html,
                                "llm_generated_idea": ["a shop page", "a bakery page"]}, features=features).to_parquet(str(path))
    return Fixture({"data_files": str(path)}, [Expected("html", html[0], png(30)), Expected("html", html[1], png(31))])


def design2code_hf(root: Path) -> Fixture:
    """``data/train-*.parquet``: ``image`` (Image, the benchmark's screenshot) and ``text`` (the page); two real
    pages of the benchmark (``tests/fixtures/real/design2code``); rows carry the benchmark's screenshot policy."""
    real = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "design2code"
    pages = [(real / f"{n}.html").read_text(encoding="utf-8") for n in ("1009", "4405")]
    shots = [(real / f"{n}.png").read_bytes() for n in ("1009", "4405")]
    features = datasets.Features({"image": datasets.Image(), "text": datasets.Value("string")})
    (root / "data").mkdir()
    path = root / "data" / "train-00000-of-00001.parquet"
    datasets.Dataset.from_dict({"image": [{"bytes": b, "path": None} for b in shots], "text": pages},
                               features=features).to_parquet(str(path))
    policy = {"render": {"viewport_width": 1280, "viewport_height": 720, "full_page": True, "files_beside": False}}
    return Fixture({"data_files": str(path)}, [Expected("html", p, b, policy) for p, b in zip(pages, shots)])


def web2code(root: Path) -> Fixture:
    """``Web2Code.json`` (LLaVA array) + ``Web2Code_image.zip`` whose folder prefix the rows omit; bare,
    fenced and multi-turn replies."""
    pages = [HTML.replace("Shop", f"Page {i}") for i in range(3)]
    rows = [
        {"id": "w0", "image": "games/01/w0.png", "conversations": [
            {"from": "human", "value": "<image>\nWrite the HTML code of this webpage."}, {"from": "gpt", "value": pages[0]}]},
        {"id": "w1", "image": "jobs/03/w1.png", "conversations": [
            {"from": "human", "value": "<image>\nGenerate HTML and CSS."}, {"from": "gpt", "value": f"Sure:\n```html\n{pages[1]}\n```"}]},
        {"id": "w2", "image": "jobs/03/w2.png", "conversations": [
            {"from": "human", "value": "<image>\nCreate the webpage code."}, {"from": "gpt", "value": pages[2]},
            {"from": "human", "value": "What is the heading?"}, {"from": "gpt", "value": "The heading reads Page 2."}]},
    ]
    with zipfile.ZipFile(root / "Web2Code_image.zip", "w") as zf:
        for i, row in enumerate(rows):
            zf.writestr(f"Web2Code_image/{row['image']}", png(40 + i))
    (root / "Web2Code.json").write_text(json.dumps(rows))
    return Fixture({"data_files": str(root / "Web2Code.json")}, [Expected("html", p, png(40 + i)) for i, p in enumerate(pages)])


def svg_stack(root: Path) -> Fixture:
    """``Filename``, ``Svg``; no image column."""
    svgs = [SVG, SVG.replace("red", "blue")]
    pq.write_table(pa.table({"Filename": ["a1.svg", "b2.svg"], "Svg": svgs}), root / "train-00000-of-00001.parquet")
    return Fixture({"data_files": str(root / "train-00000-of-00001.parquet")}, [Expected("svg", s, None) for s in svgs])


def datikz(root: Path) -> Fixture:
    """``caption``, ``code``, ``image`` (Image), ``uri``, ``origin``, ``date``, ``augmented``."""
    codes = [TIKZ, TIKZ.replace("thick", "dashed")]
    features = datasets.Features({"caption": datasets.Value("string"), "code": datasets.Value("string"), "image": datasets.Image(),
                                  "uri": datasets.Value("string"), "origin": datasets.Value("string"),
                                  "date": datasets.Value("timestamp[us]"), "augmented": datasets.Value("bool")})
    import datetime

    datasets.Dataset.from_dict({"caption": ["a line", "a dashed line"], "code": codes, "image": [image_cell(50), image_cell(51)],
                                "uri": ["https://arxiv.org/abs/1", "https://tex.stackexchange.com/q/2"], "origin": ["arxiv", "tex.se"],
                                "date": [datetime.datetime(2021, 1, 1), datetime.datetime(2022, 2, 2)], "augmented": [False, True]},
                               features=features).to_parquet(str(root / "train.parquet"))
    return Fixture({"data_files": str(root / "train.parquet")}, [Expected("latex", c, png(50 + i)) for i, c in enumerate(codes)])


def molparser(root: Path) -> Fixture:
    """Config folders; ``image`` (Image) and ``SMILES`` holding E-SMILES (``BACKBONE<sep>EXTENSION``)."""
    labels = ["c1ccccc1O<sep>", "*c1ccccc1<sep><a>0:R1</a>", "*c1ccccc1<sep><a>0:Ph</a>", "CC(=O)N"]
    features = datasets.Features({"image": datasets.Image(), "SMILES": datasets.Value("string")})
    (root / "pretrain_synthetic_7M").mkdir()
    path = root / "pretrain_synthetic_7M" / "train-00000.parquet"
    datasets.Dataset.from_dict({"image": [image_cell(60 + i) for i in range(4)], "SMILES": labels},
                               features=features).to_parquet(str(path))
    return Fixture({"data_files": str(path)}, [
        Expected("smiles", "c1ccccc1O", png(60)), Expected("smiles", "[1*]c1ccccc1", png(61)),
        Expected("smiles", labels[2], png(62), {"harvest_error": "esmiles_abbreviation", "source_label": labels[2]}),
        Expected("smiles", "CC(=O)N", png(63))])


def im2smiles(root: Path) -> Fixture:
    """``smiles``, ``filename``, ``image`` (Image)."""
    smiles = ["CCO", "c1ccncc1"]
    features = datasets.Features({"smiles": datasets.Value("string"), "filename": datasets.Value("string"), "image": datasets.Image()})
    datasets.Dataset.from_dict({"smiles": smiles, "filename": ["0.png", "1.png"], "image": [image_cell(70), image_cell(71)]},
                               features=features).to_parquet(str(root / "train.parquet"))
    return Fixture({"data_files": str(root / "train.parquet")}, [Expected("smiles", s, png(70 + i)) for i, s in enumerate(smiles)])


FIXTURES: dict[str, Callable[[Path], Fixture]] = {
    "DocTron-Hub/VinciCoder-1.6M-SFT": vincicoder_sft,
    "DocTron-Hub/VinciCoder-42k-RL": vincicoder_rl,
    "xxxllz/Chart2Code-160k": chart2code,
    "ChartMimic/ChartMimic": chartmimic,
    "HuggingFaceM4/WebSight": websight,
    "SALT-NLP/Design2Code-hf": design2code_hf,
    "MBZUAI/Web2Code": web2code,
    "starvector/svg-stack": svg_stack,
    "nllg/datikz": datikz,
    "nllg/datikz-v2": datikz,
    "UniParser/MolParser-7M": molparser,
    "yuntian-deng/im2smiles-20k": im2smiles,
}
