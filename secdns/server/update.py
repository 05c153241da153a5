# -*- test-case-name: tests.unit.test_update_handler -*-
"""
DNS UPDATE in (RFC 2136): the dispatcher's handler of opcode UPDATE, over
UDP and TCP alike.

The dispatcher has verified the request's TSIG signature (a bad one never
gets here: NOTAUTH with BADKEY, BADSIG or BADTIME, RFC 8945) and signs
what this returns with the request's key.  Here::

    read the sections (L{secdns.wire.update}) ──── malformed ──> FORMERR
    not for us, or not allowed (L{secdns.zones.update.authorise}) ─> NOTAUTH, REFUSED
      │ one update of a zone at a time, in the order they came (a zone's
      │ queue): each is decided on the version the one before it made
      ▼
    decide (L{secdns.zones.update.decide}) ──────── an rcode ──> that rcode
      │ changes (none: NOERROR at once, no new version)
      ▼
    edit(zone, changes, source): the core's one commit path (serial, journal,
      store, swap, NOTIFY) ──────────────────────────────────────> NOERROR
      │ failed
      ├─ the pinned SOA moved (an API edit came first) ──> decide again on
      │    the new version, up to L{ATTEMPTS} times
      ├─ a prerequisite ────────────────> NXDOMAIN, YXDOMAIN, NXRRSET, YXRRSET
      ├─ the zone it would make is invalid ───────────────────────> REFUSED
      └─ the zone went away ─> NOTAUTH; anything else ─────────────> SERVFAIL

The response comes when the commit path has finished (a Deferred, which
the protocols wait for); it echoes the zone section, as BIND's does.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from secdns.server.loglimit import LIMITER
from secdns.server.render import Edns, Question, render_error
from secdns.wire.update import UpdateRequest, read_update
from secdns.zones.edit import Change, EditRefused
from secdns.zones.update import Decision, authorise, decide, failed_rcode
from secdns.zones.version import ZoneData
from secdns.zones.zone import Zone, zone_label
from secdns.zones.zonemap import ZoneDB

__all__ = ["UpdateHandler", "ATTEMPTS"]

log = Logger()

#: How many times an update is decided again when other edits of its zone
#: (the API's) keep coming first; past that it answers SERVFAIL.
ATTEMPTS = 5

NOERROR = dns.rcode.NOERROR
#: What a refusal is logged at: a warning when someone may be probing, else info.
_WARN = frozenset((dns.rcode.REFUSED, dns.rcode.NOTAUTH, dns.rcode.SERVFAIL))


class UpdateHandler:
    """
    Answers UPDATE requests (see the module docstring); a
    L{secdns.server.dispatch.QueryHandler} handler for opcode UPDATE.

    @ivar edit: C{edit(zone name, changes, source)} returns a Deferred that
        fires with the new version once it is served, or fails with
        L{EditRefused} having changed nothing (L{secdns.core.registry.ZoneRegistry.edit}).
    @ivar zones: returns the zone map being served.
    @ivar payload: the UDP payload size put in the OPT of responses to EDNS requests.
    @ivar counts: updates answered, by (zone, rcode text); the zone is ""
        when the update named no zone of ours.
    """

    def __init__(
        self,
        edit: Callable[[dns.name.Name, Sequence[Change], str], defer.Deferred],
        zones: Callable[[], ZoneDB],
        payload: int = 1232,
        attempts: int = ATTEMPTS,
    ) -> None:
        self.edit = edit
        self.zones = zones
        self.payload = payload
        self.attempts = attempts
        self.counts: Counter[tuple[str, str]] = Counter()
        #: per zone: its UPDATEs, one at a time (only while some are waiting or running)
        self._queues: dict[dns.name.Name, defer.DeferredLock] = {}

    def __call__(self, message: dns.message.Message, request, zone: Zone | None) -> bytes | defer.Deferred:
        try:
            update = read_update(message.wire)
        except dns.exception.FormError as e:
            if LIMITER.allow("UPDATE refused", request.address):
                log.info("UPDATE from {address}: FORMERR: {error}", address=request.address, error=e)
            self.counts[("", "FORMERR")] += 1
            return self._render(message, None, dns.rcode.FORMERR)
        zone = self.zones().get(update.zone)
        refused = authorise(update, zone, request.key_name)
        if refused is not None:
            return self._answer(message, update, request, zone, refused.rcode, refused.reason)
        queue = self._queues.get(zone.name)
        if queue is None:
            queue = self._queues[zone.name] = defer.DeferredLock()
        return queue.run(self._decide, message, update, request, 1).addBoth(self._dequeued, zone.name, queue)

    def _dequeued(self, result, name: dns.name.Name, queue: defer.DeferredLock):
        if not queue.locked and not queue.waiting and self._queues.get(name) is queue:
            del self._queues[name]
        return result

    def _decide(self, message, update: UpdateRequest, request, attempt: int) -> bytes | defer.Deferred:
        zone = self.zones().get(update.zone)
        decision = decide(update, zone, request.key_name)
        for why in decision.ignored:
            log.info("zone {zone}: UPDATE from {who}: ignored {why}", zone=zone.label, who=_who(request), why=why)
        if decision.rcode != NOERROR or not decision.changes:
            return self._answer(message, update, request, zone, decision.rcode, decision.reason)
        edited = defer.maybeDeferred(self.edit, zone.name, decision.changes, f"DNS UPDATE from {_who(request)}")
        return edited.addCallbacks(
            self._edited,
            self._failed,
            callbackArgs=(message, update, request, zone),
            errbackArgs=(message, update, request, zone, decision, attempt),
        )

    def _edited(self, new: ZoneData, message, update, request, zone: Zone) -> bytes:
        return self._answer(message, update, request, zone, NOERROR, f"serial {new.serial}")

    def _failed(self, failure: Failure, message, update, request, zone: Zone, decision: Decision, attempt: int):
        error = failure.value
        if isinstance(error, EditRefused):
            if error.kind == "precondition" and error.change == decision.pin:
                if attempt < self.attempts:
                    return self._decide(message, update, request, attempt + 1)
                rcode, reason = dns.rcode.SERVFAIL, f"zone {zone.label} kept changing under {attempt} attempts"
            elif error.kind == "precondition":
                rcode, reason = (dns.rcode.NXRRSET if error.change is None else failed_rcode(error.change)), error.message
            elif error.kind == "invalid":
                rcode, reason = dns.rcode.REFUSED, error.message
            else:
                rcode, reason = dns.rcode.SERVFAIL, error.message
        elif isinstance(error, KeyError):  # the registry's NoSuchZone: removed meanwhile
            rcode, reason = dns.rcode.NOTAUTH, f"zone {zone.label} was removed meanwhile"
        else:
            log.failure("zone {zone}: UPDATE from {who} failed", failure, zone=zone.label, who=_who(request))
            rcode, reason = dns.rcode.SERVFAIL, str(error)
        return self._answer(message, update, request, zone, rcode, reason)

    def _answer(self, message, update: UpdateRequest, request, zone: Zone | None, rcode: int, reason: str) -> bytes:
        ours = zone is not None and zone.name == update.zone
        label = zone.label if ours else ""
        text = dns.rcode.to_text(rcode)
        self.counts[(label, text)] += 1
        if (rcode != NOERROR or reason == "nothing to change") and (
            rcode == NOERROR or LIMITER.allow("UPDATE refused", request.address)
        ):
            emit = log.warn if rcode in _WARN else log.info
            emit(
                "UPDATE from {who} for {zone}: {rcode}: {reason}",
                who=_who(request),
                zone=label or zone_label(update.zone),
                rcode=text,
                reason=reason,
            )
        return self._render(message, update, rcode)

    def _render(self, message: dns.message.Message, update: UpdateRequest | None, rcode: int) -> bytes:
        question = None if update is None else Question(update.zone, dns.rdatatype.SOA, update.zone_class)
        edns = Edns(self.payload, bool(message.ednsflags & dns.flags.DO)) if message.edns >= 0 else None
        return render_error(message.id, message.flags, question, rcode, edns, opcode=dns.opcode.UPDATE)


def _who(request) -> str:
    return request.address if request.key_name is None else f"{request.address} (key {zone_label(request.key_name)})"
