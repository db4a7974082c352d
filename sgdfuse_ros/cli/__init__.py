"""The ``sgdfuse`` command: one entry point, one module per subcommand.

Each module in ``SUBCOMMANDS`` defines ``add_parser(subparsers)`` (which sets ``func`` on its parser) and
keeps heavy imports (torch, rclpy) inside its ``run`` function, so ``sgdfuse --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import SGDFuseError

SUBCOMMANDS = ("fuse", "calibrate", "eval", "grid", "demo", "train", "select", "ship", "export", "bench", "bag")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sgdfuse", description="Infrared/visible image fusion (SGDFuse).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(message)s")
    try:
        return int(args.func(args) or 0)
    except SGDFuseError as err:
        print(f"sgdfuse {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

