"""``python -m helicone_nb.cli``: the same as the ``helicone-nb`` command."""

from . import main

if __name__ == "__main__":
    raise SystemExit(main())
