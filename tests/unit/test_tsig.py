"""TSIG MACs (RFC 8945): verification, signing, streams, and secrets kept secret."""

from __future__ import annotations

import base64
import struct
import time

import dns.message
import dns.name
import dns.rcode
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import pytest

from secdns.wire import tsig
from secdns.config import TSIG_ALGORITHMS, TsigKeyConfig, parse

SECRET = b"0123456789abcdef0123456789abcdef"
NAME = dns.name.from_text("transfer-key.")


def key(algorithm: str = "hmac-sha256", secret: bytes = SECRET, name: dns.name.Name = NAME) -> tsig.Key:
    return tsig.Key.from_config(TsigKeyConfig(name=name, algorithm=algorithm, secret=secret))


def dnspython_key(k: tsig.Key) -> dns.tsig.Key:
    return dns.tsig.Key(k.name, k.secret, k.algorithm)


def signed_query(k: tsig.Key, qname: str = "example.org.", rdtype: str = "SOA") -> tuple[bytes, dns.message.Message]:
    query = dns.message.make_query(qname, rdtype)
    query.use_tsig(dnspython_key(k))
    return query.to_wire(), query


@pytest.mark.parametrize("algorithm", sorted(TSIG_ALGORITHMS))
def test_dnspython_request_verifies(algorithm):
    """A request signed by dnspython verifies here, for every algorithm."""
    k = key(algorithm)
    wire, query = signed_query(k)
    signed = tsig.split_tsig(wire)
    mac = tsig.verify(signed, k, signed.record.time_signed)
    assert mac == query.mac


@pytest.mark.parametrize("algorithm", sorted(TSIG_ALGORITHMS))
def test_signed_response_verifies_in_dnspython(algorithm):
    """A response signed here verifies in dnspython against the request's MAC."""
    k = key(algorithm)
    wire, query = signed_query(k)
    unsigned = dns.message.make_response(dns.message.from_wire(wire, keyring=False)).to_wire()
    now = time.time()
    signed, _ = tsig.sign(unsigned, k, now, prior_mac=query.mac)
    parsed = dns.message.from_wire(signed, keyring={k.name: dnspython_key(k)}, request_mac=query.mac)
    assert parsed.had_tsig


def test_unknown_key_is_badkey():
    """A request signed with a key we do not have fails with BADKEY."""
    wire, _ = signed_query(key())
    signed = tsig.split_tsig(wire)
    with pytest.raises(tsig.BadKey):
        tsig.verify(signed, None, signed.record.time_signed)


def test_wrong_secret_is_badsig():
    """A request signed with another secret under the same name fails with BADSIG."""
    wire, _ = signed_query(key(secret=b"another secret, not ours"))
    signed = tsig.split_tsig(wire)
    with pytest.raises(tsig.BadSig):
        tsig.verify(signed, key(), signed.record.time_signed)


def test_wrong_algorithm_is_badkey():
    """A request using another algorithm than the key's fails with BADKEY."""
    wire, _ = signed_query(key("hmac-sha512"))
    signed = tsig.split_tsig(wire)
    with pytest.raises(tsig.BadKey):
        tsig.verify(signed, key("hmac-sha256"), signed.record.time_signed)


def test_time_outside_fudge_is_badtime():
    """A valid MAC signed more than the fudge away from our clock fails with BADTIME, after the MAC check."""
    wire, _ = signed_query(key())
    signed = tsig.split_tsig(wire)
    tsig.verify(signed, key(), signed.record.time_signed + 300)
    with pytest.raises(tsig.BadTime) as raised:
        tsig.verify(signed, key(), signed.record.time_signed + 412)
    assert "412 s" in str(raised.value)


def truncated(wire: bytes, k: tsig.Key, size: int) -> bytes:
    signed = tsig.split_tsig(wire)
    record = signed.record.replace(mac=signed.record.mac[:size])
    rdata = record.to_wire()
    return signed.unsigned[:10] + struct.pack("!H", 1) + signed.unsigned[12:] + k.name.to_wire() + struct.pack("!HHIH", 250, 255, 0, len(rdata)) + rdata


def test_truncated_mac_is_badtrunc():
    """A MAC truncated within the RFC's limits, but shorter than we accept, fails with BADTRUNC."""
    k = key()
    wire, _ = signed_query(k)
    signed = tsig.split_tsig(truncated(wire, k, 16))
    with pytest.raises(tsig.BadTrunc):
        tsig.verify(signed, k, signed.record.time_signed)


def test_mac_below_rfc_minimum_is_formerr():
    """A MAC shorter than RFC 8945 allows (under 10 octets or half the hash) is malformed: FORMERR."""
    k = key()
    wire, _ = signed_query(k)
    signed = tsig.split_tsig(truncated(wire, k, 8))
    with pytest.raises(tsig.MalformedTsig) as raised:
        tsig.verify(signed, k, signed.record.time_signed)
    assert raised.value.rcode == dns.rcode.FORMERR


def test_tsig_not_last_is_malformed():
    """A TSIG record followed by another record is rejected as FORMERR."""
    k = key()
    query = dns.message.make_query("example.org.", "SOA", use_edns=0)
    query.use_tsig(dnspython_key(k))
    wire = query.to_wire()
    signed = tsig.split_tsig(wire)
    assert signed is not None
    # Move the TSIG before the OPT: re-render by hand.
    opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
    tsig_rr = wire[len(signed.unsigned) :]
    reordered = signed.unsigned[: -len(opt)] + tsig_rr + opt
    reordered = reordered[:10] + struct.pack("!H", 2) + reordered[12:]
    with pytest.raises(tsig.MalformedTsig):
        tsig.split_tsig(reordered)


def test_unsigned_message_has_no_tsig():
    """A message without TSIG splits to None."""
    assert tsig.split_tsig(dns.message.make_query("example.org.", "A").to_wire()) is None


def response_stream(count: int, k: tsig.Key, request_mac: bytes, unsigned: set[int] = frozenset(), signer_key: dict[int, tsig.Key] | None = None):
    """Messages of a multi-message response; those in C{unsigned} are not signed."""
    messages = []
    previous = None
    between = []
    for i in range(count):
        wire = dns.message.make_response(dns.message.make_query("example.org.", "AXFR")).to_wire()
        wire = struct.pack("!H", 4242) + wire[2:]
        if i in unsigned:
            messages.append(wire)
            between.append(wire)
            continue
        signing_key = (signer_key or {}).get(i, k)
        prior = request_mac if previous is None else previous
        signed, previous = tsig.sign(wire, signing_key, 1000, prior, full=(i == 0), between=between)
        between = []
        messages.append(signed)
    return messages


def verify_stream(messages, k, request_mac) -> None:
    verifier = tsig.StreamVerifier(k, request_mac, 1000, peer="primary 192.0.2.1")
    for message in messages:
        verifier.verify(message, 1000)
    verifier.finish()


def test_stream_all_signed():
    """A stream whose every message is signed verifies."""
    k = key()
    verify_stream(response_stream(5, k, b"request-mac"), k, b"request-mac")


def test_stream_signer_output_verifies():
    """What StreamSigner signs, StreamVerifier accepts."""
    k = key()
    signer = tsig.StreamSigner(k, b"mac")
    messages = [signer.sign(dns.message.make_query("a.example.", "A").to_wire(), 1000) for _ in range(3)]
    verify_stream(messages, k, b"mac")


def test_stream_unsigned_within_99():
    """Up to 99 unsigned messages between signed ones are accepted."""
    k = key()
    verify_stream(response_stream(101, k, b"m", unsigned=set(range(1, 100))), k, b"m")


def test_stream_100_unsigned_rejected():
    """A hundred unsigned messages in a row are rejected."""
    k = key()
    with pytest.raises(tsig.BadSig, match="more than 99 unsigned"):
        verify_stream(response_stream(102, k, b"m", unsigned=set(range(1, 101))), k, b"m")


def test_stream_last_unsigned_rejected():
    """A stream whose last message is unsigned is rejected when it ends."""
    k = key()
    with pytest.raises(tsig.BadSig, match="last message"):
        verify_stream(response_stream(4, k, b"m", unsigned={3}), k, b"m")


def test_stream_first_unsigned_rejected():
    """A response to a signed request must itself be signed."""
    k = key()
    with pytest.raises(tsig.BadSig, match="without TSIG"):
        verify_stream(response_stream(2, k, b"m", unsigned={0}), k, b"m")


def test_stream_key_change_rejected():
    """A stream that changes key midway is rejected."""
    k = key()
    other = key(name=dns.name.from_text("other-key."))
    with pytest.raises(tsig.BadKey):
        verify_stream(response_stream(3, k, b"m", signer_key={2: other}), k, b"m")


def test_stream_mac_chain_break_rejected():
    """A message signed with the right key but outside the chain fails with BADSIG."""
    k = key()
    messages = response_stream(3, k, b"m")
    messages[1] = response_stream(1, k, b"another request")[0]
    with pytest.raises(tsig.BadSig):
        verify_stream(messages, k, b"m")


def test_dnspython_verifies_our_stream():
    """dnspython's multi-message verification accepts a stream we sign."""
    k = key()
    query = dns.message.make_query("example.org.", "AXFR")
    query.use_tsig(dnspython_key(k))
    query.to_wire()
    now = time.time()
    ctx = None
    messages = []
    signer = tsig.StreamSigner(k, query.mac)
    for _ in range(3):
        unsigned = dns.message.make_response(dns.message.from_wire(query.to_wire(), keyring=False)).to_wire()
        messages.append(signer.sign(unsigned, now))
    for wire in messages:
        parsed = dns.message.from_wire(
            wire, keyring={k.name: dnspython_key(k)}, request_mac=query.mac, multi=True, tsig_ctx=ctx
        )
        ctx = parsed.tsig_ctx
        assert parsed.had_tsig


def test_peer_badtime_reason():
    """A peer's BADTIME tells the operator by how much the clocks differ."""
    k = key()
    wire = dns.message.make_query("example.org.", "SOA").to_wire()
    answer, _ = tsig.sign(wire, k, 1000, error=dns.rcode.BADTIME, other=tsig.time_other_data(1412))
    verifier = tsig.StreamVerifier(k, b"m", 1000, peer="primary 192.0.2.1")
    with pytest.raises(tsig.PeerTsigError) as raised:
        verifier.verify(answer, 1000)
    assert str(raised.value) == "primary 192.0.2.1 answered BADTIME: clocks differ by 412 s"


def test_secrets_never_in_repr_or_errors():
    """Neither a key, a keyring, a config nor an error message shows the secret."""
    encoded = base64.b64encode(SECRET).decode()
    config = parse(f'[[tsig_key]]\nname = "transfer-key"\nsecret = "{encoded}"\n')
    k = tsig.Key.from_config(config.tsig_keys[0])
    ring = tsig.Keyring.from_config(config.tsig_keys)
    texts = [repr(k), str(k), repr(ring), repr(config), repr(config.tsig_keys[0])]
    wire, _ = signed_query(key(secret=b"another secret, not ours"))
    try:
        tsig.verify(tsig.split_tsig(wire), k, 0)
    except tsig.TsigError as e:
        texts.append(str(e))
        texts.append(repr(e))
    for text in texts:
        assert encoded not in text
        assert SECRET.decode() not in text


def test_last_tsig_found_from_the_end_as_split_tsig_finds_it():
    """A transfer message's TSIG, found from its end, is the one split_tsig finds walking every record."""
    k = key()
    response = dns.message.make_response(dns.message.make_query("example.org.", "AXFR"))
    for i in range(50):
        response.answer.append(dns.rrset.from_text(f"h{i}.example.org.", 300, "IN", "A", f"192.0.2.{i}"))
    signed, _ = tsig.sign(response.to_wire(), k, 1000, b"", full=True)
    fast = tsig.split_last_tsig(signed, k.name)
    slow = tsig.split_tsig(signed)
    assert (fast.unsigned, fast.key_name, fast.record) == (slow.unsigned, slow.key_name, slow.record)


def test_last_tsig_of_another_key_is_left_to_split_tsig():
    """Signed with another key, or not signed: split_tsig's answer."""
    other = key(name=dns.name.from_text("other-key."))
    wire = dns.message.make_response(dns.message.make_query("example.org.", "AXFR")).to_wire()
    signed, _ = tsig.sign(wire, other, 1000, b"", full=True)
    assert tsig.split_last_tsig(signed, NAME).key_name == other.name
    assert tsig.split_last_tsig(wire, NAME) is None
