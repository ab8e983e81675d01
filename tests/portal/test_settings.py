"""Settings come from LEADSHELF_* variables over an optional TOML file; bad values are refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nurture.mail.smtp import parse_smtp_url
from portal.settings import Settings, SettingsError, env_names, normalize_database_url

REPO_ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 16


@pytest.fixture(autouse=True)
def _no_config_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """from_env looks for ./leadshelf.toml; run every test in an empty folder."""
    monkeypatch.chdir(tmp_path)


def write_toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "leadshelf.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_defaults_put_the_sqlite_database_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env(environ={})

    assert settings.data_dir == Path("data")
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.secret_keys == ()
    assert (
        settings.resolved_database_url
        == f"sqlite:///{(tmp_path / 'data' / 'leadshelf.db').resolve()}"
    )
    assert settings.is_sqlite
    assert not settings.secure_cookies


def test_env_names_cover_every_setting() -> None:
    assert env_names() == [
        "LEADSHELF_DATA_DIR",
        "LEADSHELF_DATABASE_URL",
        "LEADSHELF_SECRET_KEYS",
        "LEADSHELF_BASE_URL",
        "LEADSHELF_MODEL",
        "LEADSHELF_MAX_UPLOAD_MB",
        "LEADSHELF_DOWNLOAD_LINK_DAYS",
        "LEADSHELF_CONSENT_MODE",
        "LEADSHELF_PRIVACY_SIGNALS",
        "LEADSHELF_EVENT_RETENTION_DAYS",
        "LEADSHELF_BEACON_PER_MINUTE",
        "LEADSHELF_OUTBOX_IN_PROCESS",
        "LEADSHELF_JOBS_IN_PROCESS",
        "LEADSHELF_EVENT_WRITER_PROCESS",
        "LEADSHELF_JOB_INTERVALS",
        "LEADSHELF_WEBHOOK_ALLOW_NETWORKS",
        "LEADSHELF_API_PER_MINUTE",
        "LEADSHELF_RECYCLE_LOST_AFTER_DAYS",
        "LEADSHELF_TRUSTED_PROXIES",
        "LEADSHELF_PRIVACY_URL",
        "LEADSHELF_SMTP_URL",
        "LEADSHELF_MAIL_FROM",
        "LEADSHELF_MAIL_PER_SECOND",
        "LEADSHELF_POSTAL_ADDRESS",
        "LEADSHELF_DKIM_KEY_FILE",
        "LEADSHELF_DKIM_SELECTOR",
        "LEADSHELF_DEFAULT_LANGUAGE",
        "LEADSHELF_MAIL_GATED_DOWNLOADS",
        "LEADSHELF_BRAND_NAME",
        "LEADSHELF_BRAND_COLOR",
        "LEADSHELF_BRAND_LOGO_URL",
        "LEADSHELF_FREE_MAIL",
        "LEADSHELF_REPORT_CURRENCY",
    ]


def test_toml_file_keys_are_read(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        'data_dir = "/srv/leadshelf"\n'
        'base_url = "https://content.example.com"\n'
        f'secret_keys = ["{"a" * 16}", "{"b" * 16}"]\n'
        'model = "model.toml"\n',
    )

    settings = Settings.from_env(environ={}, config_file=path)

    assert settings.data_dir == Path("/srv/leadshelf")
    assert settings.base_url == "https://content.example.com"
    assert settings.secret_keys == ("a" * 16, "b" * 16)
    assert settings.model == Path("model.toml")


def test_leadshelf_toml_in_the_working_directory_is_found(tmp_path: Path) -> None:
    write_toml(tmp_path, 'base_url = "https://found.example.com"\n')

    assert Settings.from_env(environ={}).base_url == "https://found.example.com"


def test_config_file_named_by_leadshelf_config(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('base_url = "https://named.example.com"\n', encoding="utf-8")

    settings = Settings.from_env(environ={"LEADSHELF_CONFIG": str(path)})

    assert settings.base_url == "https://named.example.com"


def test_environment_overrides_toml_and_blank_variables_are_ignored(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'base_url = "https://toml.example.com"\ndata_dir = "/from/toml"\n')
    environ = {"LEADSHELF_BASE_URL": "https://env.example.com", "LEADSHELF_DATA_DIR": "  "}

    settings = Settings.from_env(environ=environ, config_file=path)

    assert settings.base_url == "https://env.example.com"
    assert settings.data_dir == Path("/from/toml")


def test_unknown_toml_key_is_refused_by_name(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'databse_url = "sqlite:///x.db"\n')

    with pytest.raises(SettingsError, match="databse_url") as excinfo:
        Settings.from_env(environ={}, config_file=path)
    assert "unknown key" in str(excinfo.value)


def test_malformed_toml_is_refused_with_the_file_name(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "base_url = \n")

    with pytest.raises(SettingsError, match=r"leadshelf\.toml"):
        Settings.from_env(environ={}, config_file=path)


def test_missing_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        Settings.from_env(environ={}, config_file=tmp_path / "nope.toml")


def test_wrongly_typed_toml_value_is_refused_by_name(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "base_url = 8000\n")

    with pytest.raises(SettingsError, match="base_url"):
        Settings.from_env(environ={}, config_file=path)


@pytest.mark.parametrize(
    "base_url", ["garbage", "ftp://example.com", "https://", "example.com:8000"]
)
def test_bad_base_url_is_refused(base_url: str) -> None:
    with pytest.raises(SettingsError, match="base_url"):
        Settings.from_env(environ={"LEADSHELF_BASE_URL": base_url})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/leadshelf", "postgresql+psycopg://u:p@db:5432/leadshelf"),
        ("postgresql://u@db/leadshelf", "postgresql+psycopg://u@db/leadshelf"),
        ("postgresql+psycopg://u@db/leadshelf", "postgresql+psycopg://u@db/leadshelf"),
        ("sqlite:////var/lib/leadshelf.db", "sqlite:////var/lib/leadshelf.db"),
    ],
)
def test_database_urls_are_normalized_to_psycopg(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected
    settings = Settings.from_env(environ={"LEADSHELF_DATABASE_URL": given})
    assert settings.resolved_database_url == expected
    assert settings.is_sqlite == expected.startswith("sqlite")


@pytest.mark.parametrize("url", ["mysql://x", "postgresql+psycopg2://u@db/x", "leadshelf.db"])
def test_unsupported_database_url_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="database_url"):
        Settings(database_url=url).resolved_database_url  # noqa: B018


def test_secret_keys_are_split_on_commas_newest_last() -> None:
    keys = f" {'a' * 16} ,{'b' * 20},"

    settings = Settings.from_env(environ={"LEADSHELF_SECRET_KEYS": keys})

    assert settings.secret_keys == ("a" * 16, "b" * 20)


def test_short_secret_key_is_refused() -> None:
    with pytest.raises(SettingsError, match="secret_keys"):
        Settings.from_env(environ={"LEADSHELF_SECRET_KEYS": f"{GOOD_KEY},tooshort"})


@pytest.mark.parametrize(
    ("base_url", "secure"),
    [
        ("https://content.example.com", True),
        ("http://content.example.com", False),
        ("http://127.0.0.1:8000", False),
    ],
)
def test_cookies_are_secure_when_served_over_https(base_url: str, secure: bool) -> None:
    assert Settings(base_url=base_url).secure_cookies is secure


def test_uppercase_https_base_url_still_gets_secure_cookies() -> None:
    # The URL is accepted as https (the scheme is case-insensitive), so cookies must be Secure.
    assert Settings(base_url="HTTPS://content.example.com").secure_cookies is True


def test_settings_are_immutable() -> None:
    settings = Settings()

    with pytest.raises(AttributeError):
        settings.base_url = "https://other.example.com"  # type: ignore[misc]
    assert settings.with_overrides(base_url="https://other.example.com").base_url == (
        "https://other.example.com"
    )


def test_importing_the_app_never_reads_the_environment(tmp_path: Path) -> None:
    garbage = {"LEADSHELF_BASE_URL": "garbage", "LEADSHELF_DATABASE_URL": "mysql://x"}
    environ = {**os.environ, **garbage, "PYTHONPATH": str(REPO_ROOT)}

    result = subprocess.run(
        [sys.executable, "-c", "import portal.app, portal.cli"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    with pytest.raises(SettingsError):
        Settings.from_env(environ=garbage)


@pytest.mark.parametrize(
    ("raw", "message"),
    [("0", "expected 1 to 365"), ("400", "expected 1 to 365"), ("a week", "whole number")],
)
def test_download_link_days_is_checked(raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"download_link_days: .*{message}"):
        Settings.from_env(environ={"LEADSHELF_DOWNLOAD_LINK_DAYS": raw})


def test_download_link_days_reads_a_number() -> None:
    settings = Settings.from_env(environ={"LEADSHELF_DOWNLOAD_LINK_DAYS": "14"})
    assert settings.download_link_days == 14


@pytest.mark.parametrize(
    ("variable", "raw", "message"),
    [
        ("LEADSHELF_CONSENT_MODE", "opt-out", "consent_mode: expected one of notice, opt-in"),
        ("LEADSHELF_PRIVACY_SIGNALS", "maybe", "privacy_signals: expected one of respect, ignore"),
        ("LEADSHELF_EVENT_RETENTION_DAYS", "0", "event_retention_days: expected 1 to 36500"),
        ("LEADSHELF_BEACON_PER_MINUTE", "lots", "beacon_per_minute: expected a whole number"),
    ],
)
def test_tracking_settings_are_checked(variable: str, raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ={variable: raw})


def test_tracking_settings_defaults() -> None:
    settings = Settings.from_env(environ={})
    assert settings.consent_mode == "notice"
    assert settings.privacy_signals == "respect"
    assert settings.event_retention_days == 730


def test_outbox_and_webhook_network_settings(tmp_path: Path) -> None:
    settings = Settings.from_env(
        environ={
            "LEADSHELF_OUTBOX_IN_PROCESS": "false",
            "LEADSHELF_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8, 10.20.0.0/16",
        }
    )
    assert settings.outbox_in_process is False
    assert [str(n) for n in settings.webhook_networks] == ["127.0.0.0/8", "10.20.0.0/16"]
    assert Settings.from_env(environ={}).outbox_in_process is True
    assert Settings.from_env(environ={}).webhook_networks == ()
    from_toml = Settings.from_env(
        environ={},
        config_file=write_toml(tmp_path, 'webhook_allow_networks = ["::1/128"]\n'),
    )
    assert [str(n) for n in from_toml.webhook_networks] == ["::1/128"]


def test_trusted_proxies_are_addresses_networks_or_a_star(tmp_path: Path) -> None:
    assert Settings.from_env(environ={}).trusted_proxies == ""
    chosen = Settings.from_env(environ={"LEADSHELF_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    assert chosen.trusted_proxies == "127.0.0.1, 10.0.0.0/8"
    assert Settings.from_env(environ={"LEADSHELF_TRUSTED_PROXIES": "*"}).trusted_proxies == "*"
    from_toml = Settings.from_env(
        environ={}, config_file=write_toml(tmp_path, 'trusted_proxies = ["::1", "10.0.0.0/8"]\n')
    )
    assert from_toml.trusted_proxies == "::1,10.0.0.0/8"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LEADSHELF_OUTBOX_IN_PROCESS", "maybe", "outbox_in_process: expected true or false"),
        ("LEADSHELF_WEBHOOK_ALLOW_NETWORKS", "10.0.0.0/8,intranet", "'intranet' is not a network"),
        ("LEADSHELF_TRUSTED_PROXIES", "nginx", "trusted_proxies: 'nginx' is not a network"),
    ],
)
def test_bad_outbox_settings_name_the_key(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ={variable: value})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("smtp_url", "http://mail.example", "smtp_url: expected smtp://"),
        ("smtp_url", "smtp://mail.example:99999", "smtp_url: the port must be a number"),
        ("smtp_url", "smtps://mail.example?starttls=true", "smtps:// is TLS already"),
        ("smtp_url", "smtp://mail.example?tls=1", "smtp_url: unknown option tls"),
        ("mail_from", "Pipewise", "mail_from: expected Name <address@domain.example>"),
        ("mail_per_second", "fast", "mail_per_second: expected a number"),
        ("default_language", "fr", "default_language: expected one of en, de"),
        ("dkim_selector", "mail", "set both to sign mail, or neither"),
        ("brand_color", "blue", "brand_color: expected #rrggbb"),
        ("brand_logo_url", "http://cdn.example/logo.png", "brand_logo_url: expected an https URL"),
    ],
)
def test_a_malformed_mail_setting_is_refused_at_start_up_naming_it(
    name: str, value: str, message: str
) -> None:
    env = {f"LEADSHELF_{name.upper()}": value}
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_env(env, config_file=None)


def test_mail_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "LEADSHELF_SMTP_URL": "smtp://user:p%40ss@mail.example:587?starttls=true",
            "LEADSHELF_MAIL_FROM": "Pipewise <news@pipewise.example>",
            "LEADSHELF_MAIL_PER_SECOND": "12.5",
            "LEADSHELF_MAIL_GATED_DOWNLOADS": "false",
        },
        config_file=None,
    )
    assert settings.mail_per_second == 12.5
    assert settings.mail_gated_downloads is False
    server = parse_smtp_url(settings.smtp_url)
    assert (server.host, server.port, server.starttls, server.password) == (
        "mail.example",
        587,
        True,
        "p@ss",
    )
