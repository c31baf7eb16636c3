"""Design2Code: webpage screenshot -> HTML, scored by its evaluator's five measures (``visual_score.py``
of github.com/NoviScl/Design2Code).

Data (``--data``): the repository's ``testset_final/`` (``N.html`` beside its screenshot ``N.png``, and the
placeholder ``rick.jpg``), or the Hub's ``SALT-NLP/Design2Code-hf`` Parquet (``text``: the page,
``image``: its screenshot; a ``.parquet`` file, or a folder of them or with ``data/*.parquet``; the id
is the row's position).

Per answer, as the evaluator does: the answer is cleaned as it cleans generated pages (repeated content
cut, bare text wrapped, the 51st and later copies of an identical element dropped); both pages are drawn
in a 1280 x 720 viewport, full page (Playwright's defaults, which it uses), with ``rick.jpg`` beside them
where the data has it (it copies the file beside both); text blocks come from two more drawings of each
page with its text recoloured (``design2code_blocks``); blocks are matched and scored
(``design2code_match``); CLIP compares the two screenshots with the text inpainted (``clip_score``). The
score is ``0.2 * (block-match + text + position + colour + CLIP)``; with no block matched it is
``0.2 * CLIP`` and the four block scores are 0. Every page (the ground truth too) is drawn only in the
sandbox's HTML pool; here only the page text and the pictures are read.

Departures: an answer with no HTML block or whose page fails to draw scores 0 on every measure
(officially a blank 1280 x 960 page is scored: about 0.2 x CLIP); pages are drawn at most
``filters.render.html.MAX_HEIGHT`` px tall; nothing loads from the network (the evaluator's browser
fetches web fonts and remote pictures); a page whose style attribute the evaluator's colour parser
crashes on is read as having no colour there.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Sequence

from .base import BenchmarkError, Column, Sample, image_bytes, mean_percent, parquet_rows
from .clip_score import DEFAULT_MODEL, ClipScorer, masked_square
from .design2code_blocks import PoolExhausted, clean_generated, coloured, find_blocks
from .design2code_match import block_scores

CLIP_ENV = "VINCI_DESIGN2CODE_CLIP"
PLACEHOLDER = "rick.jpg"
SCREENSHOT = {"viewport_width": 1280, "viewport_height": 720, "full_page": True, "files_beside": True}
MAX_PAGE = 2_000_000
MAX_ANSWER = 200_000  # the repetition check compares every 100-character chunk with every earlier one
BLOCK_COLUMNS = (Column("block", "Block-Match"), Column("text", "Text"), Column("position", "Position"),
                 Column("color", "Color"))
CLIP_COLUMNS = (Column("clip", "CLIP"), Column("score", "Score"))


def _order(name: str):
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


class Design2Code:
    name: ClassVar[str] = "design2code"
    title: ClassVar[str] = "Design2Code"
    lang: ClassVar[str] = "html"
    layout: ClassVar[str] = "testset_final/ (N.html + N.png, rick.jpg), or Design2Code-hf Parquet (text, image)"

    def __init__(self, clip_model: str | None = None):
        self.clip = ClipScorer(clip_model or os.environ.get(CLIP_ENV) or DEFAULT_MODEL)
        self.columns: tuple[Column, ...] = BLOCK_COLUMNS + CLIP_COLUMNS
        self.not_computed: dict[str, str] = {}

    # -- data ------------------------------------------------------------------------------------------

    def load(self, data: str) -> list[Sample]:
        path = Path(data)
        if path.is_dir() and any(path.glob("*.html")):
            return self._load_folder(path)
        if path.is_dir():
            files = sorted(path.glob("*.parquet")) or sorted((path / "data").glob("*.parquet"))
        elif path.suffix == ".parquet":
            files = [path]
        else:
            raise BenchmarkError(f"{data}: expected Design2Code's testset folder (N.html + N.png) or Design2Code-hf Parquet")
        if not files:
            raise BenchmarkError(f"{data}: no N.html pages and no Parquet files (Design2Code-hf: data/*.parquet)")
        return self._load_parquet(files)

    @staticmethod
    def _load_folder(folder: Path) -> list[Sample]:
        placeholder = folder / PLACEHOLDER
        files = {PLACEHOLDER: placeholder.read_bytes()} if placeholder.is_file() else {}
        samples = []
        for page in sorted(folder.glob("*.html"), key=lambda p: _order(p.stem)):
            picture = page.with_suffix(".png")
            if not picture.is_file():
                raise BenchmarkError(f"{page}: no {picture.name} beside it (the target screenshot)")
            if page.stat().st_size > MAX_PAGE:
                raise BenchmarkError(f"{page}: larger than {MAX_PAGE:,} bytes")
            samples.append(Sample(page.stem, picture.read_bytes(), page.read_text(encoding="utf-8", errors="replace"),
                                  {"files": files}))
        return samples

    @staticmethod
    def _load_parquet(files: list[Path]) -> list[Sample]:
        samples = []
        for path in files:
            for i, row in parquet_rows(path, {"text", "image"}, ["text", "image"]):
                if not isinstance(row["text"], str) or len(row["text"]) > MAX_PAGE:
                    raise BenchmarkError(f"{path}: row {i}: text is not a page of at most {MAX_PAGE:,} characters")
                try:
                    picture = image_bytes(row["image"])
                except ValueError:
                    raise BenchmarkError(f"{path}: row {i}: image holds no image bytes") from None
                samples.append(Sample(str(len(samples)), picture, row["text"], {"files": {}}))
        if not samples:
            raise BenchmarkError(f"{files[0]}: no rows")
        return samples

    # -- scoring ---------------------------------------------------------------------------------------

    @staticmethod
    def _draw(service, jobs: list[tuple[str, dict]]):
        """Each distinct page drawn once (a ground truth answered several times is drawn once)."""
        keys = [(page, tuple(sorted((k, hash(v)) for k, v in files.items()))) for page, files in jobs]
        first: dict = {}
        for key, job in zip(keys, jobs):
            first.setdefault(key, job)
        drawn = dict(zip(first, service.render_many([("html", page, files, SCREENSHOT) for page, files in first.values()])))
        return [drawn[key] for key in keys]

    def score(self, samples: Sequence[Sample], codes: Sequence[str | None], service):
        """Three drawings of every page (plain, recoloured, recoloured shifted), all in the sandbox."""
        reason = self.clip.unavailable()
        if reason:
            self.columns, self.not_computed = BLOCK_COLUMNS, {"CLIP": reason, "Score": "0.2 x (the four + CLIP): needs CLIP"}
        pages: list[list[str]] = []
        unusable: dict[int, str] = {}
        jobs: list[tuple[str, dict]] = []
        for i, (sample, code) in enumerate(zip(samples, codes)):
            sides = [sample.reference]
            if code is None:
                unusable[i] = "no acceptable answer"
            elif len(code) > MAX_ANSWER:
                unusable[i] = f"answer longer than {MAX_ANSWER:,} characters"
            else:
                try:
                    sides.append(clean_generated(code))
                except RecursionError:
                    unusable[i] = "answer nested too deeply to read"
            versions = []
            for page in sides:
                try:
                    versions.append([page, coloured(page), coloured(page, 50)])
                except (PoolExhausted, RecursionError):
                    versions.append([page, page, page])  # drawn, but found to have no blocks (``_blocks``)
            pages.append(sides)
            for trio in versions:
                jobs += [(page, sample.meta.get("files") or {}) for page in trio]
        renders = iter(self._draw(service, jobs))
        out = []
        for i, (sample, sides) in enumerate(zip(samples, pages)):
            drawn = [[next(renders) for _ in range(3)] for _ in sides]
            reference = drawn[0]
            if not reference[0].ok:
                out.append((None, None, f"reference: the ground-truth page fails in the sandbox "
                                        f"({reference[0].error_kind}: {reference[0].first_line()})"))
                continue
            zero = {c.key: 0.0 for c in self.columns}
            if i in unusable:
                out.append((zero, None, unusable[i]))
                continue
            answer = drawn[1]
            if not answer[0].ok:
                out.append((zero, None, f"{answer[0].error_kind}: {answer[0].first_line()}"))
                continue
            ref_blocks, answer_blocks = (self._blocks(page, trio) for page, trio in zip(sides, drawn))
            metrics, merged = block_scores(answer_blocks, ref_blocks)
            if not reason:
                metrics["clip"] = self.clip.similarity(masked_square(answer[0].png, [b.bbox for b in merged]),
                                                       masked_square(reference[0].png, [b.bbox for b in ref_blocks]))
                metrics["score"] = 0.2 * (metrics["block"] + metrics["text"] + metrics["position"] + metrics["color"]
                                          + metrics["clip"])
            out.append((metrics, answer[0].png, None))
        return out

    @staticmethod
    def _blocks(page: str, trio) -> list:
        plain, marked, shifted = trio
        if not (marked.ok and shifted.ok):
            return []  # the evaluator draws a blank page for a failed screenshot: no text moves
        try:
            return find_blocks(page, plain.png, marked.png, shifted.png)
        except (PoolExhausted, RecursionError):
            return []  # more text elements than colours (the evaluator fails), or nested past Python's stack

    def summary(self, rows: list[dict]) -> dict[str, float]:
        return {c.title: mean_percent(rows, c.key) for c in self.columns}
