"""`rasa run` taking its HTTP API token from RASA_TOKEN instead of the command line, where `ps` shows it.

The token is appended to sys.argv inside this process: /proc/<pid>/cmdline keeps the command as it was
started (without the token), while the environment is readable by the same user and root only.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    token = os.environ.get("RASA_TOKEN") or ""
    if not token:
        sys.exit("RASA_TOKEN is not set: Rasa's HTTP API and our channel would accept anyone; refusing to start")
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:], "--auth-token", token]
    rasa_main()


if __name__ == "__main__":
    main()
