"""secdns.ops.api.routing: routes matched by method and path, etags and If-Match, paging parameters."""

from __future__ import annotations

import pytest

from secdns.ops.api.errors import ApiError
from secdns.ops.api.routing import Call, Route, check_if_match, etag, match, paging

ROUTES = [
    Route("GET", ("zones",), lambda call: "list"),
    Route("POST", ("zones",), lambda call: "create"),
    Route("GET", ("zones", "{zone}"), lambda call: "get"),
    Route("GET", ("zones", "{zone}", "records", "{domain}"), lambda call: "domain"),
]


def test_a_route_binds_the_path_variables():
    """The path's variables come out by name."""
    route, params = match(ROUTES, "GET", ("zones", "example.com", "records", "www.example.com"))
    assert route.handler(None) == "domain" and params == {"zone": "example.com", "domain": "www.example.com"}


def test_unknown_path_is_404_and_wrong_method_405_with_allow():
    """No route: NotFound; a path with other methods: MethodNotAllowed listing them."""
    with pytest.raises(ApiError) as caught:
        match(ROUTES, "GET", ("nothing",))
    assert (caught.value.status, caught.value.code) == (404, "NotFound")
    with pytest.raises(ApiError) as caught:
        match(ROUTES, "DELETE", ("zones",))
    assert caught.value.status == 405 and ("Allow", "GET, POST") in caught.value.headers


def test_an_empty_variable_does_not_match():
    """/zones/ with an empty name is not a zone."""
    with pytest.raises(ApiError):
        match(ROUTES, "GET", ("zones", ""))


def test_if_match():
    """If-Match passes with the current etag (quoted or not, weak or not, or *), and is 412 otherwise."""
    tag = etag(["zone", 1])
    assert tag.startswith('"') and tag == etag(["zone", 1]) and tag != etag(["zone", 2])
    for header in (tag, tag.strip('"'), "W/" + tag, '"other", ' + tag, "*"):
        check_if_match(Call("PUT", (), headers={"if-match": header}), tag)
    check_if_match(Call("PUT", ()), tag)
    with pytest.raises(ApiError) as caught:
        check_if_match(Call("PUT", (), headers={"if-match": '"stale"'}), tag)
    assert (caught.value.status, caught.value.code) == (412, "PreconditionFailed")


@pytest.mark.parametrize("query", [{"limit": ["0"]}, {"limit": ["1001"]}, {"limit": ["x"]}, {"page": ["-1"]}, {"limit": ["1", "2"]}, {"limit": ["١"]}])
def test_bad_paging_is_400(query):
    """A limit out of range, a page that is no token, or a parameter given twice is InvalidParameter."""
    with pytest.raises(ApiError) as caught:
        paging(Call("GET", (), query=query))
    assert caught.value.status == 400


def test_paging_defaults():
    assert paging(Call("GET", ())) == (100, 0)
    assert paging(Call("GET", (), query={"limit": ["5"], "page": ["10"]})) == (5, 10)
