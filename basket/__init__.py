"""Shared core of the market basket pipeline: configuration, schemas, layout and CLI."""

__version__ = "0.1.0"
