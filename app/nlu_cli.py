"""`complaints nlu review` and `complaints nlu import`: the loop by which the NLU learns from real traffic."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from app.cli_help import SubParsers, command
from bureau.deps import Deps
from foundation.clock import utcnow
from foundation.settings import PROJECT_ROOT

NLU_DIR = PROJECT_ROOT / "data" / "nlu"
DOMAIN = PROJECT_ROOT / "domain.yml"
# intents staff may label with: what a driver can type (the attach_* intents are sent by the bot itself)
NOT_TYPED = {"attach_photo", "attach_voice", "share_location"}


def add_commands(commands: SubParsers) -> None:
    nlu = command(
        commands,
        "nlu",
        "识别复核：导出没把握或被更正的消息，导入标注 / review loop: export unsure or corrected messages, import labels",
        """
机器人从真实消息中学习的办法：review 导出近期意图置信度低、或被工作人员改派/不予受理的消息（个人信息已隐去），
在“正确意图”列填写后用 import 加入训练数据 data/nlu/review_import.yml（不会写入测试集），再 make train。

How the bot learns from real traffic: review exports recent messages the model was unsure about or staff
corrected (personal data masked); fill in 正确意图 and import adds them to data/nlu/review_import.yml (never
to a test set); then make train.""",
        "complaints nlu review --days 7 --out 复核.xlsx\ncomplaints nlu import 复核.xlsx",
    )
    steps = nlu.add_subparsers(
        dest="nlu_command", required=True, title="步骤 / steps", help="review 导出，import 导入 / review, then import"
    )
    review = command(
        steps,
        "review",
        "导出待复核的消息 / write unsure and staff-corrected messages to .xlsx",
        """
导出最近若干天意图置信度低、或被工作人员改派/不予受理的消息，中文表头，个人信息已隐去。

Write recent low-confidence and staff-corrected messages to an .xlsx with Chinese headers, personal data masked.""",
        "complaints nlu review\ncomplaints nlu review --days 14 --out var/复核.xlsx",
    )
    review.add_argument("--days", type=int, default=7, help="往前看几天（默认 7）/ how many days back (default 7)")
    review.add_argument("--out", type=Path, default=Path("var/nlu_review.xlsx"), help="输出文件 / the .xlsx to write")
    imp = command(
        steps,
        "import",
        "导入已标注的行 / add the rows labelled in 正确意图 to data/nlu/review_import.yml",
        """
把“正确意图”列已填写的行加入 data/nlu/review_import.yml；已有的句子不重复加入，意图名称写错会指出第几行。

Add the rows whose 正确意图 is filled in to data/nlu/review_import.yml; sentences already there are skipped,
an unknown intent name is reported with its row.""",
        "complaints nlu import 复核.xlsx",
    )
    imp.add_argument("file", type=Path, help="review 导出并标注过的 .xlsx / the labelled .xlsx from review")


def typed_intents(domain: Path = DOMAIN) -> list[str]:
    raw = yaml.safe_load(domain.read_text(encoding="utf-8")) or {}
    return [str(i) for i in raw.get("intents") or [] if str(i) not in NOT_TYPED]


def run_review(deps: Deps, args: argparse.Namespace) -> int:
    from bureau.nlu_review import review_rows, write_review

    if args.days < 1:
        print("--days 至少为 1")
        return 2
    with deps.sessions.begin() as session:
        rows = review_rows(session, utcnow(), args.days)
    write_review(rows, args.out, typed_intents())
    print(
        f"{len(rows)} 条消息已写入 {args.out}（个人信息已脱敏）。在“正确意图”列填写后运行：complaints nlu import {args.out}"
    )
    return 0


def run_import(args: argparse.Namespace, nlu_dir: Path = NLU_DIR) -> int:
    from bureau.nlu_review import IMPORT_FILE, ReviewFileError, import_labelled

    try:
        added, skipped = import_labelled(args.file, nlu_dir, set(typed_intents()))
    except (OSError, ReviewFileError) as exc:
        print(f"未导入 / not imported: {exc}")
        return 2
    print(f"新增 {added} 条训练样例到 {nlu_dir / IMPORT_FILE}，{skipped} 条已存在未重复添加。")
    if added:
        print("下一步：运行 make train 重新训练模型。")
    return 0
