"""``python -m dbenv``: the same as the ``dbenv`` console script."""

from dbenv.cli import main

if __name__ == "__main__":
    main()
