"""``leadshelf user`` and ``leadshelf token``: staff users and API tokens."""

from __future__ import annotations

import sys

import click

from portal.accounts import service
from portal.accounts.models import Role
from portal.cli_support import CliError, settings_for, with_session


@click.group(help="Manage staff users.")
def user() -> None:
    pass


def _read_password(prompt: bool) -> str:
    if sys.stdin.isatty() and prompt:
        value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return value
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise CliError("no password given on standard input")
    return value


@user.command(
    "add",
    help="Create a staff user. The password is read from stdin or prompted, never from arguments.",
)
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", default="", help="Display name (default: from the email).")
@click.pass_context
def user_add(ctx: click.Context, email: str, role: str, name: str) -> None:
    settings = settings_for(ctx)
    password = _read_password(prompt=True)
    with_session(
        settings, lambda session: service.create_user(session, email, role, password, name)
    )
    click.echo(f"Staff user {service.normalize_email(email)} ({role}) created.")


@user.command(
    "password", help="Set a staff user's password (from stdin or prompted) and end their sessions."
)
@click.argument("email")
@click.pass_context
def user_password(ctx: click.Context, email: str) -> None:
    settings = settings_for(ctx)
    password = _read_password(prompt=True)
    with_session(settings, lambda session: service.set_password(session, email, password))
    click.echo(f"Password of {service.normalize_email(email)} changed; their sessions were ended.")


@click.group(help="Manage API tokens for /api/v1.")
def token() -> None:
    pass


@token.command("add", help="Create an API token; it is printed once and stored only as a hash.")
@click.argument("name")
@click.option(
    "--scope",
    type=click.Choice(["read", "write"]),
    default="write",
    show_default=True,
    help="read: GET calls only; write: also import events and move lifecycles.",
)
@click.pass_context
def token_add(ctx: click.Context, name: str, scope: str) -> None:
    settings = settings_for(ctx)
    value = with_session(settings, lambda session: service.create_token(session, name, scope))
    click.echo(value)
    click.echo(
        f"API token {name!r} ({scope}) created. Copy it now: it cannot be shown again.", err=True
    )


@token.command("revoke", help="Revoke an API token by name; calls with it get 401 from then on.")
@click.argument("name")
@click.pass_context
def token_revoke(ctx: click.Context, name: str) -> None:
    settings = settings_for(ctx)
    with_session(settings, lambda session: service.revoke_token(session, name))
    click.echo(f"API token {name!r} revoked.")
