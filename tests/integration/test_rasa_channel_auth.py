"""Our Rasa channel (it runs in Rasa's Python 3.10 environment) refuses everyone when it has no token."""

from __future__ import annotations

import os
import subprocess

from app.training import RASA_BIN
from foundation.settings import PROJECT_ROOT

PROBE = """
from types import SimpleNamespace
from rasa_addons.channel import ParseReturningInput

def request(header="", arg=""):
    return SimpleNamespace(headers={"Authorization": header} if header else {}, args={"token": arg} if arg else {})

empty = ParseReturningInput.from_credentials({"token": "${RASA_TOKEN}"})  # the variable was not set
print("empty", empty._authorised(request()), empty._authorised(request("Bearer anything")))
kept = ParseReturningInput.from_credentials({"token": "s3cret"})
print("kept", kept._authorised(request("Bearer s3cret")), kept._authorised(request(arg="s3cret")),
      kept._authorised(request("Bearer wrong")), kept._authorised(request()))
"""


def test_without_a_token_the_channel_refuses_every_request() -> None:
    env = {key: value for key, value in os.environ.items() if key != "RASA_TOKEN"}
    result = subprocess.run(
        [str(RASA_BIN.parent / "python"), "-c", PROBE],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert "empty False False" in lines  # today: "empty True True", anyone could drive any tracker
    assert "kept True True False False" in lines
