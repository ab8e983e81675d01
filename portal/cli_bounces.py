"""``leadshelf bounces …``: (filled in by its feature)."""

from __future__ import annotations

import click


@click.group(help="Bounces: the receiver of DSNs and complaints (VERP return path).")
def bounces() -> None:
    pass
