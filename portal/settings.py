"""Settings: one typed, frozen object built from the environment and an optional TOML file.

Nothing here runs at import time; callers build a ``Settings`` with
``Settings.from_env()`` (or construct one directly in tests) and pass it down.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nurture.targets import IPNetwork, parse_networks
from portal import i18n

ENV_PREFIX = "LEADSHELF_"
CONFIG_ENV = "LEADSHELF_CONFIG"
DEFAULT_CONFIG_FILE = "leadshelf.toml"


class SettingsError(ValueError):
    """A setting is missing, unknown or malformed; the message names the key."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything Leadshelf can be configured with (see CONTRACT.md, "Settings")."""

    data_dir: Path = field(default_factory=lambda: Path("data"))
    """Folder for the SQLite database, the search index, uploaded files and generated keys."""

    database_url: str = ""
    """SQLAlchemy URL; empty means ``sqlite:///<data_dir>/leadshelf.db``."""

    secret_keys: tuple[str, ...] = ()
    """Signing keys, newest last; empty means one key generated into the data dir."""

    base_url: str = "http://127.0.0.1:8000"
    """Public URL of the portal, used in links, cookies' Secure flag and emails; unset,
    ``leadshelf serve`` uses the address it listens on (``listening_url``)."""

    model: Path | None = None
    """Path of a TOML file overriding the journey and scoring model."""

    max_upload_mb: int = 50
    """Largest file an editor may upload (and the largest request body), in megabytes."""

    download_link_days: int = 7
    """How long a signed download link works, in days."""

    consent_mode: str = "notice"
    """``notice``: first-party tracking with a notice; ``opt-in``: nothing beyond the strictly
    necessary is stored until the visitor accepts the consent banner."""

    privacy_signals: str = "respect"
    """``respect``: browsers sending Do-Not-Track or Global Privacy Control are not tracked;
    ``ignore``: they are tracked like everyone else (where the law allows it)."""

    event_retention_days: int = 730
    """Raw events older than this are deleted; per-asset aggregates are kept."""

    beacon_per_minute: int = 120
    """Tracking beacons one visitor may send per minute (a reader sends about 5)."""

    outbox_in_process: bool = True
    """``true``: the app itself delivers webhooks (a background job), so ``leadshelf serve``
    alone is enough; ``false`` when separate ``leadshelf worker`` processes deliver."""

    jobs_in_process: bool = True
    """``true``: web processes also run the shared background jobs (publishing, re-scoring,
    retention, webhook delivery …); ``false`` (``serve --no-jobs``): only their own (event
    writer, search index, caches), and ``leadshelf worker`` runs the rest."""

    event_writer_process: bool = True
    """``true``: each web process stores tracked events through a writer process of its own,
    so committing them takes neither the pages' CPU nor their interpreter lock; ``false``:
    through a thread of the web process (fewer processes, for small machines)."""

    job_intervals: str = ""
    """Seconds between passes of named background jobs, overriding their defaults:
    ``lead-figures=60, scheduled-publishing=10`` (names on /console/system)."""

    webhook_allow_networks: str = ""
    """Comma-separated networks (``127.0.0.0/8, 10.20.0.0/16``) webhooks may reach although they
    are private, loopback, link-local or reserved; empty: public addresses only (SSRF guard)."""
    api_per_minute: int = 600
    """Calls one API token may make per minute (all worker processes together); over it, 429."""

    recycle_lost_after_days: int = 30
    """Days after a lost deal's ``closed_at`` its lead goes back to nurturing (``recycled``),
    unless another of its deals is open or won by then; ``0``: at once."""

    trusted_proxies: str = ""
    """Comma-separated addresses or networks of reverse proxies (``127.0.0.1, 10.0.0.0/8``) whose
    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed, so rate limits and sign-in
    throttling count the visitor's address, not the proxy's; ``*`` trusts every peer (only when
    nothing but the proxy can reach the portal); empty: the connecting address counts."""

    privacy_url: str = "/privacy"
    """The privacy policy every public form links to: a path on this site or an http(s) URL;
    the default is the built-in page, whose text an admin edits in the console."""

    smtp_url: str = ""
    """Where mail is sent: ``smtp://[user:pass@]host:port[?starttls=true]`` or ``smtps://…``;
    empty: mail waits in the outbox and /console/system says why (``serve --demo`` starts its
    own local catcher)."""

    mail_from: str = "Leadshelf <news@leadshelf.example>"
    """The sender of every mail, a name and an address: ``Pipewise <news@pipewise.example>``;
    bounces come back to ``bounces+TOKEN@`` its domain (VERP)."""

    mail_per_second: float = 0.0
    """Messages one sending process sends per second at most; 0: as fast as the server takes."""

    postal_address: str = ""
    """The postal address in every mail's footer (legally required for marketing mail, which is
    refused while it is empty)."""

    dkim_key_file: Path | None = None
    """PEM private key to DKIM-sign every mail with (with ``dkim_selector``); unset: unsigned."""

    dkim_selector: str = ""
    """The DKIM selector whose DNS record holds the public key (``mail`` for
    ``mail._domainkey.pipewise.example``)."""

    default_language: str = "en"
    """``en`` or ``de``: the language of mail to a lead whose language is not known yet."""

    mail_gated_downloads: bool = True
    """``true``: unlocking a gated asset with a file also mails "your copy of …" with the signed
    download link (a transactional mail, sent without marketing consent)."""

    brand_name: str = ""
    """The name mail and pages are signed with; empty: the sender name of ``mail_from``."""

    brand_color: str = "#1f5fbf"
    """The accent colour of mail buttons and headers, as ``#rrggbb``."""

    brand_logo_url: str = ""
    """An https URL of the logo shown at the top of every mail; empty: the brand name as text."""

    free_mail: str = "accept"
    """``accept``: the business email field of gate and Talk-to-sales forms takes free-mail
    addresses (gmail.com …) and flags the lead; ``refuse``: it asks for a business address.
    Disposable addresses are refused either way."""

    report_currency: str = "EUR"
    """The ISO 4217 currency of Console → Attribution's pipeline and revenue: deals in it count,
    deals in other currencies are left out (the report says so)."""

    def __post_init__(self) -> None:
        base = urlsplit(self.base_url)
        if base.scheme not in ("http", "https") or not base.netloc:
            raise SettingsError(f"base_url: expected http(s)://host[:port], got {self.base_url!r}")
        if self.database_url:
            normalize_database_url(self.database_url)
        _check_range("max_upload_mb", self.max_upload_mb, 1, 2048)
        _check_range("download_link_days", self.download_link_days, 1, 365)
        _check_range("event_retention_days", self.event_retention_days, 1, 36500)
        _check_range("beacon_per_minute", self.beacon_per_minute, 1, 1_000_000)
        _check_range("api_per_minute", self.api_per_minute, 1, 1_000_000)
        _check_range("recycle_lost_after_days", self.recycle_lost_after_days, 0, 3650)
        _check_page_url("privacy_url", self.privacy_url)
        self.interval_overrides()  # refuses a malformed value at start-up
        _check_choice("consent_mode", self.consent_mode, ("notice", "opt-in"))
        _check_choice("default_language", self.default_language, i18n.LANGUAGES)
        _check_mail_settings(self)
        _check_choice("privacy_signals", self.privacy_signals, ("respect", "ignore"))
        _check_choice("free_mail", self.free_mail, ("accept", "refuse"))
        if not re.fullmatch(r"[A-Z]{3}", self.report_currency):
            raise SettingsError(
                "report_currency: expected three capital letters (EUR), "
                f"got {self.report_currency!r}"
            )
        try:
            parse_networks(self.webhook_allow_networks)
        except ValueError as exc:
            raise SettingsError(f"webhook_allow_networks: {exc}") from None
        if self.trusted_proxies.strip() != "*":
            try:
                parse_networks(self.trusted_proxies)
            except ValueError as exc:
                raise SettingsError(f"trusted_proxies: {exc}") from None

    def interval_overrides(self) -> dict[str, float]:
        """``job_intervals`` as a mapping of job name to seconds (0.1 s to one day)."""
        overrides: dict[str, float] = {}
        for item in self.job_intervals.split(","):
            if not item.strip():
                continue
            name, sep, seconds = item.partition("=")
            try:
                value = float(seconds)
            except ValueError:
                value = -1.0
            if not sep or not name.strip() or not 0.1 <= value <= 86400:
                raise SettingsError(
                    f"job_intervals: expected name=seconds (0.1 to 86400), got {item.strip()!r}"
                )
            overrides[name.strip()] = value
        return overrides

    @property
    def resolved_database_url(self) -> str:
        """The database URL with the SQLite default filled in and driver names normalized."""
        if not self.database_url:
            return f"sqlite:///{(self.data_dir / 'leadshelf.db').resolve()}"
        return normalize_database_url(self.database_url)

    @property
    def secure_cookies(self) -> bool:
        """Cookies get the Secure flag when the portal is served over https."""
        return urlsplit(self.base_url).scheme == "https"

    @property
    def webhook_networks(self) -> tuple[IPNetwork, ...]:
        """The networks of ``webhook_allow_networks``."""
        return parse_networks(self.webhook_allow_networks)

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def search_dir(self) -> Path:
        return self.data_dir / "search"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some settings changed (used by the CLI and tests)."""
        return replace(self, **changes)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        config_file: Path | None = None,
        *,
        listening: tuple[str, int] | None = None,
    ) -> Settings:
        """Build settings from ``leadshelf.toml`` (if any), overridden by ``LEADSHELF_*`` variables.

        The TOML file is ``config_file``, else ``$LEADSHELF_CONFIG``, else
        ``./leadshelf.toml`` when it exists. Its keys are the setting names in
        lower case without the prefix (``database_url = "..."``). ``listening`` is the
        host and port ``leadshelf serve`` binds: when neither sets ``base_url``, the
        links point there.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        path = config_file or (Path(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
        if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
            path = Path(DEFAULT_CONFIG_FILE)
        if path is not None:
            values.update(_read_toml(path))
        for name in setting_names():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None and raw.strip() != "":
                values[name] = raw
        if listening is not None and "base_url" not in values:
            values["base_url"] = listening_url(*listening)
        return cls(**{name: _coerce(name, value) for name, value in values.items()})


def listening_url(host: str, port: int) -> str:
    """The portal's URL when it listens on ``host:port``: an any-address (``0.0.0.0``, ``::``)
    is reached at 127.0.0.1; an IPv6 address is bracketed."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104  (naming it, not binding it)
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _check_mail_settings(settings: Settings) -> None:
    """The mail settings are checked at start-up, so a typo never waits for the first send."""
    from nurture.mail.smtp import MailSettingError, parse_sender, parse_smtp_url

    try:
        if settings.smtp_url:
            parse_smtp_url(settings.smtp_url)
        parse_sender(settings.mail_from)
    except MailSettingError as exc:
        raise SettingsError(str(exc)) from None
    if not 0 <= settings.mail_per_second <= 100_000:
        raise SettingsError(
            f"mail_per_second: expected 0 to 100000, got {settings.mail_per_second}"
        )
    if bool(settings.dkim_key_file) != bool(settings.dkim_selector):
        raise SettingsError("dkim_key_file and dkim_selector: set both to sign mail, or neither")
    if settings.dkim_key_file is not None and not settings.dkim_key_file.is_file():
        raise SettingsError(f"dkim_key_file: {settings.dkim_key_file} is not a readable file")
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", settings.brand_color):
        raise SettingsError(f"brand_color: expected #rrggbb, got {settings.brand_color!r}")
    logo = urlsplit(settings.brand_logo_url)
    if settings.brand_logo_url and (logo.scheme != "https" or not logo.netloc):
        raise SettingsError(
            f"brand_logo_url: expected an https URL, got {settings.brand_logo_url!r}"
        )


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise SettingsError(f"{name}: expected {low} to {high}, got {value}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SettingsError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")


def _check_page_url(name: str, value: str) -> None:
    """A page visitors may follow: a path on this site or an absolute http(s) URL."""
    parts = urlsplit(value)
    if any(c.isspace() or c == "\\" or not c.isprintable() for c in value):
        raise SettingsError(f"{name}: spaces, backslashes and control characters need encoding")
    on_site = value.startswith("/") and not value.startswith("//") and not parts.netloc
    elsewhere = parts.scheme in ("http", "https") and bool(parts.netloc)
    if not (on_site or elsewhere):
        raise SettingsError(f"{name}: expected /path or http(s)://host/path, got {value!r}")


def setting_names() -> list[str]:
    """Names of all settings, in declaration order."""
    return [f.name for f in fields(Settings)]


def env_names() -> list[str]:
    """The environment variable of every setting (documented in README and --help)."""
    return [ENV_PREFIX + name.upper() for name in setting_names()]


def normalize_database_url(url: str) -> str:
    """Map the usual PostgreSQL spellings onto the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not url.startswith(("sqlite:", "postgresql+psycopg:")):
        raise SettingsError(
            "database_url: expected sqlite:///PATH or postgresql+psycopg://…, "
            f"got {url.split(':', 1)[0]}:…"
        )
    return url


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path}: {exc}") from None
    known = set(setting_names())
    for key in data:
        if key not in known:
            raise SettingsError(
                f"config file {path}: unknown key {key!r} (known: {', '.join(sorted(known))})"
            )
    return data


_INTEGER_SETTINGS = (
    "max_upload_mb",
    "download_link_days",
    "event_retention_days",
    "beacon_per_minute",
    "api_per_minute",
    "recycle_lost_after_days",
)


_BOOLEAN_SETTINGS = (
    "outbox_in_process",
    "jobs_in_process",
    "event_writer_process",
    "mail_gated_downloads",
)
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise SettingsError(f"{name}: expected true or false, got {value!r}")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise SettingsError(f"{name}: expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{name}: expected a number, got {value!r}") from None


def _coerce(name: str, value: Any) -> Any:
    """Turn a raw environment/TOML value into the type of the named setting."""
    if name in ("data_dir", "model", "dkim_key_file"):
        if not isinstance(value, str):
            raise SettingsError(f"{name}: expected a path string")
        return Path(value).expanduser()
    if name == "secret_keys":
        keys = value.split(",") if isinstance(value, str) else value
        if not isinstance(keys, list | tuple) or not all(isinstance(k, str) for k in keys):
            raise SettingsError("secret_keys: expected a comma-separated string or a list")
        cleaned = tuple(k.strip() for k in keys if k.strip())
        if any(len(k) < 16 for k in cleaned):
            raise SettingsError("secret_keys: every key must be at least 16 characters")
        return cleaned
    if name in _BOOLEAN_SETTINGS:
        return _boolean(name, value)
    if name in ("webhook_allow_networks", "trusted_proxies") and isinstance(value, list):
        return ",".join(str(item) for item in value)
    if name in _INTEGER_SETTINGS:
        return _whole_number(name, value)
    if name == "mail_per_second":
        return _number(name, value)
    if not isinstance(value, str):
        raise SettingsError(f"{name}: expected a string")
    return value


def _whole_number(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise SettingsError(f"{name}: expected a whole number, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{name}: expected a whole number, got {value!r}") from None
