"""The `mianshen` command: one entry point for every job."""

from mianshen.cli.main import main

__all__ = ["main"]
