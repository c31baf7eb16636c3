"""Hub sources on local copies of each dataset in its real layout, through ``vinci harvest``."""
from __future__ import annotations

import base64
import json
from itertools import islice

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import SourceError
from core.languages import LANGUAGES
from pipelines.cli import main
from sources.base import open_source
from sources.hub import DATASETS, chat_code, describe, parse_spec
from sources.hub.code import reply_code
from sources.hub.esmiles import atom_tags, plain_smiles
from tests.hostile import ROOT, finishes, fuzz

from .hub_fixtures import FIXTURES, HTML, SVG, png


def harvest(tmp_path, dataset_id: str, options: dict) -> list[dict]:
    out = tmp_path / "out.jsonl"
    argv = ["harvest", f"hub:{dataset_id}", "-n", "50", "-o", str(out)]
    for key, value in options.items():
        argv += ["--option", f"{key}={value}"]
    assert main(argv) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_every_registered_dataset_has_a_fixture():
    assert set(FIXTURES) == set(DATASETS)


@pytest.mark.parametrize("dataset_id", sorted(FIXTURES))
def test_harvest_reads_the_real_layout(tmp_path, dataset_id):
    data = tmp_path / "repo"
    data.mkdir()
    fixture = FIXTURES[dataset_id](data)
    rows = harvest(tmp_path, dataset_id, fixture.options)
    assert len(rows) == len(fixture.expected)
    for i, (row, want) in enumerate(zip(rows, fixture.expected)):
        assert (row["lang"], row["code"]) == (want.lang, want.code), f"row {i}"
        assert (base64.b64decode(row["image"]) if row["image"] else None) == want.image, f"row {i}"
        assert {k: row["meta"].get(k) for k in want.meta} == want.meta, f"row {i}"
        assert "harvest_error" in want.meta or "harvest_error" not in row["meta"], row["meta"]
        assert row["source"] == f"hub:{dataset_id}" and row["source_ref"].endswith(f"#{i}")
        assert row["license"] == DATASETS[dataset_id].license


def test_image_root_option_points_at_a_folder_elsewhere(tmp_path):
    data, elsewhere = tmp_path / "repo", tmp_path / "pictures"
    data.mkdir()
    fixture = FIXTURES["xxxllz/Chart2Code-160k"](data)
    (data / "images").rename(elsewhere)
    missing = harvest(tmp_path, "xxxllz/Chart2Code-160k", fixture.options)
    assert all(r["image"] is None for r in missing)
    found = harvest(tmp_path, "xxxllz/Chart2Code-160k", {**fixture.options, "image_root": str(elsewhere)})
    assert [base64.b64decode(r["image"]) for r in found] == [e.image for e in fixture.expected]


def test_a_unit_reads_only_its_own_slice(tmp_path, monkeypatch):
    """Start in the third file's second row group: earlier files and groups are never read."""
    for f in range(3):
        table = pa.table({"Svg": [f"<svg id='{f}-{i}'/>" for i in range(10)], "Filename": [f"{f}-{i}" for i in range(10)]})
        pq.write_table(table, tmp_path / f"part-{f}.parquet", row_group_size=4)
    read: list[list[int]] = []
    original = pq.ParquetFile.iter_batches

    def spy(self, *args, row_groups=None, **kwargs):
        read.append(list(row_groups))
        return original(self, *args, row_groups=row_groups, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    samples = list(islice(open_source("hub:starvector/svg-stack", start=25,
                                      options={"data_files": str(tmp_path / "part-*.parquet")}), 3))
    assert [s.code for s in samples] == ["<svg id='2-5'/>", "<svg id='2-6'/>", "<svg id='2-7'/>"]
    assert [s.source_ref for s in samples] == [f"starvector/svg-stack@train#{i}" for i in (25, 26, 27)]
    assert read == [[1]]  # row groups are read one by one (each checked against its footer first), from the one holding row 25


def test_slices_join_up_to_the_whole_stream(tmp_path):
    table = pa.table({"smiles": [f"C{'C' * i}O" for i in range(23)], "filename": [str(i) for i in range(23)],
                      "image": [None] * 23})
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=5)
    pq.write_table(table.slice(0, 7), tmp_path / "b.parquet", row_group_size=3)
    options = {"data_files": [str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]}
    whole = [s.code for s in open_source("hub:yuntian-deng/im2smiles-20k", options=options)]
    pieces = [s.code for k in range(0, 30, 6) for s in islice(open_source("hub:yuntian-deng/im2smiles-20k", start=k,
                                                                          options=options), 6)]
    assert len(whole) == 30 and pieces == whole
    shifted = [s.code for s in islice(open_source("hub:yuntian-deng/im2smiles-20k", start=2, options={**options, "offset": 20}), 4)]
    assert shifted == whole[22:26]


def test_missing_column_names_what_was_found(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"markup": "<svg/>", "id": 1}) + "\n")
    with pytest.raises(SourceError) as err:
        list(open_source("hub:starvector/svg-stack", options={"data_files": str(path)}))
    assert "Svg" in str(err.value) and "markup" in str(err.value) and "rows.jsonl" in str(err.value)


def test_generic_dataset_with_options_and_bad_rows(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [{"src": "CCN"}, {"src": ""}, {"src": None}]) + "\n")
    samples = list(open_source("hub:someone/molecules", options={"data_files": str(path), "code_column": "src", "lang": "smiles"}))
    assert [s.code for s in samples] == ["CCN", "", ""]
    assert samples[1].meta["harvest_error"] == "empty code"


def test_unknown_dataset_and_unknown_option_are_refused(tmp_path):
    with pytest.raises(SourceError, match="no registered layout"):
        open_source("hub:someone/else")
    with pytest.raises(SourceError, match="code_colum"):
        open_source("hub:starvector/svg-stack", options={"code_colum": "x"})


def test_spec_parsing_fences_and_bare_replies():
    assert parse_spec("org/name:cfg@validation") == ("org/name", "cfg", "validation")
    assert parse_spec("org/name") == ("org/name", None, None)
    assert chat_code([{"role": "assistant", "content": "```py\nx = 1\n```\nthen\n```tikz\n\\draw;\n```"}]) == ("latex", "\\draw;")
    assert reply_code(HTML) == ("html", HTML)
    assert reply_code(f"<?xml version='1.0'?>\n{SVG}") == ("svg", f"<?xml version='1.0'?>\n{SVG}")
    assert reply_code("The page shows a shop with a heading.") == (None, None)
    assert reply_code("```\nimport matplotlib.pyplot as plt\n```") == ("python", "import matplotlib.pyplot as plt")


@pytest.mark.parametrize("label, want", [
    ("CCO", ("CCO", None)), ("CCO<sep>", ("CCO", None)), ("*CC*<sep><a>0:<dum></a><a>3:R[2]</a>", ("*CC[2*]", None)),
    ("*c1ccccc1<sep><a>0:Boc</a>", (None, "esmiles_abbreviation")),
    ("*C1CCCC1<sep><r>2:R</r>", (None, "esmiles_structure_tag")),
    ("C*<sep><a>0:R1</a>", (None, "esmiles_bad_atom_index")),
])
def test_esmiles_to_plain_smiles(label, want):
    assert plain_smiles(label) == want


def test_describe_names_config_split_layout_and_licence():
    d = describe("UniParser/MolParser-7M")
    assert (d["config"], d["split"], d["layout"], d["license"]) == ("pretrain_synthetic_7M", "train", "columns", "cc-by-nc-sa-4.0")
    d = describe("ChartMimic/ChartMimic")
    assert (d["config"], d["split"], d["benchmark"]) == ("chartmimic", "test", True)
    assert "chartmimic/*test/*.parquet" in d["files"]
    assert describe("MBZUAI/Web2Code", data_files="/x/Web2Code.json")["files"] == "/x/Web2Code.json"


def test_a_hub_file_is_downloaded_once_by_concurrent_units(tmp_path, monkeypatch):
    """Threads of one process (the local executor's units) asking for the same archive: one fetch, one whole copy."""
    import threading
    import time

    from datasets import config

    from sources.hub.rows import download

    monkeypatch.setattr(config, "HF_DATASETS_CACHE", str(tmp_path / "cache"))

    class SlowFilesystem:
        def __init__(self):
            self.fetches = 0

        def isdir(self, remote):
            return False

        def get(self, remote, local, recursive=False):
            self.fetches += 1
            with open(local, "wb") as fh:
                for _ in range(20):
                    fh.write(b"x" * 1000)
                    time.sleep(0.005)

    fs = SlowFilesystem()
    paths = []
    threads = [threading.Thread(target=lambda: paths.append(download(fs, "datasets/org/big/images.zip"))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fs.fetches == 1 and len(set(paths)) == 1 and len(paths) == 6
    assert open(paths[0], "rb").read() == b"x" * 20000


def test_an_image_path_out_of_the_image_folder_is_never_read(tmp_path):
    """Rows whose image path leaves ``images/`` (``..``, absolute, a symlink on the way) point at a file
    standing for the operator's Hub token (a decodable PNG, so a build would keep it as the row's
    picture): each row is dropped with a reason naming row and path, and the bytes appear nowhere."""
    data = tmp_path / "repo"
    data.mkdir()
    fixture = FIXTURES["xxxllz/Chart2Code-160k"](data)
    token = data / "token"
    token.write_bytes(png(99) + b"hf_SECRETTOKEN")
    (data / "images" / "cached.png").symlink_to(token)
    (data / "images" / "cache").symlink_to(data)
    rows = json.loads((data / "chart2code_160k.json").read_text())
    reply = rows[0]["conversations"]
    escapes = {"../token": "unsafe_path", "images/../../token": "unsafe_path", str(token): "unsafe_path",
               "..\\token": "unsafe_path", "images/cached.png": "symlink_in_path", "cache/token": "symlink_in_path"}
    rows += [{"id": f"evil_{i}", "image": path, "conversations": reply} for i, path in enumerate(escapes)]
    (data / "chart2code_160k.json").write_text(json.dumps(rows))
    harvested = harvest(tmp_path, "xxxllz/Chart2Code-160k", fixture.options)
    assert [base64.b64decode(r["image"]) for r in harvested[:2]] == [e.image for e in fixture.expected]
    evil = harvested[2:]
    assert [r["meta"]["harvest_error"] for r in evil] == list(escapes.values())
    assert all(r["image"] is None and r["code"] == "" for r in evil)
    for i, (row, path) in enumerate(zip(evil, escapes)):
        assert f"row {2 + i}" in row["meta"]["harvest_detail"] and repr(path) in row["meta"]["harvest_detail"]
    assert b"SECRETTOKEN" not in (tmp_path / "out.jsonl").read_bytes()
    from filters.quality import CodeCheck
    from pipelines.manifest import QualityConfig

    samples = list(open_source("hub:xxxllz/Chart2Code-160k", options=fixture.options))
    verdicts = [CodeCheck(QualityConfig()).verdict(s) for s in samples[2:]]
    assert [v[:2] for v in verdicts] == [(False, reason) for reason in escapes.values()]
    assert all("row" in v[2] and "image" not in v[1] for v in verdicts)


def test_a_path_inside_the_image_folder_still_reads(tmp_path):
    """Confinement keeps every legitimate spelling: ``./``, doubled slashes, backslashes, the root's own name."""
    data = tmp_path / "repo"
    data.mkdir()
    fixture = FIXTURES["xxxllz/Chart2Code-160k"](data)
    rows = json.loads((data / "chart2code_160k.json").read_text())
    rows[0]["image"], rows[1]["image"] = "./images//chart_0.png", "images\\chart_1.png"
    (data / "chart2code_160k.json").write_text(json.dumps(rows))
    found = harvest(tmp_path, "xxxllz/Chart2Code-160k", fixture.options)
    assert [base64.b64decode(r["image"]) for r in found] == [e.image for e in fixture.expected]


GIANT_CELL_PROBE = """
import json, sys
import pyarrow as pa
from sources.base import open_source
from sources.hub import rows
rows.MAX_CELL_BYTES, rows.MAX_CHUNK_BYTES = 1 << 20, int(sys.argv[2])
samples = list(open_source("hub:starvector/svg-stack", options={"data_files": sys.argv[1]}))
print(json.dumps({"peak": pa.default_memory_pool().max_memory(),
                  "rows": [[s.code, s.meta.get("harvest_error"), s.meta.get("harvest_detail")] for s in samples]}))
"""


@pytest.mark.parametrize("chunk_cap,group_rows,dropped", [(4 << 20, 1, [1]), (4 << 20, 3, [0, 1, 2]), (128 << 20, 3, [1])])
def test_a_giant_cell_is_dropped_before_it_is_materialised(tmp_path, chunk_cap, group_rows, dropped):
    """A few KB of zstd holding a 48 MiB cell, with a 1 MiB cell cap. Under a 4 MiB chunk cap its row
    group is refused from the footer alone, each of its rows dropped with a reason naming file and
    row, the other row groups read, and Arrow's peak allocation stays far below the cell; under a
    128 MiB chunk cap the row group is read and the cell refused from the Arrow lengths, before any
    cell becomes a Python object."""
    import subprocess
    import sys

    path = tmp_path / "giant.parquet"
    pq.write_table(pa.table({"Svg": [SVG, "<svg>" + "x" * (48 << 20), SVG], "Filename": ["a", "b", "c"]}), path,
                   compression="zstd", row_group_size=group_rows)
    assert path.stat().st_size < 64 << 10
    probe = subprocess.run([sys.executable, "-c", GIANT_CELL_PROBE, str(path), str(chunk_cap)], capture_output=True, text=True,
                           timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
    report = json.loads(probe.stdout)
    assert [(code, error) for code, error, _ in report["rows"]] == [
        ("", "row_too_large") if i in dropped else (SVG, None) for i in range(3)]
    for i in dropped:
        assert report["rows"][i][2].startswith(f"{path} row {i}: ")
    if chunk_cap < 48 << 20:
        assert report["peak"] < 16 << 20 and report["rows"][1][2].endswith("; the row group is not read")
    else:
        assert report["rows"][1][2].endswith("cell 'Svg' holds 50,331,653 bytes, over the 1,048,576-byte cap")


# Replies that held a harvest for minutes to hours while bare-reply detection backtracked (the old
# SVG sign tried every way to group 40 comments: 281 bytes, > 150 s on the old code), and E-SMILES
# labels whose tag pattern rescanned to the end from every unclosed ``<a>``.
SLOW_REPLIES = [
    ('reply_code("<!---->" * 40 + "x")', "(None, None)"),
    ('reply_code("<!---->" * 40 + "<svg/>")', "('svg', '" + "<!---->" * 40 + "<svg/>')"),
    ('reply_code("<?xml " + "?" * 80_000)', "(None, None)"),
    ('plain_smiles("C*<sep>" + "<a>1:" * 20_000)', "(None, 'esmiles_too_long')"),
    ('len(atom_tags("<a>1:" * 20_000 + "</a>")[0]), len(atom_tags("<a>1:x\\ny" * 10_000 + "</a>")[0])', "1 0"),
]


@pytest.mark.parametrize("expression,expected", SLOW_REPLIES)
def test_adversarial_replies_are_read_in_linear_time(expression, expected):
    out = finishes("from sources.hub.code import reply_code\nfrom sources.hub.esmiles import atom_tags, plain_smiles\n"
                   f"print({expression})")
    assert out.strip() == expected


HUB_TEXT = st.lists(st.sampled_from(["```", "```svg\n", "\n", " ", "<", ">", "<!--", "-->", "<svg", "<html", "<?xml", "?>",
                                     "import matplotlib", "\\documentclass", "<a>", "</a>", "1:", "R", "<sep>", "*", "C"]),
                    max_size=30).map("".join) | st.text(max_size=200)


@fuzz
@given(HUB_TEXT)
def test_reply_code_and_esmiles_answer_anything(text):
    lang, code = reply_code(text)
    assert (lang is None or lang in LANGUAGES) and (code is None or code in text or code == text.strip())
    smiles, reason = plain_smiles(text)
    assert (smiles is None) != (reason is None)


@fuzz
@given(HUB_TEXT)
def test_atom_tags_match_the_pattern_they_replace(text):
    import re

    old = re.compile(r"<a>\s*(\d+)\s*:\s*(.*?)\s*</a>")
    assert atom_tags(text) == (old.findall(text), old.sub("", text))


@fuzz
@given(st.text(max_size=60) | st.sampled_from(["../x", "/etc/passwd", "a/../../b", "C:\\x", "a\\..\\..\\b", ".", "", "a\x00b"]))
def test_an_image_path_is_read_inside_the_root_or_refused(tmp_path_factory, name):
    from core.errors import Rejected
    from sources.hub.images import ImageRoot

    root = tmp_path_factory.getbasetemp() / "fuzz-images"
    (root / "images").mkdir(parents=True, exist_ok=True)
    try:
        data = ImageRoot(str(root / "images")).read(name)
    except Rejected as exc:
        assert exc.reason in ("unsafe_path", "symlink_in_path", "too_large", "not_a_file")
    else:
        assert data is None


def test_a_giant_picture_in_a_list_of_images_is_measured_too(tmp_path, monkeypatch):
    """EasyR1 rows keep pictures in a list of Image structs: a cell's size counts the bytes nested in it."""
    from sources.hub import rows

    monkeypatch.setattr(rows, "MAX_CELL_BYTES", 1 << 20)
    data = tmp_path / "repo"
    data.mkdir()
    fixture = FIXTURES["DocTron-Hub/VinciCoder-42k-RL"](data)
    path = data / "train-00000-of-00001.parquet"
    table = pq.read_table(path).to_pylist()
    table[1]["images"] = [{"bytes": b"\x89PNG" + b"\x00" * (2 << 20), "path": None}]
    pq.write_table(pa.Table.from_pylist(table, schema=pq.read_schema(path)), path)
    samples = list(open_source("hub:DocTron-Hub/VinciCoder-42k-RL", options=fixture.options))
    assert [s.meta.get("harvest_error") for s in samples] == [None, "row_too_large", None]
    assert "cell 'images' holds 2,097," in samples[1].meta["harvest_detail"]


def test_a_chat_cell_nested_past_the_json_decoder_is_one_dropped_row(tmp_path):
    """``json.loads`` of ``"[" * 100_000`` raises RecursionError: the LLaVA reader let it stop the harvest."""
    data = tmp_path / "repo"
    data.mkdir()
    fixture = FIXTURES["xxxllz/Chart2Code-160k"](data)
    rows = json.loads((data / "chart2code_160k.json").read_text())
    rows[1]["conversations"] = "[" * 100_000
    (data / "chart2code_160k.json").write_text(json.dumps(rows))
    samples = list(open_source("hub:xxxllz/Chart2Code-160k", options=fixture.options))
    assert samples[0].meta.get("harvest_error") is None and samples[1].meta["harvest_error"] == "no_code_in_reply"


CELL = st.recursive(st.none() | st.text(max_size=40) | st.binary(max_size=20) | st.integers() | HUB_TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.sampled_from(["from", "role", "value", "content", "text", "bytes", "path"]), inner, max_size=3),
                    max_leaves=8)


@fuzz
@given(st.sampled_from(sorted(DATASETS)), st.dictionaries(st.text(max_size=8), CELL, max_size=3), st.data())
def test_every_layout_decodes_any_row_or_names_its_reason(dataset_id, extra, data):
    """Any cell in any column a layout reads: a ``Harvest`` or a ``Rejected`` (the row's drop), nothing else."""
    from core.errors import Rejected
    from sources.hub.layouts import LAYOUTS, RowContext

    spec = DATASETS[dataset_id]
    row = {**extra, **{column: data.draw(CELL) for column in spec.columns.values()}}
    try:
        harvest = LAYOUTS[spec.layout](row, RowContext(spec.columns, spec.lang, "chart2code_x.parquet", None))
    except Rejected:
        return
    assert harvest.code is None or isinstance(harvest.code, (str, bytes)) or "harvest_error" in harvest.meta or True
    assert harvest.image is None or isinstance(harvest.image, bytes)


# Crashers the layout fuzzer found, kept: a cell of the wrong type stopped the harvest, and an integer
# ``bytes`` made it allocate that many zero bytes (30 bytes of JSON, 25 GB of memory).
CRASHERS = [
    ("xxxllz/Chart2Code-160k", {"conversations": None, "image": {"bytes": 25_275_973_576}}),
    ("xxxllz/Chart2Code-160k", {"conversations": None, "image": {"bytes": -1}}),
    ("xxxllz/Chart2Code-160k", {"conversations": None, "image": {"bytes": "0"}}),
    ("xxxllz/Chart2Code-160k", {"conversations": 1, "image": None}),
    ("xxxllz/Chart2Code-160k", {"conversations": [{"from": "gpt", "value": [{"text": 3}]}], "image": None}),
    ("DocTron-Hub/VinciCoder-1.6M-SFT", {"user_content": ["x"], "assistant_content": 1, "image": None}),
    ("DocTron-Hub/VinciCoder-42k-RL", {"problem": ["svg"], "answer": None, "images": None}),
]


@pytest.mark.parametrize("dataset_id,row", CRASHERS)
def test_a_cell_of_the_wrong_type_is_a_row_without_code_or_picture(dataset_id, row):
    from sources.hub.layouts import LAYOUTS, RowContext

    spec = DATASETS[dataset_id]
    harvest = LAYOUTS[spec.layout](row, RowContext(spec.columns, spec.lang, "x.parquet", None))
    assert harvest.image is None and (harvest.code is None or not isinstance(harvest.code, str))


def test_a_json_lines_file_with_a_giant_line_is_refused_before_parsing(tmp_path, monkeypatch):
    """A few KB of gzip can hold a line of gigabytes: lines are measured, decompressed, in 1 MiB pieces
    before ``datasets`` parses any of them, and the refusal names the file and line."""
    import gzip

    from sources.hub import rows

    monkeypatch.setattr(rows, "MAX_LINE_BYTES", 1 << 20)
    fine = json.dumps({"Svg": "<svg/>", "pad": "x" * ((1 << 20) - 40)})
    path = tmp_path / "rows.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(fine + "\n" + fine + "\n" + json.dumps({"Svg": "<svg>" + "x" * (3 << 20) + "</svg>"}) + "\n")
    assert path.stat().st_size < 64 << 10 and len(fine) <= 1 << 20
    with pytest.raises(SourceError, match=r"rows\.jsonl\.gz line 3: over 1,048,576 bytes"):
        list(open_source("hub:starvector/svg-stack", options={"data_files": str(path)}))
    with gzip.open(path, "wt") as fh:
        fh.write(fine + "\n" + fine + "\n")
    assert [s.code for s in open_source("hub:starvector/svg-stack", options={"data_files": str(path)})] == ["<svg/>"] * 2


# A Hub row's picture is decoded on the host (the quality check, the source-picture distance, dedup
# against a benchmark): an EPS makes Pillow run Ghostscript on the PostScript inside, as the user that
# runs vinci (root); a 10 KB PNG that says 9,000 x 9,000 pixels asks for 243 MB as RGB. A fake ``gs`` on
# PATH records whether the host ever ran it.
EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
       b"(/root/.cache/huggingface/token) (r) file pop showpage\n%%EOF\n")
PICTURE_PROBE = """
import json, os, sys
from filters.quality import CodeCheck
from filters.distance import phash_distance
from filters.decontaminate import _phash_or_none
from pipelines.manifest import QualityConfig
from sources.base import open_source
samples = list(open_source("hub:xxxllz/Chart2Code-160k", options={"data_files": sys.argv[1]}))
verdicts = [CodeCheck(QualityConfig()).verdict(s) for s in samples]
verdicts = [v if v is True else list(v[:2]) for v in verdicts]
for s in samples:
    for check in (lambda: phash_distance(s.image, s.image), lambda: _phash_or_none(s.image)):
        try:
            check()
        except Exception:
            pass
print(json.dumps(verdicts))
"""


def bitmap_png(width: int, height: int) -> bytes:
    """A 1-bit PNG of ``width`` x ``height`` white pixels, written without materialising them."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_a_row_picture_in_a_foreign_format_or_of_giant_size_is_never_decoded(tmp_path):
    """Before: both rows passed the quality check (``verify()`` reads headers and CRCs only) and the
    host ran the fake ``gs`` on the row's PostScript; now both are ``bad_source_image`` and nothing
    ran. A normal row beside them keeps its picture."""
    data = tmp_path / "repo"
    data.mkdir()
    fixture = FIXTURES["xxxllz/Chart2Code-160k"](data)
    (data / "images" / "evil.eps").write_bytes(EPS)
    bomb = bitmap_png(9000, 9000)
    assert len(bomb) < 64 << 10
    (data / "images" / "bomb.png").write_bytes(bomb)
    rows = json.loads((data / "chart2code_160k.json").read_text())
    rows += [{**rows[0], "id": "eps", "image": "images/evil.eps"}, {**rows[0], "id": "bomb", "image": "images/bomb.png"}]
    (data / "chart2code_160k.json").write_text(json.dumps(rows))
    bin_dir, marker = tmp_path / "bin", tmp_path / "ghostscript-ran"
    bin_dir.mkdir()
    (bin_dir / "gs").write_text(f"#!/bin/sh\necho \"$@\" > {marker}\nexit 1\n")
    (bin_dir / "gs").chmod(0o755)
    import os
    import subprocess
    import sys

    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PICTURE_PROBE, fixture.options["data_files"]], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    verdicts = json.loads(done.stdout)
    assert not marker.exists(), "the host ran Ghostscript on a row's picture"
    assert verdicts[2:] == [[False, "bad_source_image"]] * 2
    assert verdicts[:2] == [True, True]
