"""Arguments shared by several subcommands."""

from __future__ import annotations

import argparse


def add_pipeline_args(parser: argparse.ArgumentParser, multiple: bool = False) -> None:
    if multiple:
        parser.add_argument("--methods", default="average,gff",
                            help="comma-separated pipelines: preset or method names, or .yaml configs")
    else:
        parser.add_argument("--pipeline", default="default",
                            help="preset or method name, or a .yaml config (default: best shipped pipeline)")
