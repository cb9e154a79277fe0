"""The double's HTTP server: routes, request decoding, injected faults and latency."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from simulator.bot_api.controls import Controls
from simulator.bot_api.methods import BotMethods
from simulator.bot_api.protocol import ApiError, Files, JsonDict, bad_request, decode_form_value
from simulator.bot_api.users import SimulatedUsers

logger = logging.getLogger(__name__)


class LocalBotApi(Controls, SimulatedUsers, BotMethods):
    """Telegram Bot API double on aiohttp; see the package docstring."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "transport_complaints_bot",
        first_update_id: int | None = None,
    ) -> None:
        super().__init__(host, port, bot_username, first_update_id)
        self._methods: dict[str, tuple[str, Callable[[JsonDict, Files], Any]]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle_bot_request)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file_request)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self._port = self._runner.addresses[0][1]
        logger.info("Local Bot API listening on %s", self.base_url)

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._closing = True
        self._updates_signal.notify()  # release long polls so shutdown does not wait for them
        await self._runner.cleanup()
        self._runner = None
        logger.info("Local Bot API stopped")

    async def __aenter__(self) -> LocalBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self._host}:{self._port}/file/bot"

    # ------------------------------------------------------------ HTTP layer

    async def _handle_bot_request(self, request: web.Request) -> web.Response:
        if request.match_info["token"] in self.revoked_tokens:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        raw_method = request.match_info["method"]
        name, handler = self._methods.get(raw_method.lower(), (raw_method, None))
        try:
            params, files = await self._read_params(request)
        except ValueError as exc:
            return web.json_response(bad_request(f"can't parse request: {exc}").payload(), status=400)
        logged = params | {k: {"filename": f, "size": len(d)} for k, (f, d) in files.items()}
        self._calls.append({"method": name, "params": logged, "time": time.monotonic()})
        logger.debug("Bot API call %s %s", name, logged)
        if self._latency:
            await asyncio.sleep(self._latency)
        try:
            self._raise_injected_fault(name, params.get("chat_id"))
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = handler(params, files)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            return web.json_response(error.payload(), status=error.code)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file_request(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        stored = next((f for f in self._files.values() if f.file_path == path), None)
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=stored.data, content_type="application/octet-stream")

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[JsonDict, Files]:
        params: JsonDict = {k: decode_form_value(k, v) for k, v in request.query.items()}
        files: Files = {}
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            return params | body, files
        if request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                else:
                    params[key] = decode_form_value(key, str(value))
        return params, files

    def _raise_injected_fault(self, method: str, chat_id: object = None) -> None:
        faults = self._faults.get(method.lower())
        if not faults:
            return
        fault = faults[0]
        if fault.chat_id is not None and str(fault.chat_id) != str(chat_id):
            return
        if fault.skip > 0:
            fault.skip -= 1
            return
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        raise fault.error
