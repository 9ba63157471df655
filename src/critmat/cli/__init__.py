"""Command-line interface (Typer + Rich): thin commands over the library."""
