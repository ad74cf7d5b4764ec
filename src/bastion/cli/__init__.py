"""Command line: one Typer module per command group."""
