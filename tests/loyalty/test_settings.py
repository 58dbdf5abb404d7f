"""Keys: where every command finds them and how the secrets file is kept."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from loyalty import cli
from loyalty.settings import (
    KEYS,
    ConfigError,
    Secret,
    Settings,
    variable,
    with_local_secrets,
)

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
