"""The ``aquarium`` command line (Typer); ``main`` is the console script's entry point."""

from aquarium.cli.data import app, main

__all__ = ["app", "main"]
