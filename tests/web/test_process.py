"""`complaints web`, the dashboard process that `make run` starts beside Rasa and the actions: on loopback by
default, configured by WEB_*, refusing a malformed value with a clear message."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from app.local_stack import free_port
from app.stack import APP_PYTHON, web_command
from foundation.settings import PROJECT_ROOT, ConfigError, load_settings

WEB_VARIABLES = ("WEB_LISTEN", "WEB_BASE_URL", "WEB_LINK_MINUTES", "WEB_SESSION_HOURS")


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> object:
    for name in WEB_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(env_file=None)


def test_the_dashboard_listens_on_loopback_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    web = _load(monkeypatch).web  # type: ignore[attr-defined]
    assert (web.host, web.port, web.base_url, web.secure_cookie) == ("127.0.0.1", 8090, "http://127.0.0.1:8090", False)
    web = _load(monkeypatch, WEB_LISTEN="0.0.0.0:9000", WEB_BASE_URL="https://dash.example.gov.cn/").web  # type: ignore[attr-defined]
    assert (web.host, web.port, web.base_url, web.secure_cookie) == (
        "0.0.0.0",
        9000,
        "https://dash.example.gov.cn",
        True,
    )
    with pytest.raises(ConfigError, match="WEB_LISTEN"):
        _load(monkeypatch, WEB_LISTEN="8090")
    with pytest.raises(ConfigError, match="WEB_BASE_URL"):
        _load(monkeypatch, WEB_BASE_URL="dash.example.gov.cn")
    with pytest.raises(ConfigError, match="WEB_LINK_MINUTES"):
        _load(monkeypatch, WEB_LINK_MINUTES="0")


def test_complaints_web_serves_the_dashboard_as_make_run_starts_it(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in WEB_VARIABLES}
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "WEB_LISTEN": f"127.0.0.1:{port}"}
    assert web_command()[0] == str(APP_PYTHON)
    log = tmp_path / "web.log"
    with log.open("w") as sink:
        process = subprocess.Popen(web_command(), cwd=PROJECT_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, log.read_text()
                time.sleep(0.1)
        else:
            raise TimeoutError("complaints web did not answer")
        assert health.text == "ok"
        refused = httpx.get(f"http://127.0.0.1:{port}/cases", timeout=5)
        assert refused.status_code == 401 and "/web" in refused.text
    finally:
        process.terminate()
        process.wait(10)
