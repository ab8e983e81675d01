"""``leadshelf mail …``: (filled in by its feature)."""

from __future__ import annotations

import click


@click.group(help="Mail: send a test message through the configured SMTP server.")
def mail() -> None:
    pass
