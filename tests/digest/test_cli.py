"""`complaints import | digest | ledger` from the shell, on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.cli import main
from storage.migrate import upgrade

CSV = (
    "工单号,受理时间,投诉内容,联系电话\n"
    + "".join(f"L-{n},2026-11-{15 + n} 09:00,南湖超限站的磅不准 多称了一吨,1390000000{n}\n" for n in range(1, 5))
    + "L-9,不是时间,河口收费站多收费,\n"
)


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_import_digest_and_ledger_from_the_shell(shell: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (shell / "in.csv").write_text(CSV, encoding="utf-8")
    assert main(["import", "in.csv", "--channel", "12328"]) == 1  # one bad row
    out = capsys.readouterr().out
    assert "新导入 4 条" in out and "第 6 行：时间无法识别" in out

    assert main(["digest", "--week", "2026-W47", "--dry-run", "--json", "dry.json"]) == 0
    assert "试运行" in capsys.readouterr().out
    assert main(["ledger"]) == 0 and "没有督办中的事项" in capsys.readouterr().out

    assert main(["digest", "--week", "2026-W47", "--json", "w47.json"]) == 0
    out = capsys.readouterr().out
    assert "每周高频投诉分析 2026-W47" in out and "未发送到工作群" in out
    payload = json.loads((shell / "w47.json").read_text(encoding="utf-8"))
    [group] = payload["groups"]
    assert sorted(group["members"]) == ["L-1", "L-2", "L-3", "L-4"] and group["ledger"] == "DB-2026-001"
    assert (shell / "var" / "digest" / "2026-W47.png").read_bytes().startswith(b"\x89PNG")

    assert main(["digest", "--week", "2026-W47"]) == 0  # built already: shown, not built again
    assert "已于此前生成" in capsys.readouterr().out

    assert main(["ledger", "close", "DB-2026-001", "已校准地磅"]) == 0
    assert main(["ledger", "export", "ledger.xlsx"]) == 0
    rows = list(load_workbook(shell / "ledger.xlsx")["督办台账"].iter_rows(min_row=2, values_only=True))
    assert rows[0][0] == "DB-2026-001" and rows[0][5] == "已销号" and rows[0][10] == "已校准地磅"


def test_bad_week_and_unreadable_file(shell: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["digest", "--week", "2026-47"]) == 2
    assert "周次格式错误" in capsys.readouterr().out
    (shell / "bad.csv").write_bytes("编号,时间\n1,2026-11-17\n".encode("utf-16-le"))
    assert main(["import", "bad.csv"]) == 2
    assert "未导入任何记录" in capsys.readouterr().out


def test_import_writes_a_template_and_asks_for_a_file(shell: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--template", "var/导入模板.xlsx"]) == 0
    assert "导入模板已写入 var/导入模板.xlsx" in capsys.readouterr().out
    assert load_workbook(shell / "var" / "导入模板.xlsx")["投诉"]["C1"].value == "投诉内容"
    assert main(["import"]) == 2 and "--template" in capsys.readouterr().out
    assert main(["import", "--template", "模板.csv"]) == 2 and ".xlsx" in capsys.readouterr().out
