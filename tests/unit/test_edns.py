"""EDNS (RFC 6891) as QueryHandler applies it: OPT echoed, the client's UDP size honoured, TC and BADVERS."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from secdns.config import ZoneConfig
from secdns.server.dispatch import QueryHandler, Request
from secdns.zones.zone import Zone
from secdns.zones.version import from_zone
from secdns.zones.zonemap import ZoneDB

ORIGIN = dns.name.from_text("example.org")
MAX_UDP = 1232

# "small" answers in about 300 bytes, "mid" in about 700 (over 512, under
# 1232) and "big" in about 1700.
ZONE = """\
$TTL 300
@    IN SOA ns1 hostmaster 1 7200 3600 1209600 300
     IN NS  ns1
ns1  IN A   192.0.2.1
www  IN A   192.0.2.80
$GENERATE 1-15 small A 10.0.2.$
$GENERATE 1-40 mid A 10.0.0.$
$GENERATE 1-100 big A 10.0.1.$
"""

UDP = Request("127.0.0.1", 53000, False)
TCP = Request("127.0.0.1", 53000, True)


@pytest.fixture
def handler() -> QueryHandler:
    data = from_zone(dns.zone.from_text(ZONE, ORIGIN, relativize=False))
    zone = Zone(ZoneConfig(ORIGIN, "primary", file="example.org.zone"), data)
    return QueryHandler(ZoneDB.of([zone]), max_udp_size=MAX_UDP)


def ask(handler, qname, request=UDP, twice=True, **kw) -> tuple[dns.message.Message, int]:
    """
    The response and its size.  Asked twice by default, so that both the
    first answer and the remembered one (the fast path) are checked alike.
    """
    wire = dns.message.make_query(qname, "A", **kw).to_wire()
    responses = [handler.answer(wire, request) for _ in range(2 if twice else 1)]
    assert responses[0] == responses[-1]
    return dns.message.from_wire(responses[-1]), len(responses[-1])


class TestOpt:
    def test_no_opt_without_edns(self, handler):
        """A query without OPT gets a response without OPT."""
        response, _ = ask(handler, "www.example.org")
        assert response.edns == -1

    def test_opt_echoed(self, handler):
        """A query with OPT gets an OPT of version 0 advertising our UDP size."""
        response, _ = ask(handler, "www.example.org", use_edns=0, payload=4096)
        assert response.edns == 0
        assert response.payload == MAX_UDP
        assert not response.ednsflags & dns.flags.DO

    def test_do_bit_echoed(self, handler):
        """The DO bit of the query is echoed in the response's OPT (RFC 3225)."""
        response, _ = ask(handler, "www.example.org", use_edns=0, want_dnssec=True)
        assert response.ednsflags & dns.flags.DO

    def test_opt_on_errors(self, handler):
        """Error responses to EDNS queries carry an OPT too."""
        response, _ = ask(handler, "www.example.com", use_edns=0)
        assert response.rcode() == dns.rcode.REFUSED
        assert response.edns == 0

    def test_badvers(self, handler):
        """A query with EDNS version 1 is answered BADVERS, with an OPT of version 0 and no answer."""
        response, _ = ask(handler, "www.example.org", use_edns=1)
        assert response.rcode() == dns.rcode.BADVERS
        assert response.edns == 0
        assert response.answer == []


class TestUdpSize:
    def test_512_without_edns(self, handler):
        """Without EDNS, an answer over 512 bytes is cut to a TC=1 response with only the question."""
        response, size = ask(handler, "mid.example.org")
        assert size <= 512
        assert response.flags & dns.flags.TC
        assert response.answer == [] and response.authority == []
        assert response.question[0].name == dns.name.from_text("mid.example.org")

    def test_client_payload_honoured(self, handler):
        """With EDNS, an answer that fits the client's advertised size is sent whole."""
        response, size = ask(handler, "mid.example.org", use_edns=0, payload=1232)
        assert 512 < size <= 1232
        assert not response.flags & dns.flags.TC
        assert len(response.answer[0]) == 40

    def test_small_client_payload_honoured(self, handler):
        """An EDNS client that advertises 512 bytes gets TC=1 for an answer that does not fit."""
        response, size = ask(handler, "mid.example.org", use_edns=0, payload=512)
        assert size <= 512
        assert response.flags & dns.flags.TC
        assert response.edns == 0

    def test_payload_below_512_is_512(self, handler):
        """An advertised size under 512 is taken as 512 (RFC 6891 section 6.2.5)."""
        response, size = ask(handler, "small.example.org", use_edns=0, payload=100)
        assert not response.flags & dns.flags.TC
        assert 100 < size <= 512

    def test_capped_at_max_udp_size(self, handler):
        """A client that advertises 4096 bytes still gets at most max_udp_size, with TC=1 when over."""
        response, size = ask(handler, "big.example.org", use_edns=0, payload=4096)
        assert size <= MAX_UDP
        assert response.flags & dns.flags.TC
        assert response.answer == []

    def test_tcp_not_truncated(self, handler):
        """Over TCP the whole answer is sent, whatever its size."""
        response, size = ask(handler, "big.example.org", request=TCP)
        assert size > MAX_UDP
        assert not response.flags & dns.flags.TC
        assert len(response.answer[0]) == 100

    def test_truncated_then_whole(self, handler):
        """The same question is truncated for a small client and whole for a large one, in either order."""
        small, _ = ask(handler, "mid.example.org", twice=False)
        large, _ = ask(handler, "mid.example.org", use_edns=0, payload=4096, twice=False)
        again, _ = ask(handler, "mid.example.org", twice=False)
        assert small.flags & dns.flags.TC and again.flags & dns.flags.TC
        assert not large.flags & dns.flags.TC
