"""The ``basket`` command line: thin commands over :mod:`basket_pipeline` and the stages."""

from basket_core import __version__

__all__ = ["__version__"]
