"""Trees of real files as sources: ``dir:<path>`` (a folder, or a .zip/.tar[.gz] archive).

Code units: matplotlib scripts (with the helper modules beside them), SVG files, HTML pages,
TikZ pictures (each ``tikzpicture`` of a document extracted with the preamble lines it needs;
standalone documents and bare ``.tikz`` files kept whole), and molecules from ``.smi``, ``.csv``
and ``.sdf`` files. Unreadable, binary or undecodable files are counted in ``skipped`` and left
out; none of them stops a harvest.
"""
from __future__ import annotations

import csv
import io
import os
import posixpath
import re
import stat
import tarfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from pathlib import PurePosixPath
from typing import IO, Any, Callable, Iterable, Iterator

from core.errors import Rejected, SourceError, VinciError
from core.languages import LANGUAGES, language_of_file, language_of_path
from core.paths import TooLarge, confine, read_beneath

from .base import RawSample
from .imports import needed_helpers

MAX_FILE_BYTES = 2 << 20
MAX_PREAMBLE_CHARS = 64 << 10
LICENSE_NAMES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING", "COPYING.txt")
MATPLOTLIB = re.compile(r"^[^\S\n]*(import matplotlib|from matplotlib|import pylab|from pylab)", re.M)
RDKIT_DRAW = re.compile(r"^[^\S\n]*from rdkit\.Chem import .*Draw|^[^\S\n]*from rdkit\.Chem\.Draw import", re.M)
REMOTE_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']?(https?:)?//""", re.I)
RELATIVE_REF = re.compile(r"""(?:src|href|poster|data)\s*=\s*["']?([^"'\s>?#]+)""", re.I)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')?#]+)""", re.I)
MAX_BESIDE_FILES = 32
MAX_BESIDE_BYTES = 8 << 20
PREAMBLE_KEEP = re.compile(r"^[^\S\n]*\\(usepackage|usetikzlibrary|usepgfplotslibrary|pgfplotsset|tikzset|definecolor|colorlet|"
                           r"newcommand|renewcommand|DeclareMathOperator|def\\)", re.M)
SPDX_HINTS = {"MIT License": "MIT", "Apache License": "Apache-2.0", "BSD 3-Clause": "BSD-3-Clause", "BSD 2-Clause": "BSD-2-Clause",
              "GNU GENERAL PUBLIC LICENSE": "GPL", "GNU LESSER GENERAL PUBLIC": "LGPL", "Creative Commons": "CC",
              "LaTeX Project Public License": "LPPL", "Mozilla Public License": "MPL-2.0", "The Unlicense": "Unlicense",
              "SIL OPEN FONT LICENSE": "OFL-1.1"}


@dataclass
class Tree:
    """A uniform view of a folder or an archive: sorted relative paths and a reader."""

    name: str
    paths: list[str]
    read: Callable[[str], bytes]
    skipped: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.path_set = frozenset(self.paths)
        self.python_by_folder: dict[str, list[str]] = {}
        for path in self.paths:
            if language_of_path(path) == "python":
                self.python_by_folder.setdefault(str(PurePosixPath(path).parent), []).append(path)


class FileTooLarge(VinciError):
    """A file or member declares more than ``MAX_FILE_BYTES``; it is skipped before any byte is read."""


MAX_ARCHIVE_MEMBERS = 100_000
MAX_ARCHIVE_BYTES = 8 << 30


def open_tree(path: str) -> Tree:
    """A folder or an archive as a ``Tree``; nothing in it can lead the reader elsewhere.

    Folders: symbolic links are never followed (a link is skipped and counted, even one that
    points inside the tree, so a file is never read twice under two names); FIFOs, sockets and
    devices are skipped and counted (opening a FIFO would block the harvest); a file is opened with
    ``O_NOFOLLOW | O_NONBLOCK`` and its size checked on the open descriptor before reading.
    Archives: only regular members are read; absolute, ``..`` and link members are skipped and
    counted; member sizes are checked against ``MAX_FILE_BYTES`` before decompressing and reads
    stop there, the member count and total declared size are bounded, and nested archives are
    never opened, so no bomb expands past those bounds. Nothing is ever extracted to disk.
    """
    if os.path.isdir(path):
        return _folder_tree(path)
    if zipfile.is_zipfile(path):
        return _zip_tree(path)
    if os.path.isfile(path) and _is_tar(path):
        return _tar_tree(path)
    raise SourceError(f"dir:{path} is neither a folder nor a .zip/.tar archive")


def _folder_tree(root: str) -> Tree:
    paths: list[str] = []
    skipped: Counter = Counter()
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in list(dirs):
            if os.path.islink(os.path.join(folder, name)):
                skipped["symlink"] += 1
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(folder, d)))
        for name in sorted(files):
            full = os.path.join(folder, name)
            try:
                mode = os.lstat(full).st_mode
            except OSError:
                skipped["unreadable"] += 1
                continue
            if stat.S_ISLNK(mode):
                skipped["symlink"] += 1
            elif not stat.S_ISREG(mode):
                skipped["special_file"] += 1
            else:
                paths.append(os.path.relpath(full, root).replace(os.sep, "/"))
    paths.sort()

    def read(rel: str) -> bytes:
        try:
            return read_beneath(root, rel, MAX_FILE_BYTES)
        except TooLarge:
            raise FileTooLarge(rel) from None

    return Tree(root, paths, read, skipped)


def safe_member_name(name: str) -> bool:
    """A member that would land inside the archive's own folder: relative, no ``..`` part."""
    try:
        confine(name)
    except Rejected:
        return False
    return True


def _bounded(path: str, count: int, total: int) -> None:
    if count > MAX_ARCHIVE_MEMBERS or total > MAX_ARCHIVE_BYTES:
        raise SourceError(f"dir:{path} declares {count} members / {total} bytes, over the bounds "
                          f"({MAX_ARCHIVE_MEMBERS} members, {MAX_ARCHIVE_BYTES} bytes): refusing a likely archive bomb")


def _zip_declared_entries(path: str) -> int:
    """Entries a zip's end-of-central-directory record declares (zip64 too), read before ``zipfile``
    parses the whole central directory into memory."""
    with io.open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - (1 << 16) - 22))
        tail = fh.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or end + 22 > len(tail):
        return 0
    entries = int.from_bytes(tail[end + 10:end + 12], "little")
    locator = tail.rfind(b"PK\x06\x07", 0, end)
    if entries == 0xFFFF and locator >= 0:
        with io.open(path, "rb") as fh:
            fh.seek(int.from_bytes(tail[locator + 8:locator + 16], "little"))
            record = fh.read(56)
        if record[:4] == b"PK\x06\x06":
            entries = int.from_bytes(record[32:40], "little")
    return entries


def _skip_reason(name: str, is_link: bool, is_regular: bool) -> str | None:
    """Why an archive member is left out (``None``: it is read)."""
    if not safe_member_name(name):
        return "unsafe_member"
    if is_link:
        return "symlink"
    return None if is_regular else "special_file"


def _archive_tree(path: str, entries: Iterable[tuple[str, int, str | None, Any]],
                  open_member: Callable[[Any], IO[bytes]]) -> Tree:
    """A tree over ``(name, size, skip reason, member)`` entries; directories come as no entry."""
    skipped: Counter = Counter()
    members: dict[str, tuple[int, Any]] = {}
    for name, size, reason, member in entries:
        if reason:
            skipped[reason] += 1
        else:
            members[name] = (size, member)

    def read(rel: str) -> bytes:
        size, member = members[rel]
        if size > MAX_FILE_BYTES:
            raise FileTooLarge(rel)
        with open_member(member) as fh:
            return fh.read(MAX_FILE_BYTES + 1)

    return Tree(path, sorted(members), read, skipped)


def _zip_tree(path: str) -> Tree:
    _bounded(path, _zip_declared_entries(path), 0)
    archive = zipfile.ZipFile(path)
    infos = [i for i in archive.infolist() if not i.is_dir()]
    _bounded(path, len(infos), sum(i.file_size for i in infos))
    entries = ((i.filename, i.file_size, _skip_reason(i.filename, stat.S_ISLNK(i.external_attr >> 16), True), i)
               for i in infos)
    return _archive_tree(path, entries, archive.open)


MAX_TAR_HEADER_BYTES = 64 << 10


class BoundedTarInfo(tarfile.TarInfo):
    """Long-name (GNU ``L``/``K``) and PAX records are read whole by ``tarfile``: refuse big ones
    before they are read, so a 1 MB archive cannot make the harvester allocate gigabytes."""

    def _proc_gnulong(self, tarfile_obj):
        self._refuse_big_header()
        return super()._proc_gnulong(tarfile_obj)

    def _proc_pax(self, tarfile_obj):
        self._refuse_big_header()
        return super()._proc_pax(tarfile_obj)

    def _refuse_big_header(self) -> None:
        if self.size > MAX_TAR_HEADER_BYTES:
            raise tarfile.HeaderError(f"a {self.size}-byte extended header (over {MAX_TAR_HEADER_BYTES})")


def _open_tar(path: str) -> tarfile.TarFile:
    try:
        return tarfile.open(path, tarinfo=BoundedTarInfo)
    except tarfile.HeaderError as exc:
        raise SourceError(f"dir:{path}: refusing a likely archive bomb: {exc}") from None


def _is_tar(path: str) -> bool:
    """``tarfile.is_tarfile`` without its unbounded header reads."""
    try:
        _open_tar(path).close()
        return True
    except tarfile.TarError:
        return False


def _tar_tree(path: str) -> Tree:
    archive = _open_tar(path)

    def entries() -> Iterator[tuple[str, int, str | None, tarfile.TarInfo]]:
        count = total = 0
        members = iter(archive)
        while True:  # headers are read one by one: a bomb is refused before it is listed whole
            try:
                member = next(members)
            except StopIteration:
                return
            except tarfile.HeaderError as exc:
                raise SourceError(f"dir:{path}: refusing a likely archive bomb: {exc}") from None
            count, total = count + 1, total + member.size
            _bounded(path, count, total)
            if not member.isdir():
                yield member.name, member.size, _skip_reason(member.name, member.issym() or member.islnk(),
                                                             member.isfile()), member

    return _archive_tree(path, entries(), archive.extractfile)


def text_of(tree: Tree, rel: str) -> str | None:
    try:
        data = tree.read(rel)
    except FileTooLarge:
        tree.skipped["too_large"] += 1
        return None
    except Rejected as exc:
        tree.skipped["symlink" if exc.reason == "symlink_in_path" else exc.reason] += 1
        return None
    except OSError:
        tree.skipped["unreadable"] += 1
        return None
    if len(data) > MAX_FILE_BYTES:
        tree.skipped["too_large"] += 1
        return None
    if b"\x00" in data[:8192]:
        tree.skipped["binary"] += 1
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        tree.skipped["undecodable"] += 1
        return None


def license_for(tree: Tree, rel: str, cache: dict[str, str]) -> str:
    """The licence of the nearest LICENSE/COPYING file above ``rel``; ``unknown`` if none."""
    folder = str(PurePosixPath(rel).parent)
    chain = []
    while True:
        if folder in cache:
            found = cache[folder]
            break
        chain.append(folder)
        hit = next((f"{folder}/{n}" if folder != "." else n for n in LICENSE_NAMES
                    if (f"{folder}/{n}" if folder != "." else n) in tree.path_set), None)
        if hit:
            text = text_of(tree, hit) or ""
            found = next((spdx for hint, spdx in SPDX_HINTS.items() if hint.lower() in text.lower()), f"see {hit}")
            break
        parent = str(PurePosixPath(folder).parent)
        if folder in (".", "") or parent == folder:
            found = "unknown"
            break
        folder = parent
    for f in chain:
        cache[f] = found
    return found


def harvested(rel: str) -> bool:
    """Whether a file can hold code units: a registered language's extension, or a container of one."""
    return language_of_file(rel) is not None


def units(tree: Tree, rel: str, text: str) -> Iterator[tuple[str, str, str, dict]]:
    """(lang, code, ref, meta) for each code unit in one file, by its language's ``file_units`` hook
    (the whole file where a language has none)."""
    lang = language_of_file(rel)
    if lang is not None:
        yield from LANGUAGES[lang].units_of_file(tree, rel, text)


def plotting_script_units(tree: Tree, rel: str, text: str) -> Iterator[tuple[str, str, str, dict]]:
    """A script that draws with matplotlib (or RDKit's drawing), with the helper modules beside it that it imports."""
    if MATPLOTLIB.search(text) or RDKIT_DRAW.search(text):
        folder = str(PurePosixPath(rel).parent)
        siblings = {PurePosixPath(o).stem: o for o in tree.python_by_folder.get(folder, []) if o != rel}
        helpers = needed_helpers(text, siblings, lambda path: text_of(tree, path))
        yield "python", text, rel, {"files": helpers} if helpers else {}


def page_units(tree: Tree, rel: str, text: str) -> Iterator[tuple[str, str, str, dict]]:
    """A page whole, with the files beside it that it names, and whether it loads remote assets."""
    meta: dict[str, Any] = {"remote_assets": True} if REMOTE_ASSET.search(text) else {}
    files = files_beside(tree, rel, text)
    if files:
        meta["files"] = files
    yield "html", text, rel, meta


def molecule_units(tree: Tree, rel: str, text: str) -> Iterator[tuple[str, str, str, dict]]:
    """A SMILES per molecule: a line of a .smi file, a row of a .csv file's SMILES column, a record of an SD file."""
    ext = PurePosixPath(rel).suffix.lower()
    if ext == ".csv":
        yield from csv_units(text, rel)
    elif ext == ".sdf":
        yield from sdf_units(text, rel, tree.skipped)
    else:
        for n, molecule in smi_molecules(text):
            yield "smiles", molecule, f"{rel}:{n}", {}


def files_beside(tree: Tree, rel: str, page: str) -> dict[str, bytes]:
    """The files of the tree that a page names by a relative path in or below its folder (a placeholder
    picture, a stylesheet, a font), as the page names them; served to that page only, when it renders.

    Bounded: at most ``MAX_BESIDE_FILES`` files and ``MAX_BESIDE_BYTES`` together, each read like any
    file of the tree (no link followed, ``MAX_FILE_BYTES`` each); what does not fit is counted in
    ``skipped`` as ``beside_over_limit``. Links to other pages are not carried.
    """
    folder = PurePosixPath(rel).parent
    found: dict[str, bytes] = {}
    total = 0
    for name in sorted(set(RELATIVE_REF.findall(page)) | set(CSS_URL.findall(page))):
        name = name.strip()
        if not name or ":" in name or name.startswith(("/", "#")) or language_of_path(name) == "html":
            continue
        local = posixpath.normpath(name)
        path = posixpath.normpath(str(folder / local))
        if local.startswith("..") or path not in tree.path_set or local in found:
            continue
        if len(found) >= MAX_BESIDE_FILES:
            tree.skipped["beside_over_limit"] += 1
            continue
        try:
            data = tree.read(path)
        except (FileTooLarge, OSError):
            tree.skipped["beside_over_limit"] += 1
            continue
        if total + len(data) > MAX_BESIDE_BYTES:
            tree.skipped["beside_over_limit"] += 1
            continue
        found[local] = data
        total += len(data)
    return found


def csv_units(text: str, rel: str) -> Iterator[tuple[str, str, str, dict]]:
    """A SMILES per row of the file's ``smiles`` column; a row ``csv`` cannot read (a field over its
    128 KiB limit, a NUL) ends the file as ``Rejected`` (its rows so far are kept)."""
    rows = csv.reader(io.StringIO(text))
    try:
        header = next(rows, [])
        column = next((i for i, h in enumerate(header) if h.strip().lower() in ("smiles", "canonical_smiles", "smi")), None)
        if column is not None:
            for n, row in enumerate(rows, start=2):
                if len(row) > column and row[column].strip():
                    yield "smiles", row[column].strip(), f"{rel}:{n}", {}
    except csv.Error as exc:
        raise Rejected("unreadable_csv", f"{rel} line {rows.line_num}: {exc}") from None


def smi_molecules(text: str) -> Iterator[tuple[int, str]]:
    """(line number, SMILES) of a .smi file: one molecule a line, ``SMILES [name]``; comments and a
    header line skipped."""
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#") and not line.lower().startswith("smiles"):
            yield n, line.split()[0]


def code_of_file(path: str | os.PathLike, lang: str) -> str:
    """One file's code as a renderer takes it (``vinci render``): a .smi file's first molecule,
    without its name; any other file whole."""
    with io.open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    read = LANGUAGES[lang].hook("file_code") if lang in LANGUAGES else None
    return read(text) if read else text


def first_molecule(text: str) -> str:
    """A .smi file's first molecule, without its name."""
    return next((molecule for _, molecule in smi_molecules(text)), "")


def spans(text: str, begin: str, end: str) -> Iterator[tuple[int, int]]:
    """(start, stop) of each ``begin ... end`` stretch, the shortest from each ``begin``, left to right,
    found with ``str.find`` (linear, where a lazy ``.*?`` regex rescans to the end from every unclosed
    ``begin``)."""
    pos = 0
    while (start := text.find(begin, pos)) >= 0:
        stop = text.find(end, start + len(begin))
        if stop < 0:
            return
        pos = stop + len(end)
        yield start, pos


def is_standalone(text: str) -> bool:
    """``\\documentclass[...]{standalone}`` or ``\\documentclass{standalone}``, in one pass."""
    mark, bracket = "\\documentclass", -1
    pos = 0
    while (i := text.find(mark, pos)) >= 0:
        pos = i + len(mark)
        if text.startswith("[", pos):
            if bracket < pos:
                bracket = text.find("]", pos)
                if bracket < 0:
                    return False
            after = bracket + 1
        else:
            after = pos
        if text.startswith("{standalone}", after):
            return True
    return False


def tikz_units(tree: Tree | None, rel: str, text: str) -> Iterator[tuple[str, str, str, dict]]:
    """Each ``tikzpicture`` of a document, extracted with the preamble lines it needs; a standalone
    document or a bare snippet whole."""
    has_class = "\\documentclass" in text
    pictures = list(spans(text, "\\begin{tikzpicture}", "\\end{tikzpicture}"))
    if not has_class or is_standalone(text):
        if pictures or "\\tikz" in text or "\\begin{axis}" in text:
            yield "latex", text, rel, {"unit": "document" if has_class else "snippet"}
        return
    head = text.partition("\\begin{document}")[0]
    preamble = "\n".join(m.group(0).strip() + line_rest(head, m.end()) for m in PREAMBLE_KEEP.finditer(head))
    if len(preamble) > MAX_PREAMBLE_CHARS:  # every picture carries the preamble: N pictures would cost N copies
        raise Rejected("preamble_too_large", f"{rel}: a {len(preamble):,}-character preamble (cap {MAX_PREAMBLE_CHARS:,})")
    line, counted = 1, 0
    for start, stop in pictures:
        first = line + text.count("\n", counted, start)
        last = first + text.count("\n", start, stop)
        line, counted = last, stop
        doc = ("\\documentclass[border=4pt]{standalone}\n" + preamble + "\n\\begin{document}\n" + text[start:stop] + "\n\\end{document}\n")
        yield "latex", doc, f"{rel}:{first}-{last}", {"unit": "extracted"}


def line_rest(text: str, pos: int) -> str:
    end = text.find("\n", pos)
    return text[pos:] if end == -1 else text[pos:end]


MAX_MOL_ATOMS, MAX_MOL_BONDS, MAX_MOL_BYTES = 500, 600, 256 << 10


def sdf_records(text: str) -> Iterator[str]:
    """The records of an SD file (each ends at a line starting ``$$$$``), in one pass."""
    record: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("$$$$"):
            yield "".join(record)
            record = []
        else:
            record.append(line)
    if "".join(record).strip():
        yield "".join(record)


def molblock_size(block: str) -> tuple[int, int] | None:
    """(atoms, bonds) a molfile declares (V2000 counts line or V3000 ``COUNTS``), read before RDKit
    sees it; ``None`` when it declares nothing readable."""
    lines = block.splitlines()
    if len(lines) < 4:
        return None
    counts = lines[3]
    try:
        if "V3000" in counts:
            line = next((ln for ln in lines[4:] if ln.startswith("M  V30 COUNTS")), None)
            if line is None:
                return None
            atoms, bonds = line.split()[3:5]
            return int(atoms), int(bonds)
        return int(counts[0:3]), int(counts[3:6])
    except ValueError:
        return None


def sdf_units(text: str, rel: str, skipped: Counter | None = None) -> Iterator[tuple[str, str, str, dict]]:
    """A SMILES per molecule of an SD file. RDKit parses and sanitises on the host (ring perception
    grows fast with bonds: 1,860 bonds take 9 s), so a record is parsed only when its size, atom and
    bond counts are within ``MAX_MOL_*``; larger ones are counted in ``skipped`` and left out."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    skipped = skipped if skipped is not None else Counter()
    for n, block in enumerate(sdf_records(text), start=1):
        size = molblock_size(block)
        if size is None:
            skipped["unreadable_molecule"] += 1
            continue
        if len(block) > MAX_MOL_BYTES or size[0] > MAX_MOL_ATOMS or size[1] > MAX_MOL_BONDS:
            skipped["molecule_too_large"] += 1
            continue
        try:
            mol = Chem.MolFromMolBlock(block)
        except Exception:  # noqa: BLE001 - RDKit raises a few types for malformed blocks; most give None
            mol = None
        if mol is None:
            skipped["unreadable_molecule"] += 1
        else:
            yield "smiles", Chem.MolToSmiles(mol), f"{rel}#mol{n}", {}


class FileSource:
    """Iterates the code units of a tree; ``skipped`` counts the files it had to leave out."""

    def __init__(self, path: str, start: int = 0):
        self.tree = open_tree(path)
        self.start = start
        self.skipped = self.tree.skipped
        self._before: Counter | None = Counter() if start == 0 else None

    def __iter__(self) -> Iterator[RawSample]:
        return islice(self._counted(), self.start, None)

    def _counted(self) -> Iterator[RawSample]:
        for index, sample in enumerate(self._all()):
            yield sample
            if index == self.start - 1:
                self._before = Counter(self.skipped)

    def skipped_in_slice(self) -> Counter:
        """Files skipped while this slice was read: after sample ``start - 1``, up to the last sample
        taken (or the end of the tree). Slices that follow each other count each skipped file once; a
        slice that starts past the end of the tree counts none."""
        return self.skipped - self._before if self._before is not None else Counter()

    def _all(self) -> Iterator[RawSample]:
        licenses: dict[str, str] = {}
        for rel in self.tree.paths:
            if not harvested(rel):
                continue
            text = text_of(self.tree, rel)
            if text is None:
                continue
            try:
                for lang, code, ref, meta in units(self.tree, rel, text):
                    yield RawSample(lang=lang, code=code, source=f"dir:{self.tree.name}", source_ref=ref,
                                    license=license_for(self.tree, rel, licenses), meta=meta)
            except Rejected as exc:  # the rest of this file only: its units so far are kept
                self.tree.skipped[exc.reason] += 1


def stream(rest: str, seed: int = 0, start: int = 0, **_options) -> FileSource:
    if not os.path.exists(rest):
        raise SourceError(f"dir:{rest} does not exist")
    return FileSource(rest, start)
