"""Leadshelf portal: HTTP, composition root, settings, database wiring and CLI."""

__version__ = "0.1.0"
