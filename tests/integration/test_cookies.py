"""
DNS Cookies (RFC 7873, with RFC 9018's interoperable server cookie)
against real peers on loopback:

  - dig +cookie gets a server cookie, and has it echoed when it sends it
    back; with [cookies] enabled = false there is none;
  - secdns and BIND sharing one secret (an anycast pair) accept each
    other's server cookies, and BIND with require-server-cookie turns a
    forged one down (so its acceptance of secdns's means something); the
    secret is written neither in the log nor in /metrics;
  - a secret_file with a new secret then the old one accepts cookies made
    with the old one and answers them with one made with the new one; a
    bad secret_file stops the start with a one-line error that does not
    quote the line, and is refused on SIGHUP, the old config serving on;
  - response rate limiting against a flood from one address with a client
    cookie answers BADCOOKIE (never TC) on its slip turns, lets a query
    with a valid server cookie through however empty the bucket, and with
    cookie_policy = "badcookie" answers BADCOOKIE to every limited query.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from secdns.server.cookies import server_cookie
from tests.peers import Bind, PeerZone
from tests.support import LOOPBACK, Secdns, free_port, require, wait_until

ZONE = "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.80\n"
QNAME = "www.example.org"
ADDRESS = "192.0.2.80"
# Two secrets, written only into files here: the tests look for them where they must not be.
SECRET = bytes.fromhex("9f1c2e3d4a5b6c7d8e9fa0b1c2d3e4f5")
OLD_SECRET = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
VICTIM = "127.0.0.2"


# -- helpers


def start_secdns(tmp: Path, extra: str = "", name: str = "secdns") -> tuple[Secdns, int]:
    """secdns serving example.org on a fresh port, with C{extra} TOML appended; it and its /metrics port."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "zone").write_text(ZONE)
    port, http = free_port(), free_port()
    config = tmp / f"{name}.toml"
    config.write_text(
        f'[server]\nlisten = ["{LOOPBACK}:{port}"]\nstate_dir = "var-{name}"\n[http]\nlisten = "{LOOPBACK}:{http}"\n'
        f'{extra}[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zone"\n'
    )
    server = Secdns(config, port)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server, http


def metrics_text(http: int) -> str:
    return urllib.request.urlopen(f"http://{LOOPBACK}:{http}/metrics", timeout=5).read().decode()


def metric(http: int, name: str, label: str, value: str) -> float:
    """One labelled sample of /metrics; 0 when absent."""
    match = re.search(rf'^{re.escape(name)}\{{{label}="{value}"\}} (\S+)$', metrics_text(http), re.M)
    return float(match.group(1)) if match else 0.0


def cookie_query(client: bytes, server: bytes = b"", qname: str = QNAME) -> dns.message.Message:
    return dns.message.make_query(qname, "A", use_edns=0, options=[dns.edns.CookieOption(client, server)])


def cookie_of(response: dns.message.Message) -> tuple[bytes, bytes] | None:
    """(client, server) of the response's COOKIE option, or None."""
    for option in response.options:
        if option.otype == dns.edns.OptionType.COOKIE:
            return option.client, option.server
    return None


def ask(port: int, message: dns.message.Message, source: str | None = None) -> dns.message.Message:
    return dns.query.udp(message, LOOPBACK, port=port, timeout=5, source=source)


def has_record(response: dns.message.Message) -> bool:
    return response.rcode() == dns.rcode.NOERROR and any(
        rdata.to_text() == ADDRESS for rrset in response.answer for rdata in rrset
    )


def dig(port: int, *options: str) -> str:
    result = subprocess.run(
        [require("dig"), "-p", str(port), f"@{LOOPBACK}", QNAME, "A", "+tries=1", "+time=5", *options],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def secret_forms(secret: bytes) -> list[str]:
    return [secret.hex(), secret.hex().upper()]


# -- 1. dig


def test_dig_cookie_echoed_and_off(tmp_path):
    """
    dig +cookie: a 48-hex-digit COOKIE marked (good); sent back with
    +cookie=<hex>, the same one comes back; [cookies] enabled = false: none.
    """
    secdns, _ = start_secdns(tmp_path / "on")
    try:
        out = dig(secdns.port, "+cookie")
        assert "status: NOERROR" in out and ADDRESS in out, out
        match = re.search(r"^; COOKIE: ([0-9a-f]+) \(good\)$", out, re.M)
        assert match, out
        cookie = match.group(1)
        assert len(cookie) == 48, cookie  # client 8 octets + server 16
        assert cookie[16:18] == "01" and cookie[18:24] == "000000", cookie  # RFC 9018: version 1, reserved
        again = dig(secdns.port, f"+cookie={cookie}")
        assert re.search(rf"^; COOKIE: {cookie} \(good\)$", again, re.M), again
        assert ADDRESS in again
    finally:
        secdns.stop()
    secdns, _ = start_secdns(tmp_path / "off", "[cookies]\nenabled = false\n")
    try:
        out = dig(secdns.port, "+cookie")
        assert "status: NOERROR" in out and ADDRESS in out, out
        assert "; OPT PSEUDOSECTION:" in out, out  # EDNS answered, just no cookie
        assert "COOKIE" not in out, out
    finally:
        secdns.stop()


# -- 2. BIND


def test_bind_interop_shared_secret(tmp_path):
    """
    An anycast pair sharing one secret: a server cookie from BIND is
    echoed by secdns (valid), and BIND with require-server-cookie answers
    a query with secdns's cookie while it turns a forged one down
    (BADCOOKIE).  The secret is in neither secdns's log nor /metrics.
    """
    (tmp_path / "zone").write_text(ZONE)
    (tmp_path / "cookie.secret").write_text(SECRET.hex() + "\n")
    bind = Bind(
        tmp_path,
        free_port(),
        zones=[PeerZone("example.org", tmp_path / "zone")],
        options=f'cookie-algorithm siphash24; cookie-secret "{SECRET.hex()}"; require-server-cookie yes;',
    ).start()
    try:
        secdns, http = start_secdns(tmp_path, '[cookies]\nsecret_file = "cookie.secret"\n')
        try:
            # BIND's server cookie, presented to secdns: echoed unchanged.
            client = os.urandom(8)
            from_bind = ask(bind.port, cookie_query(client))
            assert from_bind.rcode() == dns.rcode.BADCOOKIE, from_bind  # require-server-cookie: a first query
            bind_client, bind_server = cookie_of(from_bind)
            assert bind_client == client and len(bind_server) == 16
            valid_before = metric(http, "secdns_cookie_queries_total", "cookie", "valid")
            answer = ask(secdns.port, cookie_query(client, bind_server))
            assert has_record(answer), answer
            assert cookie_of(answer) == (client, bind_server)
            assert metric(http, "secdns_cookie_queries_total", "cookie", "valid") > valid_before

            # secdns's server cookie, presented to BIND: a full answer.
            client = os.urandom(8)
            from_secdns = ask(secdns.port, cookie_query(client))
            assert has_record(from_secdns), from_secdns
            secdns_client, secdns_server = cookie_of(from_secdns)
            assert secdns_client == client and len(secdns_server) == 16
            answer = ask(bind.port, cookie_query(client, secdns_server))
            assert has_record(answer), answer
            assert cookie_of(answer)[0] == client

            # ... and a forged one is turned down, so that acceptance means something.
            forged = ask(bind.port, cookie_query(client, os.urandom(16)))
            assert forged.rcode() == dns.rcode.BADCOOKIE and not forged.answer, forged
            # secdns answers a forged one too (it does not require cookies), with a fresh cookie of its own.
            invalid_before = metric(http, "secdns_cookie_queries_total", "cookie", "invalid")
            forged_cookie = os.urandom(16)
            answer = ask(secdns.port, cookie_query(client, forged_cookie))
            assert has_record(answer) and cookie_of(answer)[1] != forged_cookie, answer
            assert metric(http, "secdns_cookie_queries_total", "cookie", "invalid") > invalid_before

            # The secret is written nowhere it can be read.
            log = secdns.log()
            assert "secdns serving" in log
            text = metrics_text(http)
            assert "secdns_cookie_queries_total" in text
            for form in secret_forms(SECRET):
                assert form not in log
                assert form not in text
        finally:
            secdns.stop()
    finally:
        bind.stop()


# -- 3. secret rotation and bad secret files


def test_secret_rotation(tmp_path):
    """
    secret_file "new, old": a cookie made with the old secret is valid, and
    answered with a fresh one made with the new secret.
    """
    (tmp_path / "cookie.secret").write_text(f"# new first\n{SECRET.hex()}\n{OLD_SECRET.hex()}  # going\n")
    secdns, http = start_secdns(tmp_path, '[cookies]\nsecret_file = "cookie.secret"\n')
    try:
        client = os.urandom(8)
        old = server_cookie(OLD_SECRET, client, LOOPBACK, int(time.time()))
        valid_before = metric(http, "secdns_cookie_queries_total", "cookie", "valid")
        answer = ask(secdns.port, cookie_query(client, old))
        assert has_record(answer), answer
        back_client, fresh = cookie_of(answer)
        assert back_client == client and fresh != old and len(fresh) == 16
        # The fresh one is the new secret's, at the time it carries.
        timestamp = struct.unpack("!I", fresh[4:8])[0]
        assert fresh == server_cookie(SECRET, client, LOOPBACK, timestamp)
        assert metric(http, "secdns_cookie_queries_total", "cookie", "valid") == valid_before + 1
        # The fresh one is echoed back as it is.
        assert cookie_of(ask(secdns.port, cookie_query(client, fresh))) == (client, fresh)
        # A cookie of a secret it does not hold is invalid (and replaced).
        invalid_before = metric(http, "secdns_cookie_queries_total", "cookie", "invalid")
        stranger = server_cookie(os.urandom(16), client, LOOPBACK, int(time.time()))
        answer = ask(secdns.port, cookie_query(client, stranger))
        assert has_record(answer) and cookie_of(answer)[1] not in (stranger, old)
        assert metric(http, "secdns_cookie_queries_total", "cookie", "invalid") == invalid_before + 1
    finally:
        secdns.stop()


def test_bad_secret_file_refused_at_start(tmp_path):
    """A line of 10 hex digits: no start, a one-line error naming the file and line, not quoting it."""
    bad = "c0ffee1234"
    (tmp_path / "zone").write_text(ZONE)
    (tmp_path / "cookie.secret").write_text(f"# comment\n{SECRET.hex()}\n{bad}\n")
    port = free_port()
    config = tmp_path / "secdns.toml"
    config.write_text(
        f'[server]\nlisten = ["{LOOPBACK}:{port}"]\nstate_dir = "var"\n'
        '[cookies]\nsecret_file = "cookie.secret"\n'
        '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "zone"\n'
    )
    secdns = Secdns(config, port)
    try:
        secdns.process.wait(30)
    except subprocess.TimeoutExpired:
        secdns.stop()
        raise AssertionError(f"secdns started on a bad secret_file:\n{secdns.log()[-2000:]}")
    code = secdns.stop()
    log = secdns.log()
    assert code != 0, log
    errors = [line for line in log.splitlines() if "cookie.secret" in line]
    assert len(errors) == 1, log
    assert "line 3" in errors[0] and "cookies.secret_file" in errors[0], errors[0]
    assert len(log.strip().splitlines()) == 1, log  # the error is all it says
    assert bad not in log and SECRET.hex() not in log, log


def test_bad_secret_file_refused_on_sighup(tmp_path):
    """A secret_file spoilt before a SIGHUP: the reload is refused, and the old secret serves on."""
    secret_file = tmp_path / "cookie.secret"
    secret_file.write_text(SECRET.hex() + "\n")
    secdns, http = start_secdns(tmp_path, '[cookies]\nsecret_file = "cookie.secret"\n')
    try:
        client = os.urandom(8)
        _, given = cookie_of(ask(secdns.port, cookie_query(client)))
        assert given == server_cookie(SECRET, client, LOOPBACK, struct.unpack("!I", given[4:8])[0])
        bad = "deadbeef42"
        secret_file.write_text(f"{bad}\n{OLD_SECRET.hex()}\n")
        secdns.reload()
        wait_until(lambda: "reload failed" in secdns.log(), timeout=10, what="the reload to fail")
        assert secdns.running()
        log = secdns.log()
        failure = [line for line in log.splitlines() if "reload failed" in line]
        assert len(failure) == 1 and "cookie.secret" in failure[0] and "line 1" in failure[0], failure
        assert bad not in log and OLD_SECRET.hex() not in log and SECRET.hex() not in log
        # The old config serves on: the old secret's cookie is still echoed, a new client gets one of it.
        answer = ask(secdns.port, cookie_query(client, given))
        assert has_record(answer) and cookie_of(answer) == (client, given)
        other = os.urandom(8)
        _, fresh = cookie_of(ask(secdns.port, cookie_query(other)))
        assert fresh == server_cookie(SECRET, other, LOOPBACK, struct.unpack("!I", fresh[4:8])[0])
    finally:
        secdns.stop()


# -- 4. response rate limiting


def _flood(port: int, wire: bytes, count: int, batch: int = 50) -> list[dns.message.Message]:
    """
    C{count} copies of C{wire} from 127.0.0.2 (the spoofed victim's
    address), sent in batches with the replies read in between (until the
    socket is quiet for 0.1 s), so that no socket buffer overflows; then
    any late reply, waited for up to 1 s.  The replies.
    """
    replies = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as victim:
        victim.bind((VICTIM, 0))
        victim.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sent = 0
        while sent < count:
            n = min(batch, count - sent)
            for _ in range(n):
                victim.sendto(wire, (LOOPBACK, port))
            sent += n
            victim.settimeout(0.1 if sent < count else 1.0)
            while len(replies) < sent:
                try:
                    replies.append(dns.message.from_wire(victim.recv(4096)))
                except socket.timeout:
                    break
    return replies


def _kinds(replies, client: bytes) -> tuple[int, int, int]:
    """(full answers, BADCOOKIE, truncated) among C{replies}; each BADCOOKIE checked to carry C{client}."""
    full = badcookie = truncated = 0
    for reply in replies:
        if reply.flags & dns.flags.TC:
            truncated += 1
        elif reply.rcode() == dns.rcode.BADCOOKIE:
            assert not reply.answer
            cookie = cookie_of(reply)
            assert cookie is not None and cookie[0] == client and len(cookie[1]) == 16, reply
            badcookie += 1
        elif has_record(reply):
            full += 1
        else:
            raise AssertionError(f"unexpected reply:\n{reply}")
    return full, badcookie, truncated


FLOOD = 1_000


def test_rate_limit_with_cookies(tmp_path):
    """
    responses_per_second = 5, slip = 2, a flood from 127.0.0.2 with a client
    cookie only: BADCOOKIE on the slip turns, never TC, the rest dropped.
    The same client with the server cookie of a BADCOOKIE: 200 queries in a
    row all answered in full, though its bucket is empty.
    """
    secdns, http = start_secdns(tmp_path, "[rate_limit]\nresponses_per_second = 5\nslip = 2\n")
    try:
        port = secdns.port
        client = os.urandom(8)
        started = time.monotonic()
        replies = _flood(port, cookie_query(client).to_wire(), FLOOD)
        took = time.monotonic() - started
        full, badcookie, truncated = _kinds(replies, client)
        print(f"\n{FLOOD} queries in {took:.2f} s: {full} answered, {badcookie} BADCOOKIE, {truncated} TC")
        assert truncated == 0
        assert badcookie > FLOOD / 4, (full, badcookie)
        assert full <= 5 + 5 * (took + 1.5), full  # the bucket, and what refilled meanwhile
        assert FLOOD - full - badcookie > FLOOD / 4  # the other half dropped
        server = next(cookie_of(r)[1] for r in replies if r.rcode() == dns.rcode.BADCOOKIE)

        # With that server cookie: exempt, however empty the bucket.
        exempt_before = metric(http, "secdns_rate_limited_responses_total", "action", "cookie")
        wire = cookie_query(client, server).to_wire()
        answered = 0
        started = time.monotonic()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as victim:
            victim.bind((VICTIM, 0))
            victim.settimeout(2)
            for _ in range(200):
                victim.sendto(wire, (LOOPBACK, port))
                reply = dns.message.from_wire(victim.recv(4096))
                assert has_record(reply) and not reply.flags & dns.flags.TC, reply
                assert cookie_of(reply) == (client, server)  # echoed
                answered += 1
        took = time.monotonic() - started
        assert answered == 200
        exempt = metric(http, "secdns_rate_limited_responses_total", "action", "cookie") - exempt_before
        print(f"200 queries with the server cookie in {took:.2f} s: all answered, {exempt:.0f} past the limit")
        # They were past the limit (the flood left the bucket in debt), each let through for its cookie:
        # all but what the bucket could have refilled meanwhile.
        assert exempt >= 200 - 5 * (took + 1), exempt
        assert metric(http, "secdns_rate_limited_responses_total", "action", "badcookie") >= badcookie
        assert metric(http, "secdns_rate_limited_responses_total", "action", "slipped") == 0
        assert metric(http, "secdns_rate_limited_responses_total", "action", "dropped") > 0
        # A client without cookies is still slipped TC, as before.
        plain = dns.message.make_query(QNAME, "A").to_wire()
        _, _, truncated = _kinds(_flood(port, plain, 20), client)
        assert truncated > 0
    finally:
        secdns.stop()


def test_rate_limit_cookie_policy_badcookie(tmp_path):
    """cookie_policy = "badcookie": every limited query with a client cookie gets BADCOOKIE, none is dropped."""
    secdns, http = start_secdns(
        tmp_path, '[rate_limit]\nresponses_per_second = 5\nslip = 2\ncookie_policy = "badcookie"\n'
    )
    try:
        client = os.urandom(8)
        replies = _flood(secdns.port, cookie_query(client).to_wire(), FLOOD)
        full, badcookie, truncated = _kinds(replies, client)
        print(f"\n{FLOOD} queries: {len(replies)} replies, {full} answered, {badcookie} BADCOOKIE, {truncated} TC")
        assert truncated == 0
        assert metric(http, "secdns_rate_limited_responses_total", "action", "dropped") == 0
        assert metric(http, "secdns_rate_limited_responses_total", "action", "badcookie") == FLOOD - full
        assert len(replies) >= FLOOD - 10, len(replies)  # a reply to each (a few UDP losses allowed)
        assert badcookie >= FLOOD - full - 10
    finally:
        secdns.stop()


def test_cookie_queries_counted_once_under_rate_limit(tmp_path):
    """secdns_cookie_queries_total counts queries: N queries with a client cookie count N, limited or not."""
    secdns, http = start_secdns(tmp_path, "[rate_limit]\nresponses_per_second = 5\nslip = 2\n")
    try:
        replies = _flood(secdns.port, cookie_query(os.urandom(8)).to_wire(), 100)
        assert len(replies) > 25  # the bucket's, and BADCOOKIE on the slip turns
        assert metric(http, "secdns_cookie_queries_total", "cookie", "client") == 100
    finally:
        secdns.stop()
