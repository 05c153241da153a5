"""The main process's messages to its workers, what a worker forwards and hands over (secdns.server.workerlink)."""

from __future__ import annotations

import json

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rdatatype
import dns.tsigkeyring
import dns.update
import pytest

from secdns.server.workerlink import (
    COUNTS, FORWARD, HANDOVER, FrameReader, HandOvers, Sent, encode, forward_payload, frame, must_forward, read_forward,
    serves, unanswered,
)


def wire(message: dns.message.Message) -> bytes:
    return message.to_wire()


@pytest.mark.parametrize(
    "message",
    [
        dns.message.make_query("www.example.com", "A"),
        dns.message.make_query("www.example.com", "AAAA", use_edns=0),
        dns.message.make_query("www.example.com", "TXT", want_dnssec=True),
        dns.message.make_query("www.example.com", "A", use_edns=0, options=[dns.edns.GenericOption(10, b"12345678")]),
        dns.message.make_query(".", "SOA"),
    ],
    ids=["plain", "edns", "do", "cookie", "root"],
)
def test_plain_queries_are_answered_by_the_worker(message):
    assert not must_forward(wire(message))


def _notify():
    message = dns.message.make_query("example.com", "SOA")
    message.flags = dns.flags.AA
    message.set_opcode(dns.opcode.NOTIFY)
    return message


def _signed():
    message = dns.message.make_query("example.com", "SOA")
    message.use_tsig(dns.tsigkeyring.from_text({"k.": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}), "k.")
    return message


def _signed_edns():
    message = dns.message.make_query("example.com", "SOA", use_edns=0)
    message.use_tsig(dns.tsigkeyring.from_text({"k.": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}), "k.")
    return message


@pytest.mark.parametrize(
    "message",
    [
        _notify(),
        dns.update.UpdateMessage("example.com"),
        _signed(),
        _signed_edns(),
        dns.message.make_query("example.com", "AXFR"),
        dns.message.make_query("example.com", "IXFR"),
        dns.message.make_query("example.com", "AXFR", use_edns=0),
    ],
    ids=["notify", "update", "tsig", "tsig-edns", "axfr", "ixfr", "axfr-edns"],
)
def test_the_rest_goes_to_the_main_process(message):
    assert must_forward(wire(message))


def test_odd_messages():
    query = wire(dns.message.make_query("www.example.com", "A"))
    assert not must_forward(query[:11])  # no header: dropped where it is
    assert not must_forward(query[:2] + bytes([query[2] | 0x80]) + query[3:])  # a response: never answered
    # Malformed plain queries: the worker's handler says FORMERR, as the main's would.
    assert not must_forward(query[:-3])  # cut in the question
    assert not must_forward(query[:12])  # a question counted, none there
    assert not must_forward(query[:12] + b"\xc0\x0c" + query[-4:])  # a compressed question
    two = query[:5] + b"\x02" + query[6:] + query[12:]
    assert must_forward(two)  # two questions: the main process reads it whole


def test_frames_are_cut_from_any_stream():
    stream = frame(FORWARD, b"abc") + frame(COUNTS, b"{}") + frame(FORWARD, b"x" * 1000)
    for step in (1, 3, 7, len(stream)):
        reader = FrameReader()
        got = []
        for i in range(0, len(stream), step):
            got += reader.feed(stream[i : i + step])
        assert got == [(FORWARD, b"abc"), (COUNTS, b"{}"), (FORWARD, b"x" * 1000)]


def test_a_frame_too_long_is_an_error():
    with pytest.raises(ValueError):
        FrameReader().feed(b"\xff\xff\xff\xffF")


@pytest.mark.parametrize("addr", [("127.0.0.1", 53), ("2001:db8::1", 65535), ("::ffff:192.0.2.1", 1)])
def test_forwarded_datagrams_keep_their_address(addr):
    assert read_forward(forward_payload(3, addr, b"\x00\x01datagram")) == (3, addr, b"\x00\x01datagram")


SETTINGS = {"max_udp_size": 1232, "rate_limit": None, "cookies": ["00" * 16]}


def test_the_first_messages_end_with_go():
    v1 = object()
    sent = Sent()
    out = sent.messages(SETTINGS, {"a.": (v1, 1, False), "b.": (None, None, False)})
    assert out == [
        {"settings": SETTINGS},
        {"zones": [["a.", False], ["b.", False]]},
        {"version": "a.", "serial": 1},
        {"go": True},
    ]
    assert sent.messages(SETTINGS, {"a.": (v1, 1, False), "b.": (None, None, False)}) == []


def test_only_what_changed_is_sent_again():
    v1, v2, w1 = object(), object(), object()
    sent = Sent()
    sent.messages(SETTINGS, {"a.": (v1, 1, False)})
    assert sent.messages(SETTINGS, {"a.": (v2, 2, False)}) == [{"version": "a.", "serial": 2}]
    # The same serial, another version (a zone whose config changed): sent, the worker reads it again.
    assert sent.messages(SETTINGS, {"a.": (v1, 2, False)}) == [{"version": "a.", "serial": 2}]
    assert sent.messages(SETTINGS, {"a.": (v1, 2, True)}) == [{"zones": [["a.", True]]}]
    assert sent.messages(SETTINGS, {"a.": (v1, 2, True), "b.": (w1, 7, False)}) == [
        {"zones": [["a.", True], ["b.", False]]},
        {"version": "b.", "serial": 7},
    ]
    assert sent.messages(SETTINGS, {"b.": (w1, 7, False)}) == [{"zones": [["b.", False]]}]
    # A zone removed and added again: its version is sent again.
    assert sent.messages(SETTINGS, {"a.": (v1, 2, False), "b.": (w1, 7, False)})[-1] == {"version": "a.", "serial": 2}
    changed = dict(SETTINGS, max_udp_size=4096)
    assert sent.messages(changed, {"a.": (v1, 2, False), "b.": (w1, 7, False)}) == [{"settings": changed}]


def test_messages_are_json_lines():
    lines = encode([{"version": "a.", "serial": 1}, {"go": True}]).splitlines()
    assert [json.loads(line) for line in lines] == [{"version": "a.", "serial": 1}, {"go": True}]


def test_go_waits_for_the_main_process_to_have_read_its_zones():
    v1 = object()
    sent = Sent()
    assert sent.messages(SETTINGS, {"a.": (None, None, False)}, go=False) == [
        {"settings": SETTINGS},
        {"zones": [["a.", False]]},
    ]
    assert sent.messages(SETTINGS, {"a.": (v1, 1, False)}, go=True) == [{"version": "a.", "serial": 1}, {"go": True}]
    assert sent.messages(SETTINGS, {"a.": (v1, 1, False)}, go=True) == []


# -- TCP connections handed over (secdns.server.workerstream sends them)


def test_unanswered_bytes_are_as_the_client_sent_them():
    assert unanswered([b"abc", b""], b"\x00\x05ab") == b"\x00\x03abc\x00\x00\x00\x05ab"
    assert unanswered([]) == b""


def test_each_handed_over_frame_gets_its_descriptor():
    handovers = HandOvers()
    one, two = frame(HANDOVER, b"first"), frame(HANDOVER, b"")
    # A descriptor comes with its frame's first octet; the frame may end in a later read.
    assert handovers.feed(one[:3], [7]) == []
    assert handovers.feed(one[3:] + two[:1], [8]) == [(7, b"first")]
    assert handovers.descriptors == [8]
    assert handovers.feed(two[1:]) == [(8, b"")]
    assert handovers.descriptors == []


def test_a_frame_without_its_descriptor_or_of_another_kind_is_an_error():
    with pytest.raises(ValueError):
        HandOvers().feed(frame(HANDOVER, b"x"))
    with pytest.raises(ValueError):
        HandOvers().feed(frame(COUNTS, b"{}"), [5])


def test_serves_this_serial_or_a_later_one():
    """A worker holds a NOTIFY back until it serves the version's serial, or one after it (serial arithmetic)."""
    assert serves({"a.": 5}, "a.", 5)
    assert serves({"a.": 6}, "a.", 5)
    assert serves({"a.": 1}, "a.", 2**32 - 1)  # wrapped round: later
    assert not serves({"a.": 4}, "a.", 5)
    assert not serves({"a.": None}, "a.", 5)  # not loaded
    assert not serves({}, "a.", 5)
