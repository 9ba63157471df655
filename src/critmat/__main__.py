"""Allow ``python -m critmat``."""

from critmat.cli.app import main

if __name__ == "__main__":
    main()
