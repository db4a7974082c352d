"""Writing outputs without losing anything (no ROS imports).

- An output never resolves to, nor lies inside, an input path.
- An existing file is replaced only when the caller allows it (``--overwrite``).
- Files are written atomically: a temporary file in the same folder, then a rename. The rename replaces a
  symlink itself, so a link planted in the output folder is never followed out of it.
- Every check runs before any work, and every failure is an ``InputError`` naming the path.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import InputError

IMAGE_OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
OVERWRITE_HELP = "replace existing output files"


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    """The one ``--overwrite`` flag of every command that writes files."""
    parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


def existing_paths(paths: Iterable[str | Path | None]) -> list[Path]:
    """The given paths that exist (inputs named on the command line; names that are not paths drop out)."""
    return [Path(p) for p in paths if p and Path(p).exists()]


def check_not_input(out: str | Path, inputs: Iterable[str | Path]) -> None:
    """Refuse an output that resolves to, or lies inside, one of ``inputs`` (files or folders)."""
    target = Path(out).resolve()
    for given in inputs:
        source = Path(given).resolve()
        if target == source or source in target.parents:
            raise InputError(f"{out}: refusing to write over or inside the input {given}")


def check_writable_folder(folder: str | Path) -> None:
    """Refuse a folder that cannot be created or written: its nearest existing ancestor must be a writable
    folder (a file on the way, a read-only mount or missing permissions are named)."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():
            raise InputError(f"{existing}: a dangling symlink on the output path")
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{folder}: cannot create the output folder, {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{folder}: not writable ({existing} is read-only or not ours)")


def check_file_output(path: str | Path, inputs: Iterable[str | Path], overwrite: bool,
                      suffixes: tuple[str, ...] | None = IMAGE_OUTPUT_SUFFIXES) -> Path:
    """Check one output file before any work: its kind (``suffixes``, None: any), not an input, not an
    existing folder, no silent overwrite, a writable folder. Returns the path."""
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise InputError(f"{path}: output must be an image file ({', '.join(suffixes)})")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected an output file name")
    check_not_input(path, inputs)
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise InputError(f"{path}: already exists (use --overwrite to replace it)")
    check_writable_folder(path.parent)
    return path


def check_folder_output(folder: str | Path, inputs: Iterable[str | Path], files: Iterable[str],
                        overwrite: bool) -> Path:
    """Check an output folder and the ``files`` (names) to be written in it, before any work."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: is a file, expected an output folder")
    inputs = list(inputs)
    check_not_input(folder, inputs)
    check_writable_folder(folder)
    existing = [name for name in files if (folder / name).exists() or (folder / name).is_symlink()]
    if existing and not overwrite:
        raise InputError(f"{folder}: {len(existing)} output file(s) already exist, e.g. {existing[0]} "
                         "(use --overwrite to replace them)")
    return folder


def check_run_folder(folder: str | Path, inputs: Iterable[str | Path], overwrite: bool) -> Path:
    """Check the output folder of a command whose file names depend on the run (eval, train): it is refused
    when it already holds anything, unless ``overwrite``."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: is a file, expected an output folder")
    check_not_input(folder, inputs)
    check_writable_folder(folder)
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise InputError(f"{folder}: is not empty (use --overwrite to replace its files)")
    return folder


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary name beside ``path``; renamed onto ``path`` when the block succeeds, removed otherwise."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as err:
        raise InputError(f"{path}: cannot write ({err.strerror or err})") from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)  # replaces a symlink at ``path`` itself, never its target
    except OSError as err:
        raise InputError(f"{path}: cannot write ({err.strerror or err})") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (flushed to disk before the rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)
