"""
A small HTTP client of secdns's REST API for the integration tests:
urllib from the standard library, answers as (status, headers, JSON).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

import attrs

__all__ = ["Answer", "ApiClient"]


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def error(self) -> tuple[int, str, str]:
        body = self.json
        assert isinstance(body, dict) and {"code", "message"} <= set(body) <= {"code", "message", "field"}, body
        assert "field" not in body or body["code"] in ("InvalidParameter", "MissingParameter"), body
        return self.status, body["code"], body["message"]


class ApiClient:
    """Requests to C{base} (C{http://127.0.0.1:PORT/20180115}), with a bearer token if given."""

    def __init__(self, base: str, token: str | None = None, context: ssl.SSLContext | None = None) -> None:
        self.base = base
        self.token = token
        self.context = context
        self.answers: list[Answer] = []

    def __call__(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None) -> Answer:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token is not None:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
                answer = Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
        except urllib.error.HTTPError as e:
            answer = Answer(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())
        self.answers.append(answer)
        return answer
