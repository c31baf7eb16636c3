"""The known Hub datasets: how each is stored, in one table.

Each entry names a *layout* (how a row holds code and picture, see ``layouts.py``), the columns
that layout reads, the config and split to use when a spec names none, where its files live in
the dataset repo, and its licence. Facts were checked against the public cards and other
projects' loaders where possible (README "Sources" lists which); the rest is the issue's table.
A wrong column fails on the first row with the columns that were found, so this file is the one
place to fix.

``render`` names, per language, the dataset's render conventions where they differ from vinci's
defaults (the names and defaults are the renderers' ``conventions``: ``filters/render/*.py``), so
that vinci draws its code the way the dataset drew its pictures; a manifest's ``render:`` of the
source overrides them. What is known, and from where (README "Render conventions"):

* ChartMimic: every ground-truth script saves with ``bbox_inches="tight"`` and the benchmark's
  picture is that crop (``dataset/ori_500`` of github.com/ChartMimic/ChartMimic at 7ee16fb) --
  vinci's default ``savefig: script`` honours it.
* Design2Code: screenshots by Playwright's ``page.screenshot(full_page=True)`` on a default page,
  i.e. a 1280x720 viewport (``Pix2Code/data_utils/screenshot.py`` of github.com/NoviScl/Design2Code);
  the pages' pictures are one placeholder, ``rick.jpg`` (its dataset card), but the benchmark's
  screenshots were taken without it (``DESIGN2CODE_SCREENSHOT``).
* DaTikZ: its builder crops each compiled picture to its content, rasterises it to 384 px and pads it
  to a white 384 x 384 square (``DATIKZ_PICTURE``).
* The others: no public statement of their render settings was found; vinci's defaults stand.
"""
from __future__ import annotations

from dataclasses import dataclass, field

PARQUET_CONVERSION = "refs%2Fconvert%2Fparquet"
# DaTikZ's tex2img (github.com/potamides/DaTikZ, datikz/datikz.py @ 333caa9): the compiled PDF cropped to its
# content (pdfCropMargins, 0% padding), rasterised to 384 px (pdf2image size=384), padded to a 384 x 384 white square.
DATIKZ_PICTURE = {"border": "0pt", "crop": True, "long_side": 384, "square": True}
# Playwright's default page and full_page=True; its screenshots show no placeholder picture (0 of the 369 pages
# naming rick.jpg in testset_final@42e5d93: they were taken before rick.jpg was added, in f36e45a).
DESIGN2CODE_SCREENSHOT = {"viewport_width": 1280, "viewport_height": 720, "full_page": True, "files_beside": False}


@dataclass(frozen=True)
class DatasetSpec:
    layout: str
    lang: str | None
    license: str
    columns: dict[str, str] = field(default_factory=dict)
    config: str | None = None
    split: str = "train"
    files: str | None = None
    image_root: str | None = None
    labels: str | None = None
    benchmark: bool = False
    render: dict[str, dict] = field(default_factory=dict)

    def hub_files(self, dataset_id: str, config: str | None, split: str) -> str:
        """An ``hf://`` glob of the data files: the repo's own files, or the Hub's Parquet conversion
        (``CONFIG/SPLIT/``, or ``CONFIG/partial-SPLIT/`` where the Hub converted only the first 5 GB)."""
        if self.files is not None:
            return f"hf://datasets/{dataset_id}/{self.files}"
        return f"hf://datasets/{dataset_id}@{PARQUET_CONVERSION}/{config or 'default'}/*{split}/*.parquet"


DATASETS: dict[str, DatasetSpec] = {
    "DocTron-Hub/VinciCoder-1.6M-SFT": DatasetSpec(
        "vinci_sft", None, "apache-2.0", {"prompt": "user_content", "reply": "assistant_content", "image": "image"},
        files="*.parquet"),
    "DocTron-Hub/VinciCoder-42k-RL": DatasetSpec(
        "easyr1", None, "apache-2.0", {"prompt": "problem", "reply": "answer", "image": "images"}),
    "xxxllz/Chart2Code-160k": DatasetSpec(
        "llava", "python", "apache-2.0", {"chat": "conversations", "image": "image"}, files="*.json", image_root="images"),
    "ChartMimic/ChartMimic": DatasetSpec(
        "columns", "python", "see the dataset card",
        {"code": "GroundTruthFigureCode", "image": "GroundTruthFigurePreview", "also_image": "InputFigurePreview"},
        config="chartmimic", split="test", benchmark=True, render={"python": {"savefig": "script"}}),
    "SALT-NLP/Design2Code-hf": DatasetSpec(
        "columns", "html", "odc-by", {"code": "text", "image": "image"}, files="data/*.parquet", benchmark=True,
        render={"html": DESIGN2CODE_SCREENSHOT}),
    "HuggingFaceM4/WebSight": DatasetSpec(
        "columns", "html", "cc-by-4.0", {"code": "text", "image": "image"}, config="v0.2"),
    "MBZUAI/Web2Code": DatasetSpec(
        "llava", "html", "mit", {"chat": "conversations", "image": "image"}, files="Web2Code.json",
        image_root="Web2Code_image.zip"),
    "starvector/svg-stack": DatasetSpec(
        "columns", "svg", "see the dataset card (per-file licences)", {"code": "Svg"}),
    "nllg/datikz": DatasetSpec(
        "columns", "latex", "see the dataset card (per-row origin)", {"code": "code", "image": "image"},
        render={"latex": DATIKZ_PICTURE}),
    # DaTikZ v2 (94.5k train rows, 442 test, by the Hub's viewer; v1 has 49,692): the same builder, so the same
    # framing; its columns are taken to be v1's (code, image) -- a wrong one fails on the first row, naming the found.
    "nllg/datikz-v2": DatasetSpec(
        "columns", "latex", "see the dataset card (per-row origin)", {"code": "code", "image": "image"},
        render={"latex": DATIKZ_PICTURE}),
    "UniParser/MolParser-7M": DatasetSpec(
        "columns", "smiles", "cc-by-nc-sa-4.0", {"code": "SMILES", "image": "image"}, config="pretrain_synthetic_7M",
        labels="esmiles"),
    "yuntian-deng/im2smiles-20k": DatasetSpec(
        "columns", "smiles", "see the dataset card", {"code": "smiles", "image": "image"}),
}


def generic_spec(code_column: str, lang: str | None, image_column: str | None, chat: bool, license: str | None) -> DatasetSpec:
    """The spec of a dataset without an entry, from the ``code_column``/``image_column``/``lang`` options."""
    columns = {"chat" if chat else "code": code_column}
    if image_column:
        columns["image"] = image_column
    return DatasetSpec("llava" if chat else "columns", lang, license or "see the dataset card", columns)
