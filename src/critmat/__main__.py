"""Allow ``python -m critmat``."""

from critmat.cli import main

if __name__ == "__main__":
    main()
