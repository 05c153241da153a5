"""secdns.server.rrl: response rate limiting, per client network and response class."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
from twisted.internet.task import Clock

from secdns.server.rrl import RateLimiter, Verdict, truncated


def response(qname: str = "www.example.org", rdtype: str = "A", rcode: int = dns.rcode.NOERROR) -> bytes:
    answer = dns.message.make_response(dns.message.make_query(qname, rdtype))
    answer.set_rcode(rcode)
    return answer.to_wire()


def limiter(**kw) -> tuple[RateLimiter, Clock]:
    clock = Clock()
    return RateLimiter(clock=clock.seconds, **kw), clock


def test_bucket_then_drop_and_slip():
    rrl, clock = limiter(responses_per_second=5, slip=2)
    verdicts = [rrl.judge("192.0.2.7", response()) for _ in range(11)]
    assert verdicts[:5] == [Verdict.SEND] * 5
    assert verdicts[5:] == [Verdict.DROP, Verdict.SLIP] * 3
    clock.advance(1)  # but it owes 6: still limited for a while
    assert rrl.judge("192.0.2.7", response()) is not Verdict.SEND
    clock.advance(10)
    assert rrl.judge("192.0.2.7", response()) is Verdict.SEND
    assert rrl.counts == {"send": 6, "drop": 4, "slip": 3}


def test_classes_and_networks_are_counted_apart():
    rrl, _ = limiter(responses_per_second=1, slip=0)
    assert rrl.judge("192.0.2.7", response()) is Verdict.SEND
    assert rrl.judge("192.0.2.8", response()) is Verdict.DROP  # the same /24
    assert rrl.judge("198.51.100.1", response()) is Verdict.SEND  # another network
    assert rrl.judge("192.0.2.7", response("mail.example.org")) is Verdict.SEND  # another name
    assert rrl.judge("192.0.2.7", response(rdtype="AAAA")) is Verdict.SEND  # another type
    assert rrl.judge("192.0.2.7", response("WWW.Example.ORG")) is Verdict.DROP  # case does not make another
    assert rrl.judge("192.0.2.7", response("nx1.example.org", rcode=dns.rcode.NXDOMAIN)) is Verdict.SEND
    assert rrl.judge("192.0.2.7", response("nx2.example.org", rcode=dns.rcode.NXDOMAIN)) is Verdict.DROP  # NXDOMAIN alike
    assert rrl.judge("192.0.2.7", response(rcode=dns.rcode.REFUSED)) is Verdict.SEND


def test_truncated_is_an_empty_answer_with_tc():
    full = dns.message.make_response(dns.message.make_query("www.example.org", "A", use_edns=0))
    full.answer.append(dns.rrset.from_text("www.example.org.", 300, "IN", "A", "192.0.2.80"))
    slipped = dns.message.from_wire(truncated(full.to_wire()))
    assert slipped.flags & dns.flags.TC and slipped.flags & dns.flags.QR
    assert slipped.id == full.id and slipped.question == full.question
    assert not slipped.answer and not slipped.additional
