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

from core.errors import SourceError
from core.languages import language_of_path

from .base import RawSample
from .imports import needed_helpers

MAX_FILE_BYTES = 2 << 20
LICENSE_NAMES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING", "COPYING.txt")
MATPLOTLIB = re.compile(r"^\s*(import matplotlib|from matplotlib|import pylab|from pylab)", re.M)
RDKIT_DRAW = re.compile(r"^\s*from rdkit\.Chem import .*Draw|^\s*from rdkit\.Chem\.Draw import", re.M)
REMOTE_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']?(https?:)?//""", re.I)
RELATIVE_REF = re.compile(r"""(?:src|href|poster|data)\s*=\s*["']?([^"'\s>?#]+)""", re.I)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')?#]+)""", re.I)
MAX_BESIDE_FILES = 32
MAX_BESIDE_BYTES = 8 << 20
TIKZ_BLOCK = re.compile(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.S)
PREAMBLE_KEEP = re.compile(r"^\s*\\(usepackage|usetikzlibrary|usepgfplotslibrary|pgfplotsset|tikzset|definecolor|colorlet|"
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


class FileTooLarge(Exception):
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
        fd = open_beneath(root, rel)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(f"{rel} is not a regular file")
            if info.st_size > MAX_FILE_BYTES:
                raise FileTooLarge(rel)
            with os.fdopen(fd, "rb", closefd=False) as fh:
                return fh.read(MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)

    return Tree(root, paths, read, skipped)


def open_beneath(root: str, rel: str) -> int:
    """Open ``root/rel`` one component at a time with ``O_NOFOLLOW``: a folder swapped for a link
    after the tree was listed fails to open instead of leading outside the tree."""
    parts = PurePosixPath(rel).parts
    if not parts or any(part in ("..", "/") for part in parts):
        raise OSError(f"{rel}: not a path inside the tree")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = child
        return os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    finally:
        os.close(fd)


def safe_member_name(name: str) -> bool:
    """A member that would land inside the archive's own folder: relative, no ``..`` part."""
    posix = PurePosixPath(name.replace("\\", "/"))
    return bool(name) and not posix.is_absolute() and ".." not in posix.parts and not re.match(r"^[A-Za-z]:", name)


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


MOLECULE_TABLES = (".csv", ".sdf")  # containers of molecules beside the registry's own extensions


def harvested(rel: str) -> bool:
    """Whether a file can hold code units: a registered language's extension, or a molecule table."""
    return language_of_path(rel) is not None or PurePosixPath(rel).suffix.lower() in MOLECULE_TABLES


def units(tree: Tree, rel: str, text: str) -> Iterator[tuple[str, str, str, dict]]:
    """(lang, code, ref, meta) for each code unit in one file; a language without a special case is the whole file."""
    ext = PurePosixPath(rel).suffix.lower()
    lang = language_of_path(rel)
    if ext == ".csv":
        yield from csv_units(text, rel)
    elif ext == ".sdf":
        yield from sdf_units(text, rel)
    elif lang == "python":
        if MATPLOTLIB.search(text) or RDKIT_DRAW.search(text):
            folder = str(PurePosixPath(rel).parent)
            siblings = {PurePosixPath(o).stem: o for o in tree.python_by_folder.get(folder, []) if o != rel}
            helpers = needed_helpers(text, siblings, lambda path: text_of(tree, path))
            yield "python", text, rel, {"files": helpers} if helpers else {}
    elif lang == "html":
        meta: dict[str, Any] = {"remote_assets": True} if REMOTE_ASSET.search(text) else {}
        files = files_beside(tree, rel, text)
        if files:
            meta["files"] = files
        yield "html", text, rel, meta
    elif lang == "latex":
        yield from tikz_units(text, rel)
    elif lang == "smiles":
        for n, molecule in smi_molecules(text):
            yield "smiles", molecule, f"{rel}:{n}", {}
    elif lang is not None:
        yield lang, text, rel, {}


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
    rows = csv.reader(io.StringIO(text))
    header = next(rows, [])
    column = next((i for i, h in enumerate(header) if h.strip().lower() in ("smiles", "canonical_smiles", "smi")), None)
    if column is not None:
        for n, row in enumerate(rows, start=2):
            if len(row) > column and row[column].strip():
                yield "smiles", row[column].strip(), f"{rel}:{n}", {}


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
    if lang == "smiles":
        return next((molecule for _, molecule in smi_molecules(text)), "")
    return text


def tikz_units(text: str, rel: str) -> Iterator[tuple[str, str, str, dict]]:
    has_class = "\\documentclass" in text
    pictures = list(TIKZ_BLOCK.finditer(text))
    if not has_class or re.search(r"\\documentclass(\[[^\]]*\])?\{standalone\}", text):
        if pictures or "\\tikz" in text or "\\begin{axis}" in text:
            yield "latex", text, rel, {"unit": "document" if has_class else "snippet"}
        return
    head = text.split("\\begin{document}")[0]
    preamble = "\n".join(m.group(0).strip() + line_rest(head, m.end()) for m in PREAMBLE_KEEP.finditer(head))
    for picture in pictures:
        first = text.count("\n", 0, picture.start()) + 1
        last = text.count("\n", 0, picture.end()) + 1
        doc = ("\\documentclass[border=4pt]{standalone}\n" + preamble + "\n\\begin{document}\n" + picture.group(0) + "\n\\end{document}\n")
        yield "latex", doc, f"{rel}:{first}-{last}", {"unit": "extracted"}


def line_rest(text: str, pos: int) -> str:
    end = text.find("\n", pos)
    return text[pos:] if end == -1 else text[pos:end]


def sdf_units(text: str, rel: str) -> Iterator[tuple[str, str, str, dict]]:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    supplier = Chem.SDMolSupplier()
    supplier.SetData(text)
    for n, mol in enumerate(supplier, start=1):
        if mol is not None:
            yield "smiles", Chem.MolToSmiles(mol), f"{rel}#mol{n}", {}


class FileSource:
    """Iterates the code units of a tree; ``skipped`` counts the files it had to leave out."""

    def __init__(self, path: str, start: int = 0):
        self.tree = open_tree(path)
        self.start = start
        self.skipped = self.tree.skipped

    def __iter__(self) -> Iterator[RawSample]:
        return islice(self._all(), self.start, None)

    def _all(self) -> Iterator[RawSample]:
        licenses: dict[str, str] = {}
        for rel in self.tree.paths:
            if not harvested(rel):
                continue
            text = text_of(self.tree, rel)
            if text is None:
                continue
            for lang, code, ref, meta in units(self.tree, rel, text):
                yield RawSample(lang=lang, code=code, source=f"dir:{self.tree.name}", source_ref=ref,
                                license=license_for(self.tree, rel, licenses), meta=meta)


def stream(rest: str, seed: int = 0, start: int = 0, **_options) -> FileSource:
    if not os.path.exists(rest):
        raise SourceError(f"dir:{rest} does not exist")
    return FileSource(rest, start)
