"""Personal data never reaches the logs in clear text."""

import logging

import pytest

from foundation.logs import MaskingFormatter, mask


@pytest.mark.parametrize(
    ("raw", "hidden"),
    [("车牌鲁K12345被扣", "12345"), ("电话13812345678", "13812345678"), ("chat 123456789 sent", "123456789")],
)
def test_mask_hides_plates_phones_and_ids(raw: str, hidden: str) -> None:
    assert hidden not in mask(raw)


def test_formatter_masks_arguments() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "driver %s phone %s", ("鲁B7G123挂", "13912345678"), None
    )
    line = MaskingFormatter("%(message)s").format(record)
    assert "7G123" not in line and "12345678" not in line


@pytest.mark.parametrize(
    ("raw", "secret"),
    [
        ("POST https://api.telegram.org/bot123456789:AAH-abcdefghijklmnopqrstuvwxyz012/getUpdates", "AAH-abcdefghij"),
        ("GET http://127.0.0.1:5005/status?token=s3cret-value&x=1", "s3cret-value"),
        ("could not connect to postgresql://complaints:pa55word@127.0.0.1/complaints", "pa55word"),
    ],
)
def test_mask_hides_secrets(raw: str, secret: str) -> None:
    assert secret not in mask(raw)
