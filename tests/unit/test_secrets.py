"""Secrets stay off command lines, Rasa proves itself to the action server, and sender ids are vouched for."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.local_stack import make_settings
from app.stack import action_server_command, child_env, rasa_command, write_endpoints

TOKEN = "rasa-token-that-ps-must-not-show"


def test_no_secret_is_on_a_command_line_where_ps_shows_it(tmp_path: Path) -> None:
    settings = make_settings("sqlite://", rasa_token=TOKEN)
    commands = [rasa_command(settings, tmp_path / "model.tar.gz"), action_server_command(settings)]
    for argv in commands:
        assert not any(TOKEN in part for part in argv), argv
    assert "--auth-token" not in commands[0]
    env = child_env(settings, tmp_path / "tracker.db")
    assert env["RASA_TOKEN"] == TOKEN and env["ACTION_SERVER_TOKEN"]  # the environment instead
    assert not any(env["ACTION_SERVER_TOKEN"] in part for argv in commands for part in argv)


def test_rasa_calls_the_action_server_with_its_token_from_an_owner_only_file(tmp_path: Path) -> None:
    settings = make_settings("sqlite://", rasa_token=TOKEN)
    path = write_endpoints(settings, tmp_path / "tracker.db")
    action = yaml.safe_load(path.read_text())["action_endpoint"]
    assert action["headers"]["Authorization"] == f"Bearer {settings.action_token}"
    assert settings.action_token not in (TOKEN, "")  # derived, not the Rasa token itself
    assert path.stat().st_mode & 0o077 == 0


def test_the_action_server_accepts_only_its_bearer_token() -> None:
    from app.action_server import authorised

    assert authorised("s3cret", "Bearer s3cret")
    assert not authorised("s3cret", "")
    assert not authorised("s3cret", "Bearer s3cre")
    assert not authorised("s3cret", "Basic s3cret")
    assert not authorised("", "Bearer ")  # an empty token never opens the door


def test_a_sender_id_counts_only_with_the_bots_token_for_it() -> None:
    from foundation.keys import owner_matches, owner_token

    key = b"bureau-key"
    token = owner_token(key, "d-1234")
    assert owner_matches(key, "d-1234", token)
    assert not owner_matches(key, "d-5678", token)  # another driver's sender id with this token
    assert not owner_matches(b"other-key", "d-1234", token)
    assert not owner_matches(key, "d-1234", None)
