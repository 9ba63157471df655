"""Allow ``python -m critmat``."""

from critmat.cli.app import main

main()
