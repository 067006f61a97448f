"""The version of helicone_nb, in one place (pyproject.toml reads it)."""

__version__ = "0.1.0"
