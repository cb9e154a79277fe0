"""`complaints import`: other channels' complaints in, each once, with bad rows reported by line."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import xlwt
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from app.digest_cli import ImportBars
from bureau.deps import Deps
from digest import importer
from digest.import_files import ImportFileError
from digest.import_template import TemplateError, write_template
from digest.importer import ImportReport, import_file
from storage.models import ComplaintRecord

TZ = ZoneInfo("Asia/Shanghai")
KEY = b"test-key"

CSV = (
    "工单号,受理时间,投诉内容,站点,联系电话\n"
    "A-1,2026-11-17 09:30,南湖超限站称重不准，差了两吨,南湖超限站,13912345678\n"
    "A-2,2026-11-17 10:00,,南湖超限站,13912345678\n"
    "A-3,昨天下午,河口收费站多收费,河口收费站,\n"
    'A-4,2026/11/18 08:15,"城东停车场拖车费太贵\n还不给发票",城东停车场,13800001111\n'
    "A-1,2026-11-18 11:00,重复的工单号,南湖超限站,\n"
    "A-6,2099-01-01 00:00,未来的时间,,\n"
    "A-7,2026年11月19日 14:20,罰款不給收據,,13912345678\n"
)


def _import(deps: Deps, path: Path, **kwargs: str) -> ImportReport:
    with deps.sessions.begin() as session:
        return import_file(session, path, TZ, KEY, **kwargs)


def _records(deps: Deps) -> list[ComplaintRecord]:
    with deps.sessions() as session:
        return list(session.scalars(select(ComplaintRecord).order_by(ComplaintRecord.id)))


def test_csv_rows_go_in_and_bad_rows_are_reported_with_their_lines(deps: Deps, tmp_path: Path) -> None:
    path = tmp_path / "12328.csv"
    path.write_text(CSV, encoding="utf-8")
    report = _import(deps, path, channel="12328")
    assert report.added == 3
    bad = {b.line: b.reason for b in report.bad}
    # the quoted text of A-4 spans lines 5-6, so the duplicate A-1 is on line 7
    assert sorted(bad) == [3, 4, 7, 8]
    assert "没有投诉内容" in bad[3]
    assert "时间无法识别" in bad[4]
    assert "第 2 行" in bad[7]
    assert "未来" in bad[8]
    records = _records(deps)
    assert [r.external_id for r in records] == ["A-1", "A-4", "A-7"]
    assert records[1].text == "城东停车场拖车费太贵\n还不给发票"
    assert records[0].received_at == datetime(2026, 11, 17, 9, 30, tzinfo=TZ)
    assert all(r.embedding is not None and r.channel == "12328" for r in records)
    # the same phone is the same reporter, and the phone itself is not kept outside the text
    assert records[0].reporter_key == records[2].reporter_key != records[1].reporter_key
    assert "13912345678" not in (records[0].reporter_key or "")


def test_importing_the_same_file_again_adds_nothing(deps: Deps, tmp_path: Path) -> None:
    path = tmp_path / "12328.csv"
    path.write_text(CSV, encoding="utf-8")
    _import(deps, path, channel="12328")
    again = _import(deps, path, channel="12328")
    assert (again.added, again.already) == (0, 3)
    assert len(_records(deps)) == 3


def test_an_external_id_imported_before_with_other_content_is_not_overwritten(deps: Deps, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("编号,时间,内容\n7,2026-11-17 09:00,西岭服务区没有热水\n", encoding="utf-8")
    second.write_text("编号,时间,内容\n7,2026-11-17 09:00,改过的内容\n", encoding="utf-8")
    _import(deps, first)
    report = _import(deps, second)
    assert report.added == 0 and report.bad[0].line == 2 and "内容不同" in report.bad[0].reason
    assert [r.text for r in _records(deps)] == ["西岭服务区没有热水"]


def test_gbk_files_from_excel_are_detected(deps: Deps, tmp_path: Path) -> None:
    path = tmp_path / "letters.csv"
    path.write_bytes("编号,时间,内容,渠道\nX1,2026-11-18 10:00,马店路口的摄像头乱拍,来信\n".encode("gbk"))
    report = _import(deps, path)
    assert report.encoding == "gb18030" and report.added == 1
    [record] = _records(deps)
    assert record.text == "马店路口的摄像头乱拍" and record.channel == "来信"


def test_a_file_in_an_unknown_encoding_is_refused_with_what_to_do(deps: Deps, tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes("编号,时间,内容\nX1,2026-11-18 10:00,投诉\n".encode("utf-16-le"))
    with pytest.raises(ImportFileError, match="CSV UTF-8"):
        _import(deps, path)
    assert _records(deps) == []


def test_missing_columns_name_the_headers_found(deps: Deps, tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("序号,备注\n1,随便\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="序号、备注"):
        _import(deps, path)


def test_xlsx_with_excel_dates_and_numeric_ids(deps: Deps, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["工单编号", "登记时间", "诉求内容", "车牌号", "图片"])
    sheet.append([1001, datetime(2026, 11, 19, 8, 0), "豫A·12345 在河口收费站被多收了钱", "豫A12345", ""])
    sheet.append([1002, datetime(2026, 11, 19, 9, 0), "", "豫A12345", "是"])
    sheet.append([1003, "not a time", "内容", None, None])
    path = tmp_path / "walk-ins.xlsx"
    book.save(path)
    report = _import(deps, path, channel="窗口")
    assert report.added == 2 and [b.line for b in report.bad] == [4]
    records = _records(deps)
    assert [r.external_id for r in records] == ["1001", "1002"]
    assert records[1].has_photo and records[1].text == "" and records[1].embedding is None
    assert records[0].reporter_key == records[1].reporter_key


def test_json_lines_with_english_keys_and_a_broken_line(deps: Deps, tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "w1", "text": "The toll station charged me twice", "time": "2026-11-20T10:00:00+08:00"}),
        "{not json",
        json.dumps(["a list"]),
        json.dumps(
            {"id": "w2", "content": "西嶺服務區的廁所太髒", "received_at": "2026-11-20 11:00", "channel": "微信"}
        ),
    ]
    path = tmp_path / "wechat.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = _import(deps, path, channel="微信公众号")
    assert report.added == 2 and [b.line for b in report.bad] == [2, 3]
    records = _records(deps)
    assert [r.channel for r in records] == ["微信公众号", "微信"]


@pytest.mark.parametrize("name", ["damaged.xls", "notes.docx", "missing.csv"])
def test_unsupported_or_missing_files_are_refused(deps: Deps, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name != "missing.csv":
        path.write_bytes(b"\x00\x01")
    with pytest.raises(ImportFileError):
        _import(deps, path)


def test_an_old_excel_97_xls_file_is_read_with_its_dates_and_numbers(deps: Deps, tmp_path: Path) -> None:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("来访登记")
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm")
    for column, header in enumerate(["工单编号", "登记时间", "诉求内容", "联系电话", "图片"]):
        sheet.write(0, column, header)
    rows = [
        (2001, datetime(2026, 11, 19, 8, 0), "南湖超限站称重不准", "13912345678", ""),
        (2002, "2026/11/19 09:30", "河口收费站多收费", "13912345678", "是"),
        (2003, "not a time", "内容", "", ""),
    ]
    for number, (ticket, when, text, phone, photo) in enumerate(rows, start=1):
        sheet.write(number, 0, ticket)
        if isinstance(when, datetime):
            sheet.write(number, 1, when, date_style)
        else:
            sheet.write(number, 1, when)
        for column, value in enumerate((text, phone, photo), start=2):
            sheet.write(number, column, value)
    path = tmp_path / "来访.xls"
    book.save(str(path))
    assert path.read_bytes()[:8] == bytes.fromhex("d0cf11e0a1b11ae1")  # a real OLE2 (Excel 97-2003) file

    report = _import(deps, path, channel="来访")
    assert report.added == 2 and [(b.line, "时间无法识别" in b.reason) for b in report.bad] == [(4, True)]
    records = _records(deps)
    assert [r.external_id for r in records] == ["2001", "2002"]  # 2001.0 in the cell, an id on the record
    assert records[0].received_at == datetime(2026, 11, 19, 8, 0, tzinfo=TZ)
    assert records[1].received_at == datetime(2026, 11, 19, 9, 30, tzinfo=TZ) and records[1].has_photo
    assert records[0].reporter_key == records[1].reporter_key and records[0].channel == "来访"


def test_the_template_filled_in_imports_as_it_is(deps: Deps, tmp_path: Path) -> None:
    path = tmp_path / "模板.xlsx"
    write_template(path)
    book = load_workbook(path)
    sheet = book["投诉"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:3] == ["工单号", "受理时间", "投诉内容"] and "填写说明" in book.sheetnames
    sheet.append(["T-1", datetime(2026, 11, 20, 14, 30), "城东停车场拖车费太贵", "12328", "城东停车场"])
    sheet.append(["T-2", "2026-11-20 15:00", "西岭服务区没有热水"])
    book.save(path)
    report = _import(deps, path)
    assert (report.added, report.bad) == (2, [])
    first, second = _records(deps)
    assert (first.channel, first.station, second.channel) == ("12328", "城东停车场", "其他渠道")


def test_the_template_is_an_xlsx_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=".xlsx"):
        write_template(tmp_path / "模板.xls")


class Recorder:
    def __init__(self) -> None:
        self.read_rows, self.total, self.stored_rows = 0, -1, [0]

    def read(self, rows: int) -> None:
        self.read_rows += rows

    def storing(self, total: int) -> None:
        self.total = total

    def stored(self, rows: int) -> None:
        self.stored_rows.append(self.stored_rows[-1] + rows)


def test_progress_counts_rows_read_then_rows_stored_batch_by_batch(
    deps: Deps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH", 4)
    path = tmp_path / "big.csv"
    lines = "".join(f"B-{n},2026-11-17 09:{n:02d},第 {n} 条投诉：收费站多收费\n" for n in range(10))
    path.write_text("编号,时间,内容\n" + lines + "B-x,昨天,坏的一行\n", encoding="utf-8")
    recorder = Recorder()
    with deps.sessions.begin() as session:
        report = import_file(session, path, TZ, KEY, progress=recorder)
    assert recorder.read_rows == report.rows == 11
    assert recorder.total == 10 and recorder.stored_rows == [0, 4, 8, 10]


def test_the_terminal_bar_shows_rows_rate_and_time_left() -> None:
    screen = io.StringIO()
    bars = ImportBars(file=screen, disable=False)
    for _ in range(3):
        bars.read(1)
    bars.storing(3)
    bars.stored(2)
    bars.stored(1)
    bars.close()
    shown = screen.getvalue()
    assert "读取 / reading" in shown and "3行" in shown
    assert "导入 / storing" in shown and "3/3" in shown and "行/s" in shown and "<00:00" in shown
