"""secdns.transfer.refresh: the refresh state machine of a secondary zone, with a Clock and scripted masters."""

from __future__ import annotations

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest
from twisted.internet.task import Clock

from secdns.config import PeerConfig, TimersConfig, ZoneConfig
from secdns.core.commit import Committer
from secdns.transfer.schedule import Event
from secdns.transfer.refresh import JITTER, SecondaryZone, soa_timers
from secdns.store.database import Store
from secdns.testing import FakeMasterClient, ScriptedMaster
from secdns.transfer.transfer_in import Limits
from secdns.zones.zone import Zone, ZoneState
from secdns.zones.version import from_zone

ORIGIN = dns.name.from_text("example.com")
START = 1_700_000_000.0
# SOA timers of the scripted zones: refresh 3600, retry 600, expire 86400.
REFRESH, RETRY, EXPIRE = 3600, 600, 86400
CLAMPS = TimersConfig(min_refresh=60, min_retry=10, min_expire=600)
M1, M2 = "192.0.2.1", "192.0.2.2"


def soa(serial: int, owner: str = "example.com.") -> str:
    return f"{owner} 300 IN SOA ns1.example.com. hostmaster.example.com. {serial} {REFRESH} {RETRY} {EXPIRE} 300"


def records(serial: int, extra=()) -> list[str]:
    return [
        soa(serial),
        "example.com. 300 IN NS ns1.example.com.",
        "ns1.example.com. 300 IN A 192.0.2.1",
        f"www.example.com. 300 IN TXT \"version {serial}\"",
        *extra,
    ]


def message(*texts: str, rcode=dns.rcode.NOERROR, rdtype=dns.rdatatype.AXFR) -> bytes:
    response = dns.message.make_response(dns.message.make_query(ORIGIN, rdtype))
    response.set_rcode(rcode)
    for text in texts:
        name, ttl, rdclass, kind, rdata = text.split(None, 4)
        response.answer.append(dns.rrset.from_text(name, int(ttl), rdclass, kind, rdata))
    return response.to_wire()


def axfr(serial: int, extra=()) -> list[bytes]:
    """An AXFR response in two messages."""
    body = records(serial, extra)
    return [message(*body[:2]), message(*body[2:], soa(serial))]


def ixfr(old: int, new: int) -> list[bytes]:
    """An IXFR response changing the TXT record from version old to version new."""
    return [
        message(
            soa(new),
            soa(old),
            f'www.example.com. 300 IN TXT "version {old}"',
            soa(new),
            f'www.example.com. 300 IN TXT "version {new}"',
            soa(new),
            rdtype=dns.rdatatype.IXFR,
        )
    ]


def data_of(serial: int):
    return from_zone(dns.zone.from_text("\n".join(records(serial)), origin=ORIGIN, relativize=False))


class Setup:
    """A secondary zone with its store, clock and scripted masters."""

    def __init__(self, *masters: tuple[str, ScriptedMaster], store=None, clock=None, limits=Limits(), random=lambda: 0.0):
        self.clock = clock or Clock()
        if clock is None:
            self.clock.advance(START)
        self.store = store or Store(":memory:")
        config = ZoneConfig(ORIGIN, "secondary", external_masters=tuple(PeerConfig(a, 53) for a, _ in masters))
        self.zone = Zone(config)
        self.masters = dict(masters)
        self.client = FakeMasterClient(self.clock, self.masters, limits)
        committer = Committer(self.store, self.clock)
        self.secondary = SecondaryZone(
            self.zone, CLAMPS, self.store, self.clock, self.client, random=random, commit=committer.commit
        )

    def run(self, seconds: float = 0) -> None:
        """Let the clock run, a turn at a time, for C{seconds}."""
        self.clock.advance(0)
        for _ in range(int(seconds)):
            self.clock.advance(1)
            self.clock.advance(0)
        self.clock.advance(0)

    def started(self) -> "Setup":
        self.secondary.start()
        self.run()
        return self

    def txt(self) -> str:
        rds = self.zone.data.rdataset(dns.name.from_text("www.example.com"), dns.rdatatype.TXT)
        return rds[0].to_text()

    @property
    def requests(self):
        return self.client.requests


# -- a first transfer, and refreshes


def test_first_refresh_is_an_axfr_stored_before_served():
    """A zone without a copy is transferred by AXFR, stored, then served, and its timers come from its SOA."""
    setup = Setup((M1, ScriptedMaster(serial=7, axfr=axfr(7)))).started()
    assert setup.requests == [(M1, "SOA"), (M1, "AXFR")]
    assert setup.zone.serial == 7 and setup.zone.state is ZoneState.LOADED
    stored = setup.store.load_zone(ORIGIN)
    assert stored.data.serial == 7
    timers = setup.store.load_timers(ORIGIN)
    assert timers.next_refresh == START + REFRESH
    assert timers.expire_at == START + EXPIRE
    assert timers.last_master == f"{M1}#53"
    assert setup.secondary.successes == 1 and setup.secondary.failures == 0
    assert setup.secondary.events.when(Event.REFRESH) == START + REFRESH
    assert setup.secondary.events.when(Event.EXPIRE) == START + EXPIRE


def test_refresh_when_up_to_date_only_asks_the_soa():
    """At REFRESH time a master with our serial costs one SOA query, and moves the expire deadline."""
    setup = Setup((M1, ScriptedMaster(serial=7, axfr=axfr(7)))).started()
    setup.clock.advance(REFRESH)
    setup.run()
    assert setup.requests == [(M1, "SOA"), (M1, "AXFR"), (M1, "SOA")]
    assert setup.secondary.events.when(Event.EXPIRE) == START + REFRESH + EXPIRE
    assert setup.secondary.successes == 1


def test_newer_serial_is_fetched_by_ixfr():
    """A newer serial on the master is fetched by IXFR and served."""
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master)).started()
    master.serial, master.ixfr = 8, ixfr(7, 8)
    setup.secondary.refresh_now()
    setup.run()
    assert setup.requests[-2:] == [(M1, "SOA"), (M1, "IXFR")]
    assert setup.zone.serial == 8 and setup.txt() == '"version 8"'
    assert setup.store.load_zone(ORIGIN).data.serial == 8
    assert setup.secondary.successes == 2


@pytest.mark.parametrize(
    "answer",
    [
        [message(rcode=dns.rcode.NOTIMP, rdtype=dns.rdatatype.IXFR)],
        [message(rcode=dns.rcode.REFUSED, rdtype=dns.rdatatype.IXFR)],
        [message(rcode=dns.rcode.FORMERR, rdtype=dns.rdatatype.IXFR)],
        ixfr(6, 8),  # a diff from a serial we do not have: a gap
        [message(soa(8), soa(7), 'www.example.com. 300 IN TXT "not ours"', soa(8), soa(8), rdtype=dns.rdatatype.IXFR)],
    ],
    ids=["NOTIMP", "REFUSED", "FORMERR", "serial gap", "deletes what we lack"],
)
def test_ixfr_falls_back_to_axfr(answer):
    """An IXFR the master refuses, or that cannot be applied, is followed by an AXFR from the same master."""
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master)).started()
    master.serial, master.ixfr, master.axfr = 8, answer, axfr(8)
    setup.secondary.refresh_now()
    setup.run()
    assert setup.requests[-3:] == [(M1, "SOA"), (M1, "IXFR"), (M1, "AXFR")]
    assert setup.zone.serial == 8 and setup.txt() == '"version 8"'
    assert setup.secondary.failures == 0


def test_ixfr_answered_with_whole_zone_needs_no_fallback():
    """An IXFR answered AXFR-style is applied as a whole zone, without a second request."""
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master)).started()
    master.serial, master.ixfr = 8, axfr(8)
    setup.secondary.refresh_now()
    setup.run()
    assert setup.requests[-2:] == [(M1, "SOA"), (M1, "IXFR")]
    assert setup.zone.serial == 8


def test_serial_wrap_around_is_newer():
    """A master whose serial wrapped past 2**32 (4294967295 -> 3) is newer, and transferred."""
    master = ScriptedMaster(serial=4294967295, axfr=axfr(4294967295))
    setup = Setup((M1, master)).started()
    master.serial, master.ixfr = 3, ixfr(4294967295, 3)
    setup.secondary.refresh_now()
    setup.run()
    assert setup.zone.serial == 3


def test_master_with_older_serial_is_not_applied():
    """A master answering an older serial is logged and not applied; the refresh counts as failed."""
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master)).started()
    master.serial, master.axfr = 6, axfr(6)
    setup.secondary.refresh_now()
    setup.run()
    assert setup.requests[-1] == (M1, "SOA")
    assert setup.zone.serial == 7
    status = setup.secondary.status()
    assert status.failures == 1
    assert "serial 6 is older than ours (7)" in status.failure_reason


# -- failures keep the old copy


def refresh_fails(master_change) -> Setup:
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master)).started()
    master_change(master)
    setup.secondary.refresh_now()
    setup.run()
    assert setup.zone.serial == 7 and setup.txt() == '"version 7"'
    assert setup.store.load_zone(ORIGIN).data.serial == 7
    assert setup.secondary.failures == 1
    return setup


def test_transfer_cut_off_half_way():
    """A transfer whose connection drops half way changes nothing, and the reason says so."""

    def change(master):
        master.serial, master.ixfr, master.cut_after = 8, axfr(8), 1

    setup = refresh_fails(change)
    assert "connection closed after 1 messages" in setup.secondary.status().failure_reason


def test_record_outside_the_zone():
    """A transfer holding a record outside the zone changes nothing, and the reason names the record."""

    def change(master):
        master.serial, master.ixfr = 8, axfr(8, ["evil.example.net. 300 IN A 192.0.2.66"])

    setup = refresh_fails(change)
    assert "evil.example.net. A is outside the zone" in setup.secondary.status().failure_reason


def test_missing_final_soa():
    """A transfer that ends without its final SOA changes nothing."""

    def change(master):
        master.serial, master.ixfr = 8, [message(*records(8))]  # then the master closes

    setup = refresh_fails(change)
    assert "before the response was complete" in setup.secondary.status().failure_reason


def test_limits_exceeded():
    """A transfer over transfer.max_records changes nothing, and the reason names the limit."""
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master), limits=Limits(max_records=6))
    setup.started()
    assert setup.zone.serial == 7
    master.serial, master.ixfr = 8, axfr(8, [f"h{i}.example.com. 300 IN A 192.0.2.{i}" for i in range(5)])
    setup.secondary.refresh_now()
    setup.run()
    assert setup.zone.serial == 7
    assert "transfer.max_records (6 records)" in setup.secondary.status().failure_reason


def test_failure_is_retried_after_retry_with_jitter():
    """A failed refresh is retried after the SOA's RETRY (clamped), plus jitter of at most 10%."""
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master), random=lambda: 0.5).started()
    master.down = True
    setup.clock.advance(REFRESH)
    setup.run(master.timeout)
    assert setup.secondary.failures == 1
    due = setup.secondary.events.when(Event.REFRESH)
    assert due == setup.clock.seconds() + RETRY * (1 + JITTER * 0.5)
    assert setup.store.load_timers(ORIGIN).failure_reason.endswith("no answer over UDP within 5 s")


def test_recovery_with_the_same_serial_is_published():
    """A refresh that succeeds after failed ones, with nothing to transfer, publishes RefreshRecovered (once)."""
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master)).started()
    published = []
    setup.secondary._publish = published.append
    setup.clock.advance(REFRESH)
    setup.run(master.timeout)
    assert published == []  # up to date, nothing failed before: nothing to say
    master.down = True
    setup.clock.advance(REFRESH)
    setup.run(master.timeout)
    master.down = False
    setup.clock.advance(RETRY)
    setup.run(master.timeout)
    setup.clock.advance(REFRESH)
    setup.run(master.timeout)
    kinds = [type(event).__name__ for event in published]
    assert kinds == ["TransferFailed", "RefreshRecovered"]
    assert published[1].serial == 7 and published[1].master == f"{M1}#53"


def test_primary_down_retries_then_expires():
    """With the master down, refreshes repeat every RETRY, and at EXPIRE the zone answers SERVFAIL (expired)."""
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master)).started()
    master.down = True
    soa_queries_before = setup.requests.count((M1, "SOA"))
    setup.run(EXPIRE - 10)
    assert setup.zone.state is ZoneState.LOADED
    setup.run(20)
    assert setup.zone.expired and setup.zone.state is ZoneState.EXPIRED
    attempts = setup.requests.count((M1, "SOA")) - soa_queries_before
    # One at REFRESH, then one RETRY after each 5 s timeout, for the 86410 s run.
    assert attempts == 1 + (EXPIRE + 10 - REFRESH) // (RETRY + 5)
    assert setup.secondary.failures in (attempts, attempts - 1)
    # The master comes back: the next retry serves the zone again.
    master.down = False
    setup.run(RETRY + 10)
    assert not setup.zone.expired and setup.zone.state is ZoneState.LOADED


def test_timers_are_clamped():
    """SOA values outside the [timers] clamps are raised or lowered to them."""
    rdata = data_of(7).soa[0].replace(refresh=1, retry=99999999, expire=5)
    assert soa_timers(rdata, TimersConfig(min_refresh=60, max_retry=7200, min_expire=3600)) == (60, 7200, 3600)


def test_unloaded_zone_retries_at_clamped_default():
    """A zone never loaded whose masters fail retries after 60 s, clamped by [timers]."""
    setup = Setup((M1, ScriptedMaster(down=True)))
    setup.secondary.clamps = TimersConfig(min_retry=1, max_retry=2)
    setup.secondary.start()
    setup.run(5)
    assert setup.secondary.failures >= 1
    assert setup.zone.state is ZoneState.UNLOADED


# -- several masters


def test_first_master_down_second_used_and_remembered():
    """With the first master down the zone comes from the second, which is asked first next time."""
    setup = Setup((M1, ScriptedMaster(down=True)), (M2, ScriptedMaster(serial=7, axfr=axfr(7))))
    setup.secondary.start()
    setup.run(6)
    assert setup.zone.serial == 7
    assert setup.requests == [(M1, "SOA"), (M2, "SOA"), (M2, "AXFR")]
    assert setup.secondary.failures == 0
    masters = {status.address: status for status in setup.secondary.status().masters}
    assert masters[M1].reachable is False and "no answer" in masters[M1].last_error
    assert masters[M2].reachable is True
    setup.secondary.refresh_now()
    setup.run()
    assert setup.requests[-1] == (M2, "SOA")


def test_all_masters_failing_is_one_failure_with_every_reason():
    """A refresh where every master fails counts once, and its reason names each master."""
    setup = Setup(
        (M1, ScriptedMaster(down=True)),
        (M2, ScriptedMaster(soa_error=RuntimeError("192.0.2.2#53 answered REFUSED"))),
    )
    setup.secondary.start()
    setup.run(6)
    status = setup.secondary.status()
    assert status.failures == 1
    assert "192.0.2.1#53" in status.failure_reason and "192.0.2.2#53 answered REFUSED" in status.failure_reason


# -- restarts


def test_restart_serves_stored_copy_and_keeps_expire_deadline():
    """After a restart the stored copy is served before any master answers, and the expire deadline is kept."""
    store = Store(":memory:")
    first = Setup((M1, ScriptedMaster(serial=7, axfr=axfr(7))), store=store).started()
    first.secondary.stop()
    clock = Clock()
    clock.advance(START + 1000)
    second = Setup((M1, ScriptedMaster(down=True)), store=store, clock=clock)
    second.secondary.start()
    assert second.zone.serial == 7 and second.zone.state is ZoneState.LOADED
    assert second.secondary.events.when(Event.EXPIRE) == START + EXPIRE
    assert second.secondary.events.when(Event.REFRESH) == START + 1000


def test_restart_after_expiry_holds_copy_as_expired():
    """A stored copy whose expire deadline passed while stopped is not served: SERVFAIL (expired)."""
    store = Store(":memory:")
    Setup((M1, ScriptedMaster(serial=7, axfr=axfr(7))), store=store).started().secondary.stop()
    clock = Clock()
    clock.advance(START + EXPIRE + 1)
    second = Setup((M1, ScriptedMaster(down=True)), store=store, clock=clock)
    second.secondary.start()
    assert second.zone.state is ZoneState.EXPIRED


def test_store_failure_keeps_serving_the_old_version():
    """A version that cannot be stored is not served."""

    class FullDisk(Store):
        def save_version(self, data, now, timers=None, **journal):
            raise OSError(28, "No space left on device")

    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master), store=FullDisk(":memory:")).started()
    assert setup.zone.state is ZoneState.UNLOADED
    assert "cannot store" in setup.secondary.status().failure_reason


def test_stop_abandons_transfer_in_flight():
    """Stopping a zone mid-transfer abandons it: nothing is served or stored."""
    setup = Setup((M1, ScriptedMaster(serial=7, axfr=axfr(7), latency=1)))
    setup.secondary.start()
    setup.run(1)  # the SOA query answered, the AXFR under way
    assert setup.requests == [(M1, "SOA"), (M1, "AXFR")]
    stopped = setup.secondary.stop()
    setup.run(5)
    assert stopped.called
    assert setup.zone.state is ZoneState.UNLOADED
    assert setup.store.load_zone(ORIGIN) is None


# -- NOTIFY


def test_notify_schedules_refresh_now():
    """A NOTIFY with a new serial makes the zone refresh at once, not at its REFRESH time."""
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master)).started()
    master.serial, master.ixfr = 8, ixfr(7, 8)
    assert setup.secondary.notify(8, M1)
    setup.run()
    assert setup.zone.serial == 8


def test_notify_with_our_serial_changes_nothing():
    """A NOTIFY carrying the serial we serve schedules nothing."""
    setup = Setup((M1, ScriptedMaster(serial=7, axfr=axfr(7)))).started()
    assert not setup.secondary.notify(7, M1)
    setup.run()
    assert setup.requests == [(M1, "SOA"), (M1, "AXFR")]
    assert setup.secondary.events.when(Event.REFRESH) == START + REFRESH


def test_burst_of_notifies_is_one_refresh():
    """A burst of NOTIFYs, before and during the refresh they cause, makes one refresh."""
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master)).started()
    master.serial, master.ixfr = 8, ixfr(7, 8)
    master.latency = 1
    for _ in range(5):
        setup.secondary.notify(8, M1)
    setup.clock.advance(0)  # the refresh has started
    for _ in range(5):
        setup.secondary.notify(8, M1)
    setup.run(5)
    assert setup.requests[2:] == [(M1, "SOA"), (M1, "IXFR")]
    assert setup.zone.serial == 8
    assert setup.secondary.events.when(Event.REFRESH) == START + 2 + REFRESH


def test_notify_of_newer_serial_during_refresh_refreshes_again():
    """A NOTIFY during a refresh for a serial newer than the one it brings makes one more refresh."""
    master = ScriptedMaster(serial=7, axfr=axfr(7))
    setup = Setup((M1, master)).started()
    master.serial, master.ixfr, master.latency = 8, ixfr(7, 8), 1
    setup.secondary.notify(8, M1)
    setup.clock.advance(0)  # the refresh has started: its SOA query is under way
    setup.secondary.notify(9, M1)
    setup.secondary.notify(9, M1)
    setup.clock.advance(1)  # the SOA answer: 8, and the IXFR starts
    setup.clock.advance(1)  # the IXFR to 8 applied; a refresh is due again at once
    assert setup.zone.serial == 8
    master.serial, master.ixfr = 9, ixfr(8, 9)
    setup.run(5)
    assert setup.zone.serial == 9
    assert setup.requests[2:] == [(M1, "SOA"), (M1, "IXFR"), (M1, "SOA"), (M1, "IXFR")]


def test_notify_prefers_its_sender():
    """The master that sent the NOTIFY is asked first."""
    setup = Setup((M1, ScriptedMaster(serial=7, axfr=axfr(7))), (M2, ScriptedMaster(serial=8, axfr=axfr(8))))
    setup.started()
    setup.secondary.notify(8, M2)
    setup.run()
    assert setup.requests[2:4] == [(M2, "SOA"), (M2, "IXFR")]
