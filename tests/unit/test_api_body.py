"""secdns.ops.api.body: request bodies read as JSON with limits, and fields checked by type, never echoing values."""

from __future__ import annotations

import pytest

from secdns.ops.api.body import MAX_BODY, MAX_DEPTH, Fields, parse_json
from secdns.ops.api.errors import ApiError


def refusal(raw: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_json(raw)
    return caught.value


@pytest.mark.parametrize(
    "raw, code, words",
    [
        (b"", "CannotParseRequest", "empty"),
        (b"  \n", "CannotParseRequest", "empty"),
        (b"{bad", "CannotParseRequest", "not JSON"),
        (b'{"a": "\xff"}', "CannotParseRequest", "not UTF-8"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "CannotParseRequest", f"nested more than {MAX_DEPTH}"),
        (b"[" * 100_000, "CannotParseRequest", "nested more than"),
        (b"1" * 5000, "CannotParseRequest", "too many digits"),
        (b'{"a": NaN}', "CannotParseRequest", "NaN"),
        (b'{"a": Infinity}', "CannotParseRequest", "Infinity"),
        (b'{"a": 1e999}', "CannotParseRequest", "out of range"),
        (b" " * (MAX_BODY + 1), "PayloadTooLarge", "larger than"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(raw, code, words):
    """Each kind of malformed body is a 4xx error that says what is wrong."""
    error = refusal(raw)
    assert error.code == code and words in error.message
    assert 400 <= error.status < 500


def test_nesting_up_to_the_limit_is_taken():
    """A body nested exactly MAX_DEPTH deep is read."""
    assert parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None


def test_fields_check_types_and_name_the_field_not_the_value():
    """A field of the wrong type is named with the type expected, and its value is not repeated."""
    fields = Fields({"secret": 12345678, "name": "x"})
    with pytest.raises(ApiError) as caught:
        fields.string("secret")
    assert caught.value.message == "secret must be a string, not a number"
    assert "12345678" not in caught.value.message


def test_booleans_are_not_integers():
    """true is not taken for 1."""
    with pytest.raises(ApiError, match="must be an integer, not true or false"):
        Fields({"port": True}).integer("port", 1, 65535)


def test_unknown_fields_are_named():
    """A field the API does not know is an error naming it."""
    fields = Fields({"name": "x", "colour": "red"})
    fields.string("name")
    with pytest.raises(ApiError, match='unknown field "colour"'):
        fields.done()


def test_missing_required_field():
    """A required field left out (or null) is MissingParameter."""
    with pytest.raises(ApiError) as caught:
        Fields({"name": None}).string("name", required=True)
    assert (caught.value.code, caught.value.status) == ("MissingParameter", 400)


def test_not_an_object():
    """A body that is not an object says what it is."""
    with pytest.raises(ApiError, match="must be a JSON object, not an array"):
        Fields([1, 2])
