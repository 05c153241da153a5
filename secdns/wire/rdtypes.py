# -*- test-case-name: tests.unit.test_rdtypes -*-
"""
The layout of each RDATA type that secdns reads or writes without
dnspython: one description, from which the modules that do derive their
tables.

The compact form (L{secdns.wire.compact}), the zone file reader
(L{secdns.wire.zonefile_parser}), the transfer reader
(L{secdns.wire.xfr_parser}) and the answer writer (L{secdns.wire.writer})
each handle some types themselves, for speed.  Each used to keep its own
table of where those types' names are, how long their fixed parts are, and
which names are compressed: tables that had to agree and could drift
apart.  Here each type is described once (L{LAYOUTS}); a type not here is
dnspython's to read, compare and write, everywhere.

A layout is the RDATA's wire form: fixed-size numbers, then domain names
one after another, then fixed-size numbers; or an address of a fixed size.
Each field is named as dnspython's rdata class names its attribute, so
that the tests can check a layout against dnspython's objects
(C{tests/unit/test_rdtypes.py}).  Names are kept in their original case
and uncompressed in every stored form (RFC 3597 section 4).
"""

from __future__ import annotations

import socket
import struct

import attrs
import dns.rdatatype

__all__ = ["Number", "RdataLayout", "LAYOUTS", "SINGLETONS"]

#: Types of which an RRset holds one record (SOA, CNAME ...): dnspython keeps the last.
SINGLETONS = frozenset(t for t in dns.rdatatype.RdataType if dns.rdatatype.is_singleton(t))

_FORMATS = {1: "B", 2: "H", 4: "I"}


def _attribute(instance, attribute, value) -> None:
    """A field names an attribute (code that reads it is written from it: L{secdns.wire.writer})."""
    for field in value if isinstance(value, tuple) else (value,):
        if not field.isidentifier():
            raise ValueError(f"{attribute.name}: {field!r} is not an attribute name")


@attrs.frozen
class Number:
    """An unsigned integer field in network order: dnspython's attribute C{field}, C{size} octets."""

    field: str = attrs.field(validator=_attribute)
    size: int = attrs.field(validator=attrs.validators.in_(_FORMATS))


def _struct(numbers: tuple[Number, ...]) -> struct.Struct:
    return struct.Struct("!" + "".join(_FORMATS[number.size] for number in numbers))


@attrs.frozen
class RdataLayout:
    """
    One type's RDATA.

    @ivar rdtype: the type.
    @ivar before: the numbers before the names (MX's preference, SRV's
        priority, weight and port).
    @ivar names: dnspython's attributes of the domain names, in wire order,
        one right after another.
    @ivar after: the numbers after the names (SOA's serial and four timers).
    @ivar size: the RDATA's size if it is fixed (an address), else C{None}.
    @ivar address_family: for an address, its C{socket} family.
    @ivar compressed: whether the names are compressed in answers: the
        types RFC 3597 section 4 lets a writer compress, those dnspython
        compresses (NS, CNAME, PTR, MX, SOA; not DNAME nor SRV).  A reader
        takes a compressed name in any of these types.
    @ivar case_insensitive: whether the names are lowercased in the
        canonical form (RFC 4034 section 6.2), so that two records that
        differ only in the case of their names are one (as in dnspython's
        RRsets); their original case is kept all the same.
    """

    rdtype: int = attrs.field(converter=dns.rdatatype.RdataType.make)
    before: tuple[Number, ...] = ()
    names: tuple[str, ...] = attrs.field(default=(), validator=_attribute)
    after: tuple[Number, ...] = ()
    size: int | None = None
    address_family: int | None = None
    compressed: bool = False
    case_insensitive: bool = False

    @property
    def singleton(self) -> bool:
        """Whether an RRset of this type holds one record (L{SINGLETONS})."""
        return self.rdtype in SINGLETONS

    @property
    def names_at(self) -> int:
        """Where the first name starts: the size of the numbers before the names."""
        return sum(number.size for number in self.before)

    @property
    def after_size(self) -> int:
        """The size of the numbers after the names."""
        return sum(number.size for number in self.after)

    @property
    def before_struct(self) -> struct.Struct:
        """The numbers before the names, packed and unpacked."""
        return _struct(self.before)

    @property
    def after_struct(self) -> struct.Struct:
        """The numbers after the names, packed and unpacked."""
        return _struct(self.after)


def _address(rdtype: int, family: int, size: int) -> RdataLayout:
    return RdataLayout(rdtype, size=size, address_family=family)


def _named(rdtype: int, before=(), names=("target",), after=(), compressed: bool = False) -> RdataLayout:
    return RdataLayout(rdtype, before=before, names=names, after=after, compressed=compressed, case_insensitive=True)


_T = dns.rdatatype

#: The described types.
LAYOUTS: dict[int, RdataLayout] = {
    layout.rdtype: layout
    for layout in (
        _address(_T.A, socket.AF_INET, 4),
        _address(_T.AAAA, socket.AF_INET6, 16),
        _named(_T.NS, compressed=True),
        _named(_T.CNAME, compressed=True),
        _named(_T.PTR, compressed=True),
        _named(_T.DNAME),  # RFC 6672 section 2.5: not compressed
        _named(_T.MX, before=(Number("preference", 2),), names=("exchange",), compressed=True),
        # RFC 2782: not compressed
        _named(_T.SRV, before=(Number("priority", 2), Number("weight", 2), Number("port", 2))),
        _named(
            _T.SOA,
            names=("mname", "rname"),
            after=tuple(Number(field, 4) for field in ("serial", "refresh", "retry", "expire", "minimum")),
            compressed=True,
        ),
    )
}
