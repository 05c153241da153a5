# -*- test-case-name: tests.unit.test_api_body -*-
"""
Request bodies: JSON text in, checked Python values out, or an
L{ApiError} that says what is wrong -- never a traceback, whatever the
bytes (not UTF-8, not JSON, nested a thousand deep, numbers of a million
digits, NaN).

L{Fields} reads one JSON object field by field with the type each field
must have, and refuses fields it does not know.  Its messages name the
field and the type expected, never the value given (it may be a secret);
its errors carry the field's path (C{externalMasters[0].port}) as C{field}.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from secdns.ops.api.errors import ApiError, bad, missing

__all__ = ["MAX_BODY", "MAX_DEPTH", "parse_json", "Fields", "kind_of"]

#: The largest request body taken, in octets (a records PUT of ~50,000 records).
MAX_BODY = 8 * 2**20
#: The deepest nesting of arrays and objects taken (the API's own bodies need 4).
MAX_DEPTH = 32


def kind_of(value: Any) -> str:
    """A JSON value's type, as a message names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("a number out of range")
    return value


def parse_json(raw: bytes) -> Any:
    """
    The JSON value of a request body.

    @raise ApiError: C{CannotParseRequest}, saying why.
    """
    if len(raw) > MAX_BODY:
        raise ApiError("PayloadTooLarge", f"the request body is larger than {MAX_BODY} octets")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError("CannotParseRequest", f"the request body is not UTF-8 text (octet {e.start})") from None
    if not text.strip():
        raise ApiError("CannotParseRequest", "the request body is empty: a JSON object is expected")
    try:
        value = json.loads(text, parse_constant=_no_constants, parse_float=_finite)
    except json.JSONDecodeError as e:
        raise ApiError("CannotParseRequest", f"the request body is not JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise ApiError("CannotParseRequest", f"the request body is nested more than {MAX_DEPTH} deep") from None
    except ValueError as e:  # a number too long for int(), NaN, Infinity
        problem = "a number of too many digits" if "digits" in str(e) else _first_line(str(e))
        raise ApiError("CannotParseRequest", f"the request body is not JSON: {problem}") from None
    _check_depth(value)
    return value


def _first_line(text: str) -> str:
    return text.splitlines()[0][:200] if text else "invalid value"


def _check_depth(value: Any) -> None:
    """Walk the value without recursion; refuse it past L{MAX_DEPTH}."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > MAX_DEPTH:
                raise ApiError("CannotParseRequest", f"the request body is nested more than {MAX_DEPTH} deep")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (list, dict)))


class Fields:
    """
    One JSON object, read field by field.

    @ivar where: how messages name the object (C{the request body},
        C{externalMasters[0]}).
    """

    def __init__(self, value: Any, where: str = "the request body", ignored: Iterable[str] = ()) -> None:
        if not isinstance(value, dict):
            raise bad(f"{where} must be a JSON object, not {kind_of(value)}", None if where == "the request body" else where)
        self.value = value
        self.where = where
        self.read: set[str] = set(ignored)

    def _name(self, field: str) -> str:
        return field if self.where == "the request body" else f"{self.where}.{field}"

    def has(self, field: str) -> bool:
        return field in self.value and self.value[field] is not None

    def get(self, field: str, kinds: tuple[type, ...], what: str, required: bool = False) -> Any:
        self.read.add(field)
        value = self.value.get(field)
        if value is None:
            if required:
                raise missing(self._name(field))
            return None
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise bad(f"{self._name(field)} must be {what}, not {kind_of(value)}", self._name(field))
        return value

    def string(self, field: str, required: bool = False, max_length: int = 1024) -> str | None:
        value = self.get(field, (str,), "a string", required)
        if value is not None and len(value) > max_length:
            raise bad(f"{self._name(field)} is longer than {max_length} characters", self._name(field))
        return value

    def integer(self, field: str, low: int, high: int, required: bool = False) -> int | None:
        value = self.get(field, (int,), "an integer", required)
        if value is not None and not low <= value <= high:
            raise bad(f"{self._name(field)} must be from {low} to {high}", self._name(field))
        return value

    def boolean(self, field: str) -> bool | None:
        return self.get(field, (bool,), "true or false")

    def array(self, field: str, required: bool = False, max_items: int = 10_000) -> list | None:
        value = self.get(field, (list,), "an array", required)
        if value is not None and len(value) > max_items:
            raise bad(f"{self._name(field)} has more than {max_items} items", self._name(field))
        return value

    def choice(self, field: str, choices: Iterable[str], required: bool = False) -> str | None:
        choices = tuple(choices)
        value = self.string(field, required, max_length=64)
        if value is not None and value not in choices:
            raise bad(f"{self._name(field)} must be one of {', '.join(choices)}", self._name(field))
        return value

    def done(self) -> None:
        """Every field was read (or is one the caller ignores): else, name the first unknown one."""
        unknown = [name for name in self.value if name not in self.read]
        if unknown:
            name = unknown[0]
            shown = name if len(name) <= 64 else name[:61] + "..."
            raise bad(f"{self.where}: unknown field {json.dumps(shown)}", self._name(name) if len(name) <= 64 else None)

    def item_name(self, field: str, index: int) -> str:
        return f"{self._name(field)}[{index}]"
