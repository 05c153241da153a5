"""secdns.wire.salvage: the question and OPT of a message dnspython refuses, if it is whole in form."""

from __future__ import annotations

import struct

import dns.message
import dns.name

from secdns.wire.salvage import Salvaged, salvage

NAME = dns.name.from_text("www.example.org.")


def message(opcode: int = 5, qdcount: int = 1, opt: bytes = b"", tail: bytes = b"") -> bytes:
    arcount = 1 if opt else 0
    header = struct.pack("!HHHHHH", 7, opcode << 11, qdcount, 0, 0, arcount)
    questions = (NAME.to_wire() + struct.pack("!HH", 1, 1)) * qdcount
    return header + questions + opt + tail


def opt_record(payload: int = 1232, do: bool = False, version: int = 0, owner: bytes = b"\x00") -> bytes:
    ttl = (version << 16) | (0x8000 if do else 0)
    return owner + struct.pack("!HHIH", 41, payload, ttl, 0)


def test_update_with_a_zone_section_not_soa():
    """dnspython refuses it; its form is whole: the question and OPT are read."""
    wire = message(opt=opt_record(do=True))
    try:
        dns.message.from_wire(wire)
    except dns.exception.FormError:
        pass
    else:  # pragma: no cover
        raise AssertionError("dnspython reads it now: the test no longer shows why salvage exists")
    assert salvage(wire) == Salvaged((NAME, 1, 1), (1232, True, 0))


def test_no_opt():
    assert salvage(message()) == Salvaged((NAME, 1, 1), None)


def test_payload_below_512_counts_as_512():
    assert salvage(message(opt=opt_record(payload=100))).opt == (512, False, 0)


def test_not_one_question():
    assert salvage(message(qdcount=0)) == Salvaged(None, None)
    assert salvage(message(qdcount=2)).question is None


def test_not_whole_in_form():
    """Truncated, trailing bytes, two OPTs, an OPT not at the root, no header: nothing."""
    whole = message(opt=opt_record())
    assert salvage(whole[:-3]) is None
    assert salvage(whole + b"\x00") is None
    assert salvage(b"\x00" * 11) is None
    two = struct.pack("!HHHHHH", 7, 5 << 11, 1, 0, 0, 2) + NAME.to_wire() + struct.pack("!HH", 1, 1) + opt_record() * 2
    assert salvage(two) is None
    assert salvage(message(opt=opt_record(owner=b"\x01a\x00"))) is None
