"""The dashboard in a real headless browser (Debian's chromium driven by Playwright; Playwright's own
browser download is never used): each page is signed into, drawn, saved as a screenshot under
var/test-artifacts/dashboard/ and checked for what a supervisor expects to see on it."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from PIL import Image
from starlette.applications import Starlette

from app.local_stack import free_port
from foundation.settings import PROJECT_ROOT
from tests.web.conftest import SUPERVISOR_USER, Seeded, link_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = PROJECT_ROOT / "var" / "test-artifacts" / "dashboard"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium fonts-noto-cjk)"
)


@pytest.fixture(scope="module")
def server(app: Starlette) -> Iterator[str]:
    """The dashboard served by uvicorn on a free loopback port, as `complaints web` serves it."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    while not running.started:
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
async def page(server: str, seeded: Seeded) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        tab = await context.new_page()
        await tab.goto(f"{server}/login?token={link_for(seeded.deps, SUPERVISOR_USER)}")
        yield tab
        await browser.close()


async def _shot(tab: object, name: str) -> Path:
    await tab.wait_for_function("document.body.dataset.chartsReady === '1'")  # type: ignore[attr-defined]
    path = ARTIFACTS / f"{name}.png"
    await tab.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    with Image.open(path) as image:
        assert image.width >= 1000 and image.height >= 400
        colours = image.convert("RGB").resize((64, 64)).getcolors(64 * 64) or []
        assert len(colours) > 8, f"{name}.png looks blank"
    return path


async def _drawn_charts(tab: object) -> int:
    return int(await tab.evaluate("document.querySelectorAll('canvas[data-drawn=\"1\"]').length"))  # type: ignore[attr-defined]


async def test_the_case_list_and_its_filters_in_the_browser(page: object, server: str, seeded: Seeded) -> None:
    tab = page
    await tab.goto(f"{server}/cases")  # type: ignore[attr-defined]
    text = await tab.inner_text("main")  # type: ignore[attr-defined]
    assert seeded.numbers["overdue"] in text and "逾期" in text and "紧急" in text
    await tab.check("input[name=urgent]")  # type: ignore[attr-defined]
    await tab.click("button[type=submit]")  # type: ignore[attr-defined]
    await tab.wait_for_url("**/cases?*urgent=1*")  # type: ignore[attr-defined]
    assert await tab.inner_text("#total") == "1"  # type: ignore[attr-defined]
    await _shot(tab, "cases_urgent")


async def test_a_case_page_in_the_browser(page: object, server: str, seeded: Seeded) -> None:
    await page.goto(f"{server}/cases/{seeded.numbers['closed']}")  # type: ignore[attr-defined]
    text = await page.inner_text("main")  # type: ignore[attr-defined]
    assert "匿名编号" in text and "办理经过" in text and "来诉人评价" in text and "张三" not in text
    await _shot(page, "case")


async def test_kpi_charts_are_drawn(page: object, server: str) -> None:
    await page.goto(f"{server}/kpi")  # type: ignore[attr-defined]
    await _shot(page, "kpi")
    assert await _drawn_charts(page) == 5
    assert "满意率" in await page.inner_text("main")  # type: ignore[attr-defined]


async def test_digest_and_ledger_pages_are_drawn(page: object, server: str, seeded: Seeded) -> None:
    await page.goto(f"{server}/digests")  # type: ignore[attr-defined]
    await _shot(page, "digests")
    assert await _drawn_charts(page) == 1
    await page.goto(f"{server}/digests/{seeded.weeks[1]}")  # type: ignore[attr-defined]
    await _shot(page, "digest_week")
    assert "城西中队" in await page.inner_text("main")  # type: ignore[attr-defined]
    await page.goto(f"{server}/ledger")  # type: ignore[attr-defined]
    await _shot(page, "ledger")
    text = await page.inner_text("main")  # type: ignore[attr-defined]
    assert "DB-2026-001" in text and "期限" in text and await _drawn_charts(page) >= 1


async def test_without_signing_in_the_browser_is_refused(server: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = await browser.new_page()
        response = await tab.goto(f"{server}/cases")
        assert response is not None and response.status == 401
        assert "在工作群发送 /web" in await tab.inner_text("main")
        await tab.screenshot(path=str(ARTIFACTS / "refused.png"))
        await browser.close()
    await asyncio.sleep(0)
