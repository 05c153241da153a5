# -*- test-case-name: tests.unit.test_api_errors -*-
"""
The API's errors: one shape, C{{"code": ..., "message": ...}}, with the
status and code the cloud DNS API gives for the same case (its common
error table: C{InvalidParameter}, C{MissingParameter}, C{NotAuthenticated},
C{NotAuthorizedOrNotFound}, C{Conflict}, C{PreconditionFailed}, ...).

L{ApiError} is what the API's own code raises; L{error_for} maps the zone
core's and the alarm engine's exceptions to one.  Messages never hold a
secret: the core's exceptions name zones, keys and files, and the API's own name fields.
"""

from __future__ import annotations

import re
from typing import Callable

import attrs

from secdns.core.registry import (
    InvalidRequest,
    KeyExists,
    KeyInUse,
    NoSuchKey,
    NoSuchZone,
    NotEditable,
    ReadOnly,
    WrongRole,
    ZoneExists,
)
from secdns.ops.alarms import errors as alarm_errors
from secdns.zones.edit import EditRefused

__all__ = [
    "ApiError", "error_for", "bad", "missing", "not_found", "conflict", "precondition_failed", "CODES", "field_of",
    "with_field",
]

#: Every code the API answers with, and its status.
CODES: dict[str, int] = {
    "CannotParseRequest": 400,
    "InvalidParameter": 400,
    "MissingParameter": 400,
    "NotAuthenticated": 401,
    "NotAuthorized": 403,
    "NotAuthorizedOrNotFound": 404,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "Conflict": 409,
    "PreconditionFailed": 412,
    "PayloadTooLarge": 413,
    "InternalServerError": 500,
    "ServiceUnavailable": 503,
}


@attrs.frozen
class ApiError(Exception):
    """
    An answer other than success: its code (which sets the status) and
    message, and (C{InvalidParameter}, C{MissingParameter}) the request
    field it concerns when known, as a dotted path of the request body
    (C{externalMasters[0].address}): the console shows the message there.
    """

    code: str
    message: str
    headers: tuple[tuple[str, str], ...] = ()
    field: str | None = None

    @property
    def status(self) -> int:
        return CODES[self.code]

    def body(self) -> dict[str, str]:
        shaped = {"code": self.code, "message": self.message}
        if self.field is not None:
            shaped["field"] = self.field
        return shaped

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def bad(message: str, field: str | None = None) -> ApiError:
    return ApiError("InvalidParameter", message, field=field)


def missing(field: str, when: str = "") -> ApiError:
    return ApiError("MissingParameter", f"{field} is required" + (f" {when}" if when else ""), field=field)


def not_found(message: str) -> ApiError:
    return ApiError("NotAuthorizedOrNotFound", message)


def conflict(message: str) -> ApiError:
    return ApiError("Conflict", message)


def precondition_failed(message: str) -> ApiError:
    return ApiError("PreconditionFailed", message)


def error_for(exception: BaseException) -> ApiError | None:
    """
    The answer to one of the zone core's refusals, or L{None} for an
    exception that is not one (a bug: the caller answers 500 and logs it).
    """
    if isinstance(exception, ApiError):
        return exception
    if isinstance(exception, (NoSuchZone, NoSuchKey)):
        return not_found(str(exception))
    if isinstance(exception, (ZoneExists, KeyExists, ReadOnly, KeyInUse, NotEditable, WrongRole)):
        return conflict(str(exception))
    if isinstance(exception, InvalidRequest):
        return bad(str(exception))
    if isinstance(exception, (alarm_errors.NoSuchAlarm, alarm_errors.NoSuchTopic)):
        return not_found(str(exception))
    if isinstance(exception, (alarm_errors.AlarmExists, alarm_errors.TopicExists, alarm_errors.ReadOnly, alarm_errors.TopicInUse)):
        return conflict(str(exception))
    if isinstance(exception, alarm_errors.InvalidRequest):
        return bad(str(exception))
    if isinstance(exception, EditRefused):
        if exception.kind == "precondition":
            return precondition_failed(exception.message)
        return bad(exception.message)
    return None


#: A message that begins with a field's path: C{externalMasters[0].tsigKeyId: no key ...}.
_PREFIX = re.compile(r"^([A-Za-z]+(?:\[\d+\])?(?:\.[A-Za-z]+(?:\[\d+\])?)*): ")

#: Which request field a core's or engine's field name is: the name (or L{None}: not known).
FieldNames = Callable[[str], "str | None"]


def field_of(message: str, names: FieldNames) -> str | None:
    """
    The request field a core's message names in its prefix, through
    C{names} (the core's names are its config's, not always the API's:
    an alarm's C{topics} are its C{destinations}); L{None} when the
    message has no such prefix or C{names} does not know it.
    """
    found = _PREFIX.match(message)
    return None if found is None else names(found.group(1))


def with_field(exception: BaseException, names: FieldNames) -> BaseException:
    """
    The core's refusal as the API's error, with its C{field} read from its
    message when it is a 400 that has none; other exceptions as they are.
    """
    error = error_for(exception)
    if error is None or error.field is not None or error.code not in ("InvalidParameter", "MissingParameter"):
        return exception if error is None else error
    field = field_of(error.message, names)
    return error if field is None else attrs.evolve(error, field=field)
