"""The ``sgdfuse`` command: one entry point, one module per subcommand.

Each module in ``SUBCOMMANDS`` defines ``add_parser(subparsers)`` (which sets ``func`` on its parser) and
keeps heavy imports (torch, rclpy) inside its ``run`` function, so ``sgdfuse --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
import traceback
from collections.abc import Sequence

from .. import __version__
from ..errors import SGDFuseError

SUBCOMMANDS = ("fuse", "calibrate", "eval", "grid", "demo", "train", "select", "ship", "export", "bench", "bag")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sgdfuse", description="Infrared/visible image fusion (SGDFuse).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    return parser


class Terminated(BaseException):
    """SIGTERM, raised as an exception so that partial outputs are cleaned up like on Ctrl-C."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """Run a subcommand. Every failure is one line on stderr naming the file or option and a non-zero exit:
    2 for a bad input, option or checkpoint, 1 for anything unexpected (``--debug`` adds the traceback),
    130 after Ctrl-C and 143 after SIGTERM."""
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(message)s")
    in_main_thread = threading.current_thread() is threading.main_thread()  # where signal handlers can be set
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        return int(args.func(args) or 0)
    except SGDFuseError as err:
        _report(args, str(err))
        return 2
    except KeyboardInterrupt:
        _report(args, "interrupted (Ctrl-C)")
        return 130
    except Terminated:
        _report(args, "terminated (SIGTERM)")
        return 143
    except Exception as err:  # a bug or an environment problem: still one line unless --debug
        _report(args, f"{type(err).__name__}: {err}" + ("" if args.debug else " (--debug shows the traceback)"))
        return 1
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _report(args: argparse.Namespace, message: str) -> None:
    if args.debug:
        traceback.print_exc()
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"sgdfuse {args.command}: error: {first}", file=sys.stderr)

