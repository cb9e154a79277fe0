"""The catalogue of fixed texts (content/texts.yml): what the bot sends comes from it, and a broken edit
stops the start with the file and the entry named instead of reaching drivers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import texts
from bureau.texts import TextCatalogueError, load_texts
from foundation.settings import PROJECT_ROOT

CATALOGUE = PROJECT_ROOT / "content" / "texts.yml"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "texts.yml"
    path.write_text(body, encoding="utf-8")
    return path


def test_every_text_the_code_names_is_in_the_catalogue() -> None:
    used: set[str] = set()
    for source in PROJECT_ROOT.glob("*/**/*.py"):
        if ".venv" in source.parts or "rasa-env" in source.parts:
            continue
        used |= set(re.findall(r"\btexts\.([A-Z][A-Z0-9_]+)\b", source.read_text(encoding="utf-8")))
    catalogue = load_texts(CATALOGUE, texts.REQUIRED)
    assert used - {"REQUIRED", "NO_SUCH_TEXT"} <= set(catalogue) | {"ERASE_BUTTONS"}


def test_the_bot_sends_the_wording_staff_wrote(tmp_path: Path) -> None:
    body = CATALOGUE.read_text(encoding="utf-8").replace("没有这个命令。", "本平台没有这个命令。", 1)
    try:
        texts.check_catalogue(_write(tmp_path, body))
        assert texts.UNKNOWN_COMMAND.startswith("本平台没有这个命令。")
    finally:
        texts.check_catalogue(CATALOGUE)
    assert texts.UNKNOWN_COMMAND.startswith("没有这个命令。")


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda body: body.replace("EMPTY_TEXT:", "EMPTY_TEXT_OLD:"), "EMPTY_TEXT: missing"),
        (lambda body: body.replace("{number}", "{case}", 1), "{case}"),
        (lambda body: body.replace("<b>市交通运输局", "<b>市交通运输局</i>", 1), "WELCOME: </i>"),
        (lambda body: body.replace("EDITED: 看到您", "EDITED: ''\nX: 看到您", 1), "EDITED: the text is empty"),
        (lambda body: body + "\nNOTE: 见 {号码\n", "NOTE: a {placeholder} is broken"),
    ],
)
def test_a_broken_edit_names_the_file_and_the_entry(tmp_path: Path, edit, named: str) -> None:
    path = _write(tmp_path, edit(CATALOGUE.read_text(encoding="utf-8")))
    with pytest.raises(TextCatalogueError) as caught:
        load_texts(path, texts.REQUIRED)
    assert str(path) in str(caught.value)
    assert named in str(caught.value)


def test_an_unknown_text_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        texts.NO_SUCH_TEXT  # noqa: B018
