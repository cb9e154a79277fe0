"""Photos of penalty notices read end to end: generated notices photographed by software, the bad inputs,
and personal data masked before anything leaves the reader."""

from __future__ import annotations

import io
import json
import random

import pytest
from PIL import Image, ImageFilter

from foundation.settings import PROJECT_ROOT
from notices.law import Library, load_notice_library
from notices.ocr import RapidOcr
from notices.reading import Reading, Status, from_json, interpret, read_photo, to_json
from simulator.notice_photos import dataset
from simulator.notice_photos.templates import Truth, make_notice, render


@pytest.fixture(scope="module")
def library() -> Library:
    return load_notice_library(PROJECT_ROOT / "content")


@pytest.fixture(scope="module")
def engine() -> RapidOcr:
    return RapidOcr(threads=2)


def _key_fields_right(reading: Reading, truth: Truth) -> None:
    f = reading.fields
    assert reading.status is Status.read
    assert f.doc_type == truth.doc_type
    assert f.doc_number == truth.doc_number
    assert f.issued == truth.date
    assert [(c.law, c.article) for c in f.basis] == [(truth.law, truth.article_cn)]
    assert f.amount == truth.amount


@pytest.mark.parametrize("seed", range(25))
def test_the_fields_of_a_notice_come_from_its_printed_lines(seed: int, library: Library) -> None:
    notice = make_notice(random.Random(seed))
    reading = interpret([text for text, _title in notice.lines], library)
    _key_fields_right(reading, notice.truth)
    assert reading.fields.unit == notice.truth.unit
    assert reading.fields.measures == notice.truth.measures
    assert (reading.fields.review_days, reading.fields.litigation_months) == (60, 6)


@pytest.mark.parametrize("seed", range(10))
def test_names_ids_phones_and_plates_never_reach_the_stored_reading(seed: int, library: Library) -> None:
    notice = make_notice(random.Random(seed))
    stored = json.dumps(to_json(interpret([text for text, _ in notice.lines], library)), ensure_ascii=False)
    for personal in notice.truth.personal:
        assert personal not in stored
    assert from_json(json.loads(stored)).fields.amount == notice.truth.amount


def test_a_photographed_notice_is_read_with_every_key_field(engine: RapidOcr, library: Library) -> None:
    sample = dataset.notice_sample(7, ("perspective", "light", "jpeg"), "combined")
    assert sample.truth is not None
    _key_fields_right(read_photo(sample.photo, engine, library), sample.truth)


def test_a_notice_photographed_upside_down_is_read(engine: RapidOcr, library: Library) -> None:
    sample = dataset.upside_down(11)
    assert sample.truth is not None
    _key_fields_right(read_photo(sample.photo, engine, library), sample.truth)


def test_a_notice_citing_an_article_that_does_not_exist_is_flagged(engine: RapidOcr, library: Library) -> None:
    reading = read_photo(dataset.bad_article(3).photo, engine, library)
    assert reading.status is Status.read and reading.flagged
    assert any("没有第九十九条" in f.text for f in reading.findings)


def test_an_amount_above_the_articles_range_is_flagged(engine: RapidOcr, library: Library) -> None:
    sample = dataset.out_of_range(5)
    reading = read_photo(sample.photo, engine, library)
    assert reading.flagged and reading.fields.amount == sample.truth.amount  # type: ignore[union-attr]
    assert any("不在《超限运输车辆行驶公路管理规定》第四十三条规定的幅度内" in f.text for f in reading.findings)


def test_a_chat_screenshot_about_a_fine_is_not_taken_for_a_notice(engine: RapidOcr, library: Library) -> None:
    reading = read_photo(dataset.chat_screenshot(random.Random(1)), engine, library)
    assert reading.status is Status.not_a_notice
    assert reading.fields.amount is None


def test_two_notices_in_one_photo_are_not_mixed(engine: RapidOcr, library: Library) -> None:
    assert read_photo(dataset.two_pages(4).photo, engine, library).status is Status.two_pages


def test_a_photo_too_blurred_to_read_is_never_guessed(engine: RapidOcr, library: Library) -> None:
    rng = random.Random(9)
    notice = make_notice(rng)
    out = io.BytesIO()
    render(notice, rng).filter(ImageFilter.GaussianBlur(7)).save(out, format="JPEG", quality=30)
    reading = read_photo(out.getvalue(), engine, library)
    assert reading.status in (Status.unreadable, Status.not_a_notice)
    f = reading.fields
    assert f.amount in (None, notice.truth.amount) and f.issued in (None, notice.truth.date)


def test_bytes_that_are_no_image_are_answered_not_raised(engine: RapidOcr, library: Library) -> None:
    assert read_photo(b"not a picture", engine, library).status is Status.not_a_notice
    blank = io.BytesIO()
    Image.new("RGB", (10, 10)).save(blank, format="PNG")
    assert read_photo(blank.getvalue(), engine, library).status is Status.not_a_notice
