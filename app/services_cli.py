"""`complaints bot|rasa|actions|web|status|retention|privacy`: the parts run as separate services, and their care."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from app.cli_help import SubParsers, command
from foundation.settings import ConfigError, Settings, require_own_secrets

if TYPE_CHECKING:
    from bureau.deps import Deps

SERVICE_COMMANDS = ("bot", "rasa", "actions", "web", "status", "retention", "privacy")


def add_commands(commands: SubParsers) -> None:
    bot = command(
        commands,
        "bot",
        "单独运行一个机器人进程 / one bot worker alone (polling, or webhook with TELEGRAM_WEBHOOK_URL)",
        """
只运行机器人（Rasa 和动作服务器作为独立服务运行，见 deploy/）。设置了 TELEGRAM_WEBHOOK_URL 时以 webhook
方式接收消息，否则长轮询。需要与 Rasa 共用的 RASA_TOKEN。启动时检查 Telegram 的设置（令牌、工作群、督办群）。

The bot alone, with Rasa and the action server as services of their own (see deploy/): webhook mode when
TELEGRAM_WEBHOOK_URL is set, else long polling. Needs RASA_TOKEN, shared with Rasa. Checks the Telegram
set-up (token, staff group, supervisors' chat) on start.""",
        "complaints bot\ncomplaints bot --take-over",
    )
    bot.add_argument(
        "--take-over",
        action="store_true",
        help="即使注册了 webhook 也改用长轮询（会删除 webhook）/ poll even though a webhook is registered (removes it)",
    )
    rasa = command(
        commands,
        "rasa",
        "运行一个 Rasa 服务器 / one Rasa server (its stores from RASA_*_STORE_URL)",
        """
用当前训练数据对应的模型启动一个 Rasa 服务器（先运行 complaints train）。跟踪存储和锁存储来自
RASA_TRACKER_STORE_URL 和 RASA_LOCK_STORE_URL。

One Rasa server with the model of the current training data (run complaints train first); its tracker
and lock stores come from RASA_TRACKER_STORE_URL and RASA_LOCK_STORE_URL.""",
        "complaints rasa\ncomplaints rasa --port 5006",
    )
    rasa.add_argument(
        "--port", type=int, help="端口（默认：RASA_URL 中第一个地址的端口）/ default: the first RASA_URL's port"
    )
    actions = command(
        commands,
        "actions",
        "运行动作服务器 / the action server (port of ACTION_SERVER_URL)",
        """
运行 Rasa 的自定义动作服务器，端口取自 ACTION_SERVER_URL。

The action server of Rasa's custom actions, on the port of ACTION_SERVER_URL.""",
        "complaints actions",
    )
    for parser in (rasa, actions):
        parser.add_argument(
            "--host",
            default="127.0.0.1",
            help="监听地址，默认 127.0.0.1；只有容器内部网络才需要别的 / address to listen on (default 127.0.0.1)",
        )
    command(
        commands,
        "web",
        "运行看板 / the supervisors' dashboard (WEB_LISTEN, default 127.0.0.1:8090)",
        """
只读的网页看板（案件、指标、每周分析、督办台账），监听 WEB_LISTEN（默认 127.0.0.1:8090）。
登录不用密码：工作人员在工作群发送 /web，机器人把一次性链接私信给本人。

The read-only dashboard (cases, KPIs, weekly digests, the ledger) on WEB_LISTEN (default 127.0.0.1:8090).
No passwords: a staff member sends /web in the staff group and gets a one-time link in private.""",
        "complaints web",
    )
    command(
        commands,
        "status",
        "检查各部分是否正常，包括 Telegram / health of the database, backlog, Rasa, actions, Redis, Telegram",
        """
检查数据库、积压消息、Rasa 服务器、动作服务器、Redis，以及 Telegram：令牌（getMe）、工作群（存在、是论坛、
机器人可以管理话题）、督办群。每一项一行，有问题时写明原因和解决办法；有任何一项失败时退出码为 1。

Check the database, the backlog, the Rasa servers, the action server, Redis, and Telegram: the token
(getMe), the staff group (exists, is a forum, the bot may manage topics), the supervisors' chat. One line a
part, naming what is wrong and how to fix it; exit code 1 when any part fails.""",
        "complaints status",
    )
    retention = command(
        commands,
        "retention",
        "对结案超过 RETENTION_DAYS 天的案件做个人信息化名处理 / pseudonymise old closed cases",
        """
对结案已超过 RETENTION_DAYS 天（默认 365）的案件删除或化名处理个人信息；机器人每天也会自动执行。

Pseudonymise or remove the personal data of cases closed more than RETENTION_DAYS days ago (default 365);
the bot also does this daily.""",
        "complaints retention --dry-run\ncomplaints retention",
    )
    retention.add_argument(
        "--dry-run", action="store_true", help="只报告，不修改 / report what would change, change nothing"
    )
    _privacy_command(commands)


def _privacy_command(commands: SubParsers) -> None:
    privacy = command(
        commands,
        "privacy",
        "应本人请求导出或删除其个人数据 / a person's data: export it, or erase it (on their request)",
        """
按案件编号或 Telegram chat id 找到一个人：export 导出平台保存的此人数据（JSON），erase 删除其个人数据
（仍在办理的案件结案后再删除）。

Find a person by any of their case numbers or their Telegram chat id: export writes the data kept about
them (JSON), erase removes their personal data (open cases keep what they need until closed).""",
        """complaints privacy export --case TS-2026-000123 --out var/export.json
complaints privacy erase --chat 123456789""",
    )
    privacy.add_argument("action", choices=("export", "erase"), help="导出或删除 / export or erase")
    who = privacy.add_mutually_exclusive_group(required=True)
    who.add_argument("--case", help="此人的任一案件编号，如 TS-2026-000123 / any case number of the person")
    who.add_argument("--chat", type=int, help="此人的 Telegram chat id / the person's Telegram chat id")
    privacy.add_argument("--out", type=Path, help="导出时写入此文件（默认打印）/ export: write the JSON here")


def _need_shared_token(settings: Settings) -> None:
    require_own_secrets(settings)
    if not settings.rasa_token_given:
        raise ConfigError("RASA_TOKEN must be set when Rasa and the bot run as separate services")
    if not settings.pseudonym_key_given:  # the bot signs sender ids with it and the actions check them
        raise ConfigError("PSEUDONYM_KEY must be set when the bot, Rasa and the actions run as separate services")


def _exec(command: list[str], env: dict[str, str]) -> NoReturn:
    sys.stdout.flush()
    os.execve(command[0], command, env)


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "bot":
        from app.runner import TelegramSetupFailed, WebhookRegistered, run_bot_only

        _need_shared_token(settings)
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(run_bot_only(settings, args.take_over))
        except (WebhookRegistered, TelegramSetupFailed) as exc:
            print(f"未启动 / not started: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command in ("rasa", "actions"):
        from app.stack import action_server_command, child_env, rasa_command, write_endpoints
        from app.training import model_path

        env = child_env(settings, settings.rasa_tracker_db) | {"SANIC_HOST": args.host}
        _need_shared_token(settings)  # the action server's token is derived from it, like Rasa's copy
        if args.command == "actions":
            return _exec(action_server_command(settings), env)
        model = model_path()
        if not model.exists():  # several servers starting together must not all train: that is a separate step
            raise ConfigError(f"no model for the current training data ({model.name}); run `complaints train` first")
        endpoints = write_endpoints(settings, settings.rasa_tracker_db)
        return _exec(rasa_command(settings, model, endpoints=endpoints, port=args.port, host=args.host), env)
    if args.command == "web":
        from storage.migrate import upgrade
        from web.server import serve

        upgrade(settings.database_url)
        serve(settings)
        return 0
    from bureau.deps import build_deps

    deps = build_deps(settings)
    try:
        if args.command == "status":
            return asyncio.run(_status(deps))
        if args.command == "retention":
            return _retention(deps, args.dry_run)
        return _privacy(deps, args)
    finally:
        deps.engine.dispose()


async def _status(deps: Deps) -> int:
    from app.health import check_all

    checks = await check_all(deps, with_telegram=True)
    for check in checks:
        print(check.line())
    return 0 if all(c.ok for c in checks) else 1


def _retention(deps: Deps, dry_run: bool) -> int:
    from bureau.retention import run_retention
    from foundation.clock import utcnow

    report = run_retention(deps, utcnow(), dry_run)
    print(
        f"{'(dry run) ' if dry_run else ''}{len(report.cases)} 件案件已匿名化，{report.identities} 个身份已删除，"
        f"{report.messages} 条消息、{report.attachments} 个附件已清理，{report.raw_updates} 条原始更新已精简"
    )
    return 0


def _privacy(deps: Deps, args: argparse.Namespace) -> int:
    from bureau.retention import erase_person, export_person
    from foundation.clock import utcnow
    from storage.privacy import reporter_of_case, reporter_of_chat

    with deps.sessions.begin() as session:
        reporter = reporter_of_case(session, args.case) if args.case else reporter_of_chat(session, args.chat)
        reporter_id = reporter.id if reporter else None
    if reporter_id is None:
        print("没有找到这个人（案件编号或 chat id 不对，或身份信息已删除）", file=sys.stderr)
        return 1
    if args.action == "export":
        body = export_person(deps, reporter_id)
        assert body is not None
        if args.out:
            args.out.write_bytes(body)
            args.out.chmod(0o600)
            print(f"已导出到 {args.out}")
        else:
            print(body.decode())
        return 0
    report = erase_person(deps, reporter_id, utcnow())
    print(f"{len(report.cases)} 件已结案件已匿名化；身份信息{'已删除' if report.identities else '暂时保留'}")
    if report.kept_open:
        print(f"仍在办理的案件 {'、'.join(report.kept_open)} 结案后自动删除（保留办理所需信息）")
    return 0
