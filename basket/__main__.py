"""``python -m basket``: the same command line as ``basket``."""

from basket.cli import main

if __name__ == "__main__":
    main()
