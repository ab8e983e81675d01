"""``leadshelf accounts``: the companies leads belong to (``tracking.accounts``)."""

from __future__ import annotations

import click

from portal import account_jobs
from portal.cli_support import friendly_errors, open_database, settings_for
from tracking.rules.config_file import load_model


@click.group(help="Accounts: the companies leads belong to, by email domain or by hand.")
def accounts() -> None:
    pass


@accounts.command(
    "backfill",
    help="Put every lead without an account in the account of its email's business domain "
    "(free-mail and disposable addresses join none), then recompute every account's figures. "
    "Idempotent; the account-figures job does the same bit by bit.",
)
@click.pass_context
def backfill(ctx: click.Context) -> None:
    settings = settings_for(ctx)
    with friendly_errors():
        model = load_model(settings.model)
    database = open_database(settings)
    try:
        placed, made = account_jobs.backfill(database, model)
    finally:
        database.dispose()
    click.echo(f"{placed} lead(s) in {made} account(s).")
