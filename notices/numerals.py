"""Chinese numerals as printed on notices (第四十三条, 六十日, 贰仟元) to integers and back."""

from __future__ import annotations

DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "贰": 2,
    "两": 2,
    "三": 3,
    "叁": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CN = "零一二三四五六七八九"
NUMERAL_CHARS = "".join(DIGITS) + "".join(UNITS) + "万"


def to_int(text: str) -> int | None:
    """An integer from Arabic digits or Chinese numerals; None when the text is neither."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or any(c not in NUMERAL_CHARS for c in text):
        return None
    if all(c in DIGITS for c in text):  # 二〇二六: digit by digit
        return int("".join(str(DIGITS[c]) for c in text))
    total, section, digit = 0, 0, 0
    for char in text:
        if char in DIGITS:
            digit = DIGITS[char]
        elif char in UNITS:
            section += (digit or 1) * UNITS[char]
            digit = 0
        else:  # 万
            total += (section + digit) * 10_000
            section, digit = 0, 0
    return total + section + digit


def to_chinese(number: int) -> str:
    """1..999 in Chinese numerals as in article headings: 43 -> 四十三, 10 -> 十, 105 -> 一百零五."""
    if not 0 < number < 1000:
        raise ValueError(f"article number out of range: {number}")
    hundreds, tens, ones = number // 100, number // 10 % 10, number % 10
    text = f"{CN[hundreds]}百" if hundreds else ""
    if tens:
        text += ("" if tens == 1 and not hundreds else CN[tens]) + "十"
    elif hundreds and ones:
        text += "零"
    return text + (CN[ones] if ones else "")
