"""Keys: where every command finds them, how the secrets file is kept, what production refuses."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from api import cli as api_cli
from api.app import create_app
from loyalty import cli
from loyalty.settings import (
    KEYS,
    ConfigError,
    Secret,
    Settings,
    from_env,
    variable,
    with_local_secrets,
)
from tests.support import make_settings

STRONG = "k" * 32


@pytest.fixture
def no_key_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment that sets no LOYALTY_* variable, as on a fresh machine."""
    for name in list(os.environ):
        if name.startswith("LOYALTY_"):
            monkeypatch.delenv(name)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that masks nothing: only the mode the code asks for protects the file."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


# Audit hooks cannot be removed; this one only acts while a test has put a folder here.
_WATCHED: list[tuple[Path, list[int]]] = []
_IN_HOOK = [False]


def _record_modes(event: str, args: tuple[object, ...]) -> None:
    if not _WATCHED or _IN_HOOK[0]:
        return
    _IN_HOOK[0] = True
    try:
        folder, modes = _WATCHED[0]
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False):
                modes.append(stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode))
    finally:
        _IN_HOOK[0] = False


sys.addaudithook(_record_modes)


def modes_seen(folder: Path, action: Callable[[], object]) -> list[int]:
    """The permission bits of every file in ``folder`` at each audited step of ``action``
    (opening, chmod, rename...): what another user could have caught."""
    modes: list[int] = []
    _WATCHED.append((folder, modes))
    try:
        action()
    finally:
        _WATCHED.clear()
    return modes


@pytest.mark.usefixtures("open_umask")
def test_the_secrets_file_is_never_readable_by_others_even_while_written(tmp_path):
    path = tmp_path / ".loyalty-secrets.json"

    modes = modes_seen(tmp_path, lambda: with_local_secrets(Settings(), path))

    assert modes  # the hook saw the file being written
    assert {oct(mode) for mode in modes} == {oct(0o600)}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(json.loads(path.read_text())) == set(KEYS)


@pytest.mark.usefixtures("open_umask")
def test_a_key_added_to_an_existing_secrets_file_keeps_it_private(tmp_path):
    path = tmp_path / ".loyalty-secrets.json"
    older = {name: f"kept-{name}" for name in KEYS if name != "events_secret"}
    path.write_text(json.dumps(older))
    path.chmod(0o600)

    modes = modes_seen(tmp_path, lambda: with_local_secrets(Settings(), path))

    assert {oct(mode) for mode in modes} == {oct(0o600)}
    stored = json.loads(path.read_text())
    assert {name: stored[name] for name in older} == older
    assert len(stored["events_secret"]) >= 32


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_secrets_file_other_users_can_read_is_refused(tmp_path, mode):
    path = tmp_path / ".loyalty-secrets.json"
    text = json.dumps({name: STRONG for name in KEYS})
    path.write_text(text)
    path.chmod(mode)

    with pytest.raises(ConfigError, match=r"chmod 600 .*\.loyalty-secrets\.json") as refused:
        with_local_secrets(Settings(), path)

    assert f"mode {mode:o}" in str(refused.value)
    assert path.read_text() == text
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.usefixtures("no_key_variables")
def test_keys_are_printed_when_generated_and_only_their_fingerprint_afterwards(tmp_path, capsys):
    path = tmp_path / ".loyalty-secrets.json"

    first = cli.load_settings(path)
    shown = capsys.readouterr().out
    again = cli.load_settings(path)
    later = capsys.readouterr().out

    for name in ("admin_key", "storefront_key", "webhook_secret", "events_secret"):
        assert getattr(first, name).value in shown
    assert first.secret.value not in shown  # the token-signing key never leaves the service
    for name in KEYS:
        key: Secret = getattr(again, name)
        assert key.value == getattr(first, name).value
        assert key.value not in later
        assert f"{variable(name)}" in later and key.fingerprint() in later
    assert "generated now" not in later


@pytest.mark.usefixtures("no_key_variables")
def test_a_key_generated_into_an_existing_file_is_the_only_one_printed(tmp_path, capsys):
    path = tmp_path / ".loyalty-secrets.json"
    older = {name: f"{name}-{STRONG}" for name in KEYS if name != "events_secret"}
    path.write_text(json.dumps(older))
    path.chmod(0o600)

    settings = cli.load_settings(path)
    shown = capsys.readouterr().out

    assert settings.events_secret.value in shown
    assert not [value for value in older.values() if value in shown]


def test_keys_set_in_the_environment_win_over_the_secrets_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / ".loyalty-secrets.json"
    path.write_text(json.dumps({name: f"file-{name}-{STRONG}" for name in KEYS}))
    path.chmod(0o600)
    monkeypatch.setenv("LOYALTY_EVENTS_SECRET", "from-the-environment-" + STRONG)
    for name in KEYS:
        if name != "events_secret":
            monkeypatch.delenv(variable(name), raising=False)

    settings = cli.load_settings(path)

    assert settings.events_secret.value == "from-the-environment-" + STRONG
    assert settings.admin_key.value == f"file-admin_key-{STRONG}"
    assert "LOYALTY_EVENTS_SECRET" not in capsys.readouterr().out


def production_env(**keys: str) -> dict[str, str]:
    env = {variable(name): f"{name}-{STRONG}" for name in KEYS}
    return {**env, "LOYALTY_PRODUCTION": "true", **keys}


@pytest.mark.parametrize(
    ("variable_name", "value", "reason"),
    [
        ("LOYALTY_ADMIN_KEY", "change-me-admin-key", "placeholder"),
        ("LOYALTY_WEBHOOK_SECRET", "Change-Me-" + STRONG, "placeholder"),
        ("LOYALTY_STOREFRONT_KEY", "s" * 31, "31 bytes"),
        ("LOYALTY_SECRET", "short", "5 bytes"),
        ("LOYALTY_EVENTS_SECRET", "é" * 15, "30 bytes"),
    ],
)
def test_production_refuses_a_weak_key_naming_its_variable(variable_name, value, reason):
    settings = from_env(production_env(**{variable_name: value}))

    with pytest.raises(ConfigError, match=variable_name) as refused:
        settings.require_secrets(KEYS)

    assert reason in str(refused.value)
    assert value not in str(refused.value)  # the message names the key, never shows it


def test_production_accepts_keys_of_32_bytes_and_development_accepts_any():
    from_env(production_env(LOYALTY_ADMIN_KEY="a" * 32)).require_secrets(KEYS)
    development = production_env(LOYALTY_PRODUCTION="false", LOYALTY_ADMIN_KEY="change-me")
    from_env(development).require_secrets(KEYS)


def test_the_api_does_not_start_in_production_with_a_placeholder_key():
    settings = make_settings("sqlite://unused.sqlite3", production=True)

    create_app(settings, migrate=False)
    with pytest.raises(ConfigError, match="LOYALTY_ADMIN_KEY"):
        create_app(replace(settings, admin_key=Secret("change-me-admin-key")), migrate=False)


@pytest.mark.usefixtures("no_key_variables")
def test_every_command_refuses_to_start_in_production_with_a_weak_key(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    for name, value in production_env(LOYALTY_STOREFRONT_KEY="change-me-storefront").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", f"sqlite://{tmp_path}/never.sqlite3")

    for command in (["check"], ["dispatch"], ["jobs", "run"], ["migrate"]):
        assert cli.main(command) == 2
        assert "LOYALTY_STOREFRONT_KEY" in capsys.readouterr().err
    assert api_cli.main(["serve"]) == 2
    assert "LOYALTY_STOREFRONT_KEY" in capsys.readouterr().err
    assert not (tmp_path / "never.sqlite3").exists()


def test_compose_takes_every_key_from_the_env_file_and_the_image_runs_in_production():
    root = Path(__file__).resolve().parents[2]
    compose = (root / "docker-compose.yml").read_text()
    dockerfile = (root / "Dockerfile").read_text()

    assert "change-me-" not in compose
    for name in KEYS:
        assert f"  {variable(name)}: ${{{variable(name)}:?" in compose  # required from .env
    assert "ENV " in dockerfile and "LOYALTY_PRODUCTION=true" in dockerfile
    assert ".env" in (root / ".gitignore").read_text().split()
