"""The action server: rasa-sdk's, behind a shared secret.

rasa-sdk 3.21 has no authentication of its own, and the actions read and write every driver's cases, so
every request but /health must carry `Authorization: Bearer <ACTION_SERVER_TOKEN>`; Rasa sends it (the
`headers` of its action endpoint, see app.stack.write_endpoints). Started by `complaints run` and
`complaints actions` as `python -m app.action_server --port 5055`.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import time
from functools import partial
from typing import Any

from rasa_sdk import utils
from rasa_sdk.endpoint import create_app_for_serve
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from bureau.deps import embed_knowledge
from foundation.settings import load_settings

logger = logging.getLogger(__name__)

OPEN_PATHS = ("/health",)


class NoActionToken(RuntimeError):
    """ACTION_SERVER_TOKEN is empty: the server would accept anyone."""


def authorised(expected: str, header: str) -> bool:
    """Whether an Authorization header carries the expected bearer token (compared in constant time)."""
    scheme, _, given = header.partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), expected.encode())


async def _require_token(token: str, request: Request) -> HTTPResponse | None:
    if request.path in OPEN_PATHS or authorised(token, request.headers.get("Authorization", "")):
        return None
    logger.warning("Refused an unauthenticated %s %s", request.method, request.path)
    return response.json({"error": "unauthorised"}, status=401)


def create_app(token: str) -> Sanic[Any, Any]:
    """rasa-sdk's app with our actions and the token check in front (built again in each Sanic worker)."""
    executor = ActionExecutor()
    executor.register_package("actions")
    app: Sanic[Any, Any] = create_app_for_serve(executor)
    app.on_request(partial(_require_token, token), priority=100)
    return app


def serve(port: int, host: str) -> None:
    token = os.environ.get("ACTION_SERVER_TOKEN") or ""
    if not token:
        raise NoActionToken("ACTION_SERVER_TOKEN is not set; refusing to start an open action server")
    started = time.monotonic()
    logger.info("Reading the legal knowledge base and routing examples (after a change: embedding them, 1-2 min)")
    embed_knowledge(load_settings())  # before serving: /health says ready only when questions are answered at once
    logger.info("Knowledge base ready (%.0f s)", time.monotonic() - started)
    loader = AppLoader(factory=partial(create_app, token))
    app = loader.load()
    app.prepare(host=host, port=port, workers=utils.number_of_sanic_workers())
    logger.info("Action server on http://%s:%s (token required)", host, port)
    Sanic.serve(primary=app, app_loader=loader)


def main() -> None:
    parser = argparse.ArgumentParser(prog="action_server")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args()
    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    serve(args.port, os.environ.get("SANIC_HOST", "127.0.0.1"))


if __name__ == "__main__":
    main()
