# -*- test-case-name: tests.unit.test_ingress -*-
"""
NOTIFY in (RFC 1996 section 3): answered at once, and only schedules work::

    not a question for a zone apex we have ───────> NOTAUTH  (logged)
    not from one of the zone's masters (and key) ─> REFUSED  (logged)
    otherwise ────────────────────────────────────> NOERROR, AA, question echoed;
                                                    a refresh, unless the SOA it
                                                    carries is the serial we serve
"""

from __future__ import annotations

from typing import Callable

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
from twisted.logger import Logger

from secdns.server.loglimit import LIMITER
from secdns.server.render import Edns, Question, render_error
from secdns.zones import acl
from secdns.zones.zone import Zone, zone_label

__all__ = ["NotifyHandler"]

log = Logger()


class NotifyHandler:
    """
    Answers NOTIFY requests (see the module docstring); a
    L{secdns.server.dispatch.QueryHandler} handler for opcode NOTIFY.

    @ivar notified: told C{(zone name, serial or None, address)} of each
        NOTIFY the zone's ACL lets in; returns whether a refresh was
        scheduled, or L{None} when the zone is not refreshed from masters.
    @ivar payload: the UDP payload size put in the OPT of responses to EDNS requests.
    """

    def __init__(self, notified: Callable[[dns.name.Name, int | None, str], bool | None], payload: int = 1232) -> None:
        self.notified = notified
        self.payload = payload

    def __call__(self, message: dns.message.Message, request, zone: Zone | None) -> bytes:
        rrset = message.question[0]
        question = Question(rrset.name, rrset.rdtype, rrset.rdclass)
        who = request.address if request.key_name is None else f"{request.address} (key {zone_label(request.key_name)})"
        if question.rdtype != dns.rdatatype.SOA:
            if LIMITER.allow("NOTIFY refused", request.address):
                log.info("NOTIFY from {address} for {qname} asks type {qtype}, not SOA: FORMERR", address=who, qname=question.name, qtype=dns.rdatatype.to_text(question.rdtype))
            return self._respond(message, question, dns.rcode.FORMERR)
        if zone is None or zone.name != question.name:
            if LIMITER.allow("NOTIFY refused", request.address):
                log.warn("NOTIFY from {address} for {qname}, a zone we do not have: NOTAUTH", address=who, qname=question.name)
            return self._respond(message, question, dns.rcode.NOTAUTH)
        decision = acl.check(zone.config, acl.Action.NOTIFY, request.address, request.key_name)
        serial = _serial_of(message, question.name)
        scheduled = self.notified(zone.name, serial, request.address) if decision else None
        if scheduled is None:
            reason = decision.reason or "the zone is not being refreshed"
            if LIMITER.allow("NOTIFY refused", request.address):
                log.warn("NOTIFY for zone {zone} from {address} refused: {reason}", zone=zone.label, address=who, reason=reason)
            return self._respond(message, question, dns.rcode.REFUSED)
        log.info(
            "zone {zone}: NOTIFY from {address}, serial {serial}: {what}",
            zone=zone.label,
            address=who,
            serial="-" if serial is None else serial,
            what="refresh scheduled" if scheduled else "that is the serial we serve",
        )
        return self._respond(message, question, dns.rcode.NOERROR)

    def _respond(self, message: dns.message.Message, question: Question, rcode: int) -> bytes:
        flags = dns.flags.QR | dns.opcode.to_flags(dns.opcode.NOTIFY) | (message.flags & dns.flags.RD) | rcode
        if rcode == dns.rcode.NOERROR:
            flags |= dns.flags.AA
        edns = Edns(self.payload) if message.edns >= 0 else None
        return render_error(message.id, message.flags, question, rcode, edns, opcode=dns.opcode.NOTIFY, flags=flags)


def _serial_of(message: dns.message.Message, apex: dns.name.Name) -> int | None:
    """The serial of the SOA a NOTIFY carries (RFC 1996 section 3.7), if it carries one."""
    for rrset in message.answer:
        if rrset.rdtype == dns.rdatatype.SOA and rrset.name == apex and len(rrset):
            return rrset[0].serial
    return None
