"""secdns.alarms.signature: the webhook's HMAC-SHA256 header, made and checked."""

from __future__ import annotations

import hashlib
import hmac

from secdns.alarms.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

BODY = b'{"alarm":"xfr","zone":"example.com"}'


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    """The header is sha256=hex(HMAC-SHA256(secret, timestamp + "." + body)), as docs/alarms.rst says."""
    headers = sign(b"s3cret", BODY, 1_717_171_717.9)
    assert headers[TIMESTAMP_HEADER] == "1717171717"
    expected = hmac.new(b"s3cret", b"1717171717." + BODY, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == "sha256=" + expected


def test_verify_accepts_ours_and_refuses_the_rest():
    """A receiver accepts the signed body, and refuses another body, another secret, an old or missing header."""
    headers = sign(b"s3cret", BODY, 1000.0)
    ts, sig = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert verify(b"s3cret", BODY, ts, sig, now=1010.0)
    assert not verify(b"s3cret", BODY + b" ", ts, sig, now=1010.0)
    assert not verify(b"other", BODY, ts, sig, now=1010.0)
    assert not verify(b"s3cret", BODY, ts, sig, now=1000.0 + 301)
    assert not verify(b"s3cret", BODY, str(int(ts) + 1), sig, now=1010.0)
    assert not verify(b"s3cret", BODY, None, sig, now=1010.0)
    assert not verify(b"s3cret", BODY, ts, sig.replace("sha256=", "sha1="), now=1010.0)
