"""What storage refuses, as codes with the facts behind them; the edge that can answer the person (bot/,
actions/) turns a code into words."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    case_not_found = "case_not_found"  # number: no such case of the asking reporter
    wrong_state = "wrong_state"  # state, action: the case is no longer in a state that allows it
    no_such_unit = "no_such_unit"  # unit
    avoidance = "avoidance"  # unit: a complaint about a unit cannot go to that unit (回避)
    same_unit = "same_unit"  # unit: the case is with that unit already
    answer_first = "answer_first"  # closing a case without an answer
    extension_days = "extension_days"  # an extension outside 1-30 working days
    merge_into_itself = "merge_into_itself"
    merge_target_finished = "merge_target_finished"  # number, state
    unknown_rating = "unknown_rating"  # rating


class StorageError(Exception):
    """A refusal with a code and its details (names, numbers, states), never with the words for a person."""

    def __init__(self, code: ErrorCode, **details: str) -> None:
        super().__init__(f"{code.value}: {details}" if details else code.value)
        self.code = code
        self.details = details
