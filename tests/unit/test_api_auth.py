"""secdns.ops.api.auth: bearer tokens from a token file (read again when it changes), loopback clients only without one."""

from __future__ import annotations

import pytest

from secdns.errors import ConfigError
from secdns.ops.api.auth import LOOPBACK_NAME, Access, Tokens, is_loopback, parse_tokens
from secdns.ops.api.errors import ApiError

TOKEN = "s3cr3t-t0ken-0123456789"
OTHER = "another-token-abcdefghij"


class FakeFile:
    """A token file whose text and stamp a test changes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.version = 0
        self.fail: OSError | None = None

    def stamp(self, path: str):
        if self.fail:
            raise self.fail
        return (self.version,)

    def read(self, path: str) -> str:
        return self.text


def refusal(f, *args) -> ApiError:
    with pytest.raises(ApiError) as caught:
        f(*args)
    return caught.value


def test_token_file_lines():
    """One 'name token' a line; comments and blank lines skipped; tokens kept only as digests."""
    tokens = parse_tokens(f"# ops\n\nalice {TOKEN}\n  bob {OTHER}  \n", "/t")
    assert sorted(tokens.values()) == ["alice", "bob"]
    assert all(TOKEN.encode() not in digest for digest in tokens)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("alice", "expected a name and a token"),
        ("alice short", "shorter than 16"),
        (f"alice {TOKEN}\nalice {OTHER}", "the name alice is used twice"),
        (f"alice {TOKEN}\nbob {TOKEN}", "the token of bob is also alice's"),
        ("# nothing\n", "holds no token"),
    ],
)
def test_token_file_errors_name_the_line_never_the_token(text, problem):
    with pytest.raises(ConfigError) as caught:
        parse_tokens(text, "/etc/secdns/tokens")
    assert problem in str(caught.value) and str(caught.value).startswith("/etc/secdns/tokens")
    assert TOKEN not in str(caught.value) and "short" not in str(caught.value).replace("shorter", "")


def test_bearer_token_required():
    """Without a token, or with a wrong one, 401 with WWW-Authenticate; with a good one, its name."""
    fake = FakeFile(f"alice {TOKEN}")
    access = Access(Tokens("/t", fake.stamp, fake.read))
    for header in (None, "", "Basic abc", "Bearer ", f"Bearer {OTHER}", TOKEN):
        error = refusal(access.who, header, "127.0.0.1")
        assert (error.status, error.code) == (401, "NotAuthenticated")
        assert any(name == "WWW-Authenticate" for name, _ in error.headers)
    assert access.who(f"Bearer {TOKEN}", "192.0.2.1") == "alice"
    assert access.who(f"bearer   {TOKEN} ", None) == "alice"


def test_token_file_read_again_when_it_changes():
    """A token added or revoked in the file takes effect at the next request; a broken file leaves the old tokens."""
    fake = FakeFile(f"alice {TOKEN}")
    access = Access(Tokens("/t", fake.stamp, fake.read))
    fake.text, fake.version = f"bob {OTHER}", 1
    assert access.who(f"Bearer {OTHER}", None) == "bob"
    assert refusal(access.who, f"Bearer {TOKEN}", None).status == 401
    fake.text, fake.version = "garbage", 2
    assert access.who(f"Bearer {OTHER}", None) == "bob"
    fake.fail = PermissionError(13, "Permission denied")
    assert access.who(f"Bearer {OTHER}", None) == "bob"


def test_unreadable_token_file_at_start(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the token file"):
        Tokens.load(str(tmp_path / "missing"))
    (tmp_path / "t").write_text(f"alice {TOKEN}\n")
    assert Tokens.load(str(tmp_path / "t")).name_of(TOKEN) == "alice"


def test_without_tokens_only_loopback_clients():
    """No token file: loopback clients (IPv4, IPv6, IPv4-mapped) are served; others get 403 saying how to serve them."""
    access = Access(None)
    for client in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        assert access.who(None, client) == LOOPBACK_NAME
    for client in ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", None, "not-an-address"):
        error = refusal(access.who, None, client)
        assert (error.status, error.code) == (403, "NotAuthorized") and "token_file" in error.message


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0") and not is_loopback("::")
