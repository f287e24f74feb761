"""`python -m shian.cli ...`: the same as the `shian` command."""

from shian.cli import main

if __name__ == "__main__":
    main()
