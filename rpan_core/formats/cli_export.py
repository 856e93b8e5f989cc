"""``rpan export`` (the `rpan` command table names one module per command): see rpan_core.formats.cli."""

from rpan_core.formats.cli import configure_export_parser as configure_parser
from rpan_core.formats.cli import export_main as cli_main

__all__ = ["configure_parser", "cli_main"]
