"""IR/VIS pair folders (``ir/`` + ``vi/``) and the shared research data (no ROS imports)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
VIS_DIR_NAMES = ("vi", "vis", "visible")
IR_DIR_NAMES = ("ir", "infrared")
EVAL_SETS = ("roadscene", "msrs_test", "llvip_test12", "m3fd_sample1")
TRAIN_SETS = ("msrs_train30", "llvip_train32")
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Pair:
    name: str
    ir: Path
    vis: Path


def shared_root() -> Path | None:
    """The shared data folder: $SGDFUSE_SHARED, else ``../shared`` beside the source checkout."""
    env = os.environ.get("SGDFUSE_SHARED")
    candidates = [Path(env)] if env else [REPO_ROOT.parent / "shared", Path.cwd().parent / "shared"]
    return next((c for c in candidates if (c / "data").is_dir()), None)


def resolve_dataset(name_or_path: str | Path) -> Path:
    """A folder with ``ir/`` + ``vi/``: an existing path, or the name of a set under shared/data/ivif."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    root = shared_root()
    if root is not None and (root / "data" / "ivif" / str(name_or_path)).is_dir():
        return root / "data" / "ivif" / str(name_or_path)
    raise InputError(f"dataset {name_or_path!r}: not a folder, nor a set under shared/data/ivif "
                     "(set SGDFUSE_SHARED to the folder that holds data/)")


def _subdir(folder: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        if (folder / name).is_dir():
            return folder / name
    raise InputError(f"{folder}: expected a subfolder named one of {', '.join(names)}")


def _images_by_stem(folder: Path) -> dict[str, Path]:
    """Image files by name without suffix; two files sharing a name (``x.png``, ``x.jpg``) are an error."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if path.stem in found:
            raise InputError(f"{folder}: {found[path.stem].name} and {path.name} share the pair name "
                             f"{path.stem!r}: keep one")
        found[path.stem] = path
    return found


def find_pairs(folder: str | Path) -> tuple[list[Pair], list[str]]:
    """Pairs of ``folder/ir/NAME.*`` + ``folder/vi/NAME.*`` sorted by name, and the names found on one side only."""
    folder = resolve_dataset(folder)
    ir = _images_by_stem(_subdir(folder, IR_DIR_NAMES))
    vis = _images_by_stem(_subdir(folder, VIS_DIR_NAMES))
    pairs = [Pair(stem, ir[stem], vis[stem]) for stem in sorted(ir.keys() & vis.keys())]
    unmatched = sorted(
        [f"{p.parent.name}/{p.name}" for s, p in ir.items() if s not in vis]
        + [f"{p.parent.name}/{p.name}" for s, p in vis.items() if s not in ir]
    )
    if not pairs:
        raise InputError(f"{folder}: no IR/VIS pairs with matching names")
    return pairs, unmatched
