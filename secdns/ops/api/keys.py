# -*- test-case-name: tests.integration.test_api -*-
"""
C{/tsigKeys} and C{/tsigKeys/{tsigKeyId}}: ListTsigKeys, CreateTsigKey,
GetTsigKey, UpdateTsigKey, DeleteTsigKey, through the zone core's C{keys},
C{key}, C{create_key}, C{update_key} and C{delete_key}.

The secret is taken on create (and on update, which must give it again,
since it is never read back) and goes nowhere else: no answer, error or
log line holds it.  A key in use by zones cannot be deleted (409 naming
them); a key declared in the config file is read-only (409 naming it).
"""

from __future__ import annotations


from secdns.ops.api import shapes
from secdns.ops.api.body import parse_json
from secdns.ops.api.context import Api
from secdns.ops.api.errors import conflict
from secdns.ops.api.ids import key_id
from secdns.ops.api.routing import Call, Reply, Route, check_if_match, etag, one_of, page_headers, paging
from secdns.zones.status import KeyStatus

__all__ = ["routes"]


def _etag(status: KeyStatus) -> str:
    return etag([status.name, status.algorithm, status.created, status.updated, status.declared_in])


class Keys:
    def __init__(self, api: Api) -> None:
        self.api = api

    def status(self, call: Call) -> KeyStatus:
        return self.api.core().key(self.api.key_name(call.params["key"]))

    def reply(self, call: Call, status: KeyStatus, code: int = 200, headers=()) -> Reply:
        return Reply(code, shapes.tsig_key(status, call.base), headers, _etag(status))

    def list(self, call: Call) -> Reply:
        limit, offset = paging(call)
        name = call.arg("name")
        state = one_of(call, "lifecycleState", shapes.LIFECYCLE_STATES)
        sort_by = one_of(call, "sortBy", ("name", "timeCreated"), "name")
        order = one_of(call, "sortOrder", ("ASC", "DESC"), "ASC")
        if name is not None:
            name = shapes.label(shapes.parse_name(name, "name")).lower()
        rows = [
            shapes.tsig_key(status, call.base)
            for status in self.api.core().keys()
            if (name is None or status.name.lower() == name) and state in (None, "ACTIVE")
        ]
        key = (lambda k: k["name"].lower()) if sort_by == "name" else (lambda k: (k["timeCreated"] or "", k["name"].lower()))
        rows.sort(key=key, reverse=order == "DESC")
        following = offset + limit
        chosen = rows[offset:following]
        return Reply(200, chosen, page_headers(following if following < len(rows) else None, len(rows)), etag(chosen))

    def create(self, call: Call) -> Reply:
        config = shapes.key_config(parse_json(call.body))
        status = self.api.core().create_key(config)
        Api.changed(call, f"created TSIG key {status.name} ({status.algorithm})")
        return self.reply(call, status, 201, (("Location", f"{call.base}/tsigKeys/{key_id(status.name)}"),))

    def get(self, call: Call) -> Reply:
        return self.reply(call, self.status(call))

    def update(self, call: Call) -> Reply:
        current = self.status(call)
        if current.declared_in is not None:
            raise conflict(f"TSIG key {current.name} is declared in {current.declared_in}: change it there, and reload")
        check_if_match(call, _etag(current))
        config = shapes.key_config(parse_json(call.body), current)
        status = self.api.core().update_key(config)
        Api.changed(call, f"updated TSIG key {status.name} ({status.algorithm})")
        return self.reply(call, status)

    def delete(self, call: Call) -> Reply:
        current = self.status(call)
        if current.declared_in is not None and not current.zones:
            raise conflict(f"TSIG key {current.name} is declared in {current.declared_in}: remove it there, and reload")
        check_if_match(call, _etag(current))
        self.api.core().delete_key(current.name)
        Api.changed(call, f"deleted TSIG key {current.name}")
        return Reply(204)


def routes(api: Api) -> list[Route]:
    keys = Keys(api)
    return [
        Route("GET", ("tsigKeys",), keys.list, "ListTsigKeys"),
        Route("POST", ("tsigKeys",), keys.create, "CreateTsigKey"),
        Route("GET", ("tsigKeys", "{key}"), keys.get, "GetTsigKey"),
        Route("PUT", ("tsigKeys", "{key}"), keys.update, "UpdateTsigKey"),
        Route("DELETE", ("tsigKeys", "{key}"), keys.delete, "DeleteTsigKey"),
    ]


