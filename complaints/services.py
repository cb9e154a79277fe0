"""`complaints bot|rasa|actions|status|retention|privacy`: the parts run as separate services, and their care."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from complaints.config import ConfigError, Settings

if TYPE_CHECKING:
    from complaints.deps import Deps

SERVICE_COMMANDS = ("bot", "rasa", "actions", "status", "retention", "privacy")


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bot = commands.add_parser("bot", help="one bot worker alone (polling, or webhook with TELEGRAM_WEBHOOK_URL)")
    bot.add_argument(
        "--take-over", action="store_true", help="polling even though a webhook is registered (removes it)"
    )
    rasa = commands.add_parser("rasa", help="one Rasa server on 127.0.0.1 (its stores from RASA_*_STORE_URL)")
    rasa.add_argument("--port", type=int, help="default: the port of the first RASA_URL")
    actions = commands.add_parser("actions", help="the action server on 127.0.0.1 (port of ACTION_SERVER_URL)")
    for parser in (rasa, actions):
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on; only a container's internal network needs more"
        )
    commands.add_parser("status", help="health of the database, backlog, Rasa servers, action server, Redis")
    retention = commands.add_parser("retention", help="pseudonymise personal data of cases closed RETENTION_DAYS ago")
    retention.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    privacy = commands.add_parser("privacy", help="a person's data: export it, or erase it (on their request)")
    privacy.add_argument("action", choices=("export", "erase"))
    who = privacy.add_mutually_exclusive_group(required=True)
    who.add_argument("--case", help="any case number of the person, e.g. TS-2026-000123")
    who.add_argument("--chat", type=int, help="the person's Telegram chat id")
    privacy.add_argument("--out", type=Path, help="export: write the JSON here (default: print it)")


def _need_shared_token(settings: Settings) -> None:
    if not settings.rasa_token_given:
        raise ConfigError("RASA_TOKEN must be set when Rasa and the bot run as separate services")


def _exec(command: list[str], env: dict[str, str]) -> int:
    sys.stdout.flush()
    os.execve(command[0], command, env)
    return 0  # not reached


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "bot":
        from complaints.runner import WebhookRegistered, run_bot_only

        _need_shared_token(settings)
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(run_bot_only(settings, args.take_over))
        except WebhookRegistered as exc:
            print(f"未启动 / not started: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command in ("rasa", "actions"):
        from complaints.model import model_path
        from complaints.stack import action_server_command, child_env, rasa_command, write_endpoints

        env = child_env(settings, settings.rasa_tracker_db) | {"SANIC_HOST": args.host}
        if args.command == "actions":
            return _exec(action_server_command(settings), env)
        _need_shared_token(settings)
        model = model_path()
        if not model.exists():  # several servers starting together must not all train: that is a separate step
            raise ConfigError(f"no model for the current training data ({model.name}); run `complaints train` first")
        endpoints = write_endpoints(settings, settings.rasa_tracker_db)
        return _exec(rasa_command(settings, model, endpoints=endpoints, port=args.port, host=args.host), env)
    from complaints.deps import build_deps

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
    from complaints.health import check_all

    checks = await check_all(deps)
    for check in checks:
        print(check.line())
    return 0 if all(c.ok for c in checks) else 1


def _retention(deps: Deps, dry_run: bool) -> int:
    from complaints.clock import utcnow
    from complaints.retention import run_retention

    report = run_retention(deps, utcnow(), dry_run)
    print(
        f"{'(dry run) ' if dry_run else ''}{len(report.cases)} 件案件已匿名化，{report.identities} 个身份已删除，"
        f"{report.messages} 条消息、{report.attachments} 个附件已清理，{report.raw_updates} 条原始更新已精简"
    )
    return 0


def _privacy(deps: Deps, args: argparse.Namespace) -> int:
    from complaints.clock import utcnow
    from complaints.retention import erase_person, export_person
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
