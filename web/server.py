"""`complaints web`: the dashboard served by uvicorn on WEB_LISTEN (loopback by default)."""

from __future__ import annotations

import logging

import uvicorn

from bureau.deps import build_deps
from foundation.settings import Settings
from web.app import create_app

logger = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    """Run the dashboard until stopped (Ctrl-C or SIGTERM); the schema is migrated by whoever starts it."""
    app = create_app(build_deps(settings))
    web = settings.web
    logger.info("Dashboard on http://%s:%d (links point at %s)", web.host, web.port, web.base_url)
    uvicorn.run(app, host=web.host, port=web.port, log_level="warning", access_log=False, proxy_headers=True)
