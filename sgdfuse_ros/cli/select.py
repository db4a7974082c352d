"""``sgdfuse select``: model selection on the train split's validation set (``training.select``'s rule)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..options import split_list
from ..outputs import add_overwrite_argument


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("select", help="pick the best checkpoint or pipeline on the validation set",
                       description="Score candidates and baselines on the train split's validation set (never "
                                   "an evaluation set) and select by wins over the baselines (docs/stage1.md).")
    p.add_argument("candidates", nargs="+", help="checkpoints (.pt) or pipeline specs")
    p.add_argument("--baselines", help="comma-separated pipeline specs (default: average,gff)")
    p.add_argument("--max-nr", type=float,
                   help="noise gate: a candidate whose median NR in a validation group is above this wins nothing "
                        "there (default training.select.MAX_NR = 1.0; inf turns the gate off)")
    p.add_argument("--out", type=Path, required=True, help="folder for selection.json")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..outputs import check_folder_output, existing_paths
    from ..training.select import BASELINES, MAX_NR, report, select

    check_folder_output(args.out, existing_paths(args.candidates), ["selection.json"], args.overwrite)
    baselines = BASELINES if args.baselines is None else tuple(split_list(args.baselines))
    if not baselines:
        raise ConfigError("--baselines needs at least one pipeline")
    max_nr = MAX_NR if args.max_nr is None else args.max_nr
    if not max_nr > 0:
        raise ConfigError(f"--max-nr must be > 0, got {max_nr}")
    report(select(args.candidates, baselines, max_nr=max_nr), args.out)
    return 0
