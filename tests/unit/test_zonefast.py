"""
secdns.wire.zonefile_parser: simple zone files read as dnspython reads them, and the
rest left to dnspython.

Each zone text is loaded twice with L{read_zone_file}: as it is (the fast
reader, when it takes the text) and with the fast reader turned off
(dnspython alone).  Both must give the same version, to the byte and the
order of owners and RRsets, or the same error.
"""

from __future__ import annotations

import itertools
import random
import socket
import tempfile
from pathlib import Path
from unittest import mock

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import hypothesis
import hypothesis.strategies as st
import pytest

from secdns.wire import zonefile_parser as zonefast
from secdns.errors import ZoneLoadError
from secdns.zones.zonefile import read_zone_file

ORIGIN = dns.name.from_text("example.org")

HEAD = """\
$ORIGIN example.org.
$TTL 300
@       IN SOA ns1 hostmaster 2026010101 7200 3600 1209600 300
        IN NS  ns1
ns1     IN A   192.0.2.1
"""

SIGNATURE = (
    "A 8 3 300 20260201000000 20260101000000 12345 example.org. "
    "dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSwganVzdCBieXRlcw=="
)

#: Texts the fast reader takes, each a case it must read as dnspython does.
TAKEN = {
    "omitted owner": HEAD + "www A 192.0.2.80\n  A 192.0.2.81\n\tMX 10 mail\n",
    "omitted owner first": "$ORIGIN example.org.\n$TTL 60\n  SOA ns1 host 1 2 3 4 5\n  NS ns1\n",
    "at sign": HEAD + "@ A 192.0.2.80\n@ MX 10 mail\n",
    "relative and absolute": HEAD + "www.example.org. A 192.0.2.80\nsub.www A 192.0.2.81\nx.sub.www.example.org. A 192.0.2.82\n",
    "mixed case owners": HEAD + "WWW A 192.0.2.80\nwww A 192.0.2.81\nMail.Example.ORG. MX 10 mx\nmail A 192.0.2.25\n",
    "lowercase first": HEAD + "www A 192.0.2.80\nWWW A 192.0.2.81\n",
    "mixed case origin": HEAD.replace("$ORIGIN example.org.", "$ORIGIN Example.ORG.") + "www A 192.0.2.80\n",
    "mixed case $ORIGIN later": HEAD + "$ORIGIN Sub.Example.org.\nwww A 192.0.2.80\n@ A 192.0.2.81\n",
    "ttl and class orders": HEAD
    + "a 60 IN A 192.0.2.1\nb IN 60 A 192.0.2.2\nc 60 A 192.0.2.3\nd IN A 192.0.2.4\n"
    + "e in A 192.0.2.5\nf 1h A 192.0.2.6\ng 1W2d3H4m5S A 192.0.2.7\nh IN 0 A 192.0.2.8\ni CLASS1 A 192.0.2.9\n",
    "ttl units": HEAD + "a 1h30m A 192.0.2.1\nb 2D IN A 192.0.2.2\nc 4294967295 A 192.0.2.3\n",
    "$TTL changes": HEAD + "a A 192.0.2.1\n$TTL 60\nb A 192.0.2.2\n$ttl 1h\nc 30 A 192.0.2.3\nd A 192.0.2.4\n",
    "no $TTL: SOA minimum": "$ORIGIN example.org.\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nwww A 192.0.2.1\n",
    "no $TTL: last TTL after SOA": "$ORIGIN example.org.\n@ 3600 SOA ns1 host 1 2 3 4 5\n@ NS ns1\n"
    + "www 60 A 192.0.2.1\nx A 192.0.2.2\n",
    "no $TTL: TTL before SOA": "$ORIGIN example.org.\nwww 60 A 192.0.2.1\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\n",
    "$TTL after SOA default": "$ORIGIN example.org.\n@ SOA ns1 host 1 2 3 4 5\n@ 10 NS ns1\n$TTL 100\nx A 192.0.2.1\n",
    "$TTL after SOA": HEAD + "$TTL 7\n@ 9 SOA ns1 host 1 2 3 4 5\nx A 192.0.2.1\n",
    "$ORIGIN changes": HEAD
    + "$ORIGIN sub.example.org.\nhost A 192.0.2.1\nmx MX 10 mail\n$ORIGIN example.org.\nback A 192.0.2.2\n"
    + "$ORIGIN deeper\n@ A 192.0.2.3\n  TXT here\n$origin @\nat A 192.0.2.4\n",
    "omitted owner after $ORIGIN": HEAD + "www A 192.0.2.1\n$ORIGIN sub.example.org.\n  A 192.0.2.2\n",
    "duplicate records": HEAD + "www A 192.0.2.1\nwww A 192.0.2.1\n@ NS NS1\n@ NS ns1.example.org.\nt TXT a\nt TXT a\n",
    "case in RDATA": HEAD + "t TXT A\nt TXT a\nm MX 10 Mail\nm MX 10 mail\nm MX 10 MAIL.example.org.\n",
    "same RDATA under two origins": HEAD
    + "$ORIGIN a.example.org.\nx MX 10 mail\n$ORIGIN b.example.org.\nx MX 10 mail\ny MX 10 mail\n",
    "RRset TTLs": HEAD + "www 60 A 192.0.2.1\nwww 30 A 192.0.2.2\nwww 90 A 192.0.2.3\n",
    "interleaved RRsets": HEAD + "www A 192.0.2.1\nwww MX 10 mail\nwww A 192.0.2.2\nwww TXT foo\nwww 5 MX 20 mail2\n",
    "SOA twice": HEAD + "@ 60 SOA ns2 hostmaster 2026010102 1 2 3 4\n",
    "SOA again, higher TTL": "$ORIGIN example.org.\n@ 60 SOA ns1 host 1 2 3 4 5\n@ 90 SOA ns1 host 7 2 3 4 5\n@ NS ns1\n",
    "CNAME singleton": HEAD + "alias 50 CNAME a\nalias 100 CNAME b\nalias CNAME c\n",
    "CNAME with neutral types": HEAD + "alias CNAME www\nalias NSEC zzz.example.org. CNAME RRSIG NSEC\n",
    "types": HEAD
    + "@ MX 10 mail\n@ MX 20 mail.example.net.\n@ TXT v=spf1 -all\n_sip._tcp SRV 0 5 5060 sip\n"
    + "@ CAA 0 issue ca.example.net\nsub NS ns.sub\nsub DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118\n"
    + f"www A 192.0.2.80\nwww RRSIG {SIGNATURE}\n1.2 PTR www\nv6 AAAA 2001:db8::1\n"
    + "v6 AAAA 2001:DB8::2\nv6 AAAA 2001:0db8:0:0:0:0:0:3\nv6 AAAA ::ffff:192.0.2.1\nv6 AAAA ::\n"
    + "v6 AAAA 2001:0DB8:0000:0000:0000:0000:0000:0004\nv6 AAAA 2001:db8::0:5\nv6 AAAA 1:2:3:4:5:6:7::\n"
    + "v6 AAAA ::1:2:3:4:5:6:7\nv6 AAAA 0::0\nv6 AAAA 2001:db8::1\n"
    + "d DNAME example.net.\nh HINFO PC Linux\nx TYPE1 192.0.2.9\n@ NS ns2\n",
    "comments": HEAD
    + 'www A 192.0.2.1 ; web\n; whole line\n   ; indented\nmx MX 10 mail;tight\nc A 192.0.2.2 ; "q" (p) \\ \xfc\n',
    "tabs": HEAD + "www\tIN\tA\t192.0.2.1\n\t\tA 192.0.2.2\nt\t60\tTXT\ta\tb\n",
    "CRLF": (HEAD + "www A 192.0.2.1 ; c\n  A 192.0.2.2\n").replace("\n", "\r\n"),
    "lone CR": HEAD + "a A 192.0.2.1\rb A 192.0.2.2\r\n; comment\rc A 192.0.2.3\n",
    "blank lines": HEAD + "\n\n   \n\t\nwww A 192.0.2.1\n\n",
    "no final newline": HEAD + "www A 192.0.2.1",
    "wildcards": HEAD + "* A 192.0.2.1\n*.sub MX 10 mail\n",
    "owners like keywords": HEAD + "300 A 192.0.2.1\nIN IN A 192.0.2.2\nA A 192.0.2.3\nmx MX 0 .\n",
    "long names": HEAD + ("a" * 63 + ".") * 3 + "b" * 45 + " A 192.0.2.1\n",
    "invalid zone: no NS": "$ORIGIN example.org.\n$TTL 1\n@ SOA ns1 host 1 2 3 4 5\n",
    "invalid zone: no SOA": "$ORIGIN example.org.\n$TTL 1\n@ NS ns1\n",
    "multi-line SOA": "$ORIGIN example.org.\n$TTL 300\n"
    + "@ IN SOA ns1.example.org. hostmaster.example.org. (\n        2024010101 ; serial\n"
    + "        3600       ; refresh\n        600 86400 300 )\n        IN NS ns1\nns1 A 192.0.2.1\n",
    "multi-line SOA, no $TTL": "$ORIGIN example.org.\n@ SOA ns1 host (\n 1 ; serial (the first)\n 2 3 4\n"
    + " 55 ; minimum\n)\n@ NS ns1\nwww A 192.0.2.1\n",
    "SOA closed on its own line": "$ORIGIN example.org.\n$TTL 60\n@ 3600 IN SOA ns1 host (\n\t1\n\t2\n\t3\n\t4\n"
    + "\t5\n\t)\n  NS ns1\n",
    "SOA in parentheses on one line": "$ORIGIN example.org.\n$TTL 60\n@ SOA ns1 host ( 1 2 3 4 5 ) ; c\n@ NS ns1\n",
    "SOA with a blank line and comments inside": "$ORIGIN example.org.\n$TTL 60\n@ SOA ns1 host (\n\n  ; all of it\n"
    + "   \n 1 2 3 4 5 ) ; end\n@ NS ns1\n",
    "records in parentheses": HEAD
    + "www ( 60 IN A 192.0.2.1 )\n  ( A 192.0.2.2 )\nx(A 192.0.2.3)\ny A(192.0.2.4)\n@ MX ( 10\n  mail )\n"
    + "@ MX ( 20 ) ( mail2 ) ; two pairs\nt TXT ( a ; one\n b ) c\ne A () 192.0.2.5\nf (\n IN\n 60\n A\n 192.0.2.6 )\n"
    + "g CNAME (\n www )\n",
    "after a record in parentheses": HEAD + "www MX ( 10\n mail )\n  A 192.0.2.1\n$TTL 7\nx A 192.0.2.2\n",
    "parentheses and CRLF": (HEAD + "www MX ( 10 ; c\n mail\n)\n  A 192.0.2.1\n").replace("\n", "\r\n"),
    "parentheses in comments only": HEAD + "www A 192.0.2.1 ; (not\nx A 192.0.2.2 ; these) ) (\n",
    "name targets": HEAD
    + "n NS ns1\nn NS ns2.example.net.\nn NS @\nn NS Ns3.Sub\nn NS NS4.EXAMPLE.NET.\n"
    + "c CNAME Target.Example.Net.\nc2 CNAME @\nc3 CNAME .\nc4 CNAME *.w\n"
    + "1.2 PTR www\n3.2 PTR Host.Example.COM.\n4.2 PTR @\n"
    + "d DNAME example.net.\nd2 DNAME Sub\nd3 DNAME @\n"
    + "m MX 0 .\nm MX 65535 mail\nm MX 010 Mail.Example.NET.\nm MX 00 @\n",
    "name targets under mixed case $ORIGIN": HEAD
    + "$ORIGIN Sub.Example.ORG.\nn NS ns1\nc CNAME Www\nm MX 5 @\np PTR host.\nd DNAME x.y\n",
    "name targets as long as may be": HEAD
    + "x CNAME "
    + ("a" * 63 + ".") * 3
    + "b" * 49
    + "\ny NS "
    + ("a" * 63 + ".") * 3
    + "b" * 61
    + ".\nz MX 1 "
    + ("A" * 63 + ".") * 3
    + "b" * 49
    + "\n",
    "name targets equal but for case": HEAD + "n NS NS1\nn NS ns1\nm MX 1 Mail\nm MX 1 mail\nd DNAME A.\nd DNAME a.\n",
    "name targets beside other RDATA": HEAD + "s SRV 0 5 5060 sip\nm MX 10 mail\nm TXT mail\n",
    # -- quoted strings and escapes (issue 14)
    "quotes": HEAD + 'txt TXT "hello world"\n',
    "quoted semicolon": HEAD + 'txt TXT "a;b"\n',
    "quotes in parentheses": HEAD + 't TXT (\n "a b" )\n',
    "escape on a later line": HEAD + "t TXT (\n a\\059b )\n",
    "TXT strings": HEAD
    + 't TXT "" "a" b "c d"\nt TXT "(not) a parenthesis" ";not a comment"\nt TXT "a""b"\nt TXT a"b"\nt TXT "a"b\n'
    + 't TXT "x\\"y" "back\\\\slash" "\\059\\000\\255\\127" \\"unquoted\\" a\\ b\nt TXT "\\a\\b\\:" ""\n'
    + 't TXT "' + "x" * 255 + '" ' + "y" * 255 + '\nt TXT "' + "\\120" * 255 + '"\nt TXT A\nt TXT "A"\n'
    + 't TXT "tab\there" \'single\' "{ } [ ] $ @ * ~ `"\n',
    "TXT over lines": HEAD
    + 't TXT ( "first" ; a comment\n  "second ; not a comment"\n "(third)" ) ; "end"\n'
    + 'u TXT "one" (\n "two" )\nv TXT (\n plain\n "quoted" )\n  A 192.0.2.9\n'
    + 'w ( 60 IN\n TXT "w" )\nx MX ( 10 ; c\n mail ) ; "m"\n',
    "TXT and others at one owner": HEAD
    + 'www A 192.0.2.1\nwww TXT "v=spf1 -all"\nwww 60 TXT "second"\nwww TXT "v=spf1 -all"\nwww AAAA 2001:db8::1\n'
    + 'www TXT "Third" "Case"\nwww TXT "third" "case"\n',
    "TXT in RFC 3597's generic form": HEAD + 't TXT \\# 4 03616263\nt TXT "\\#" a\nu TXT \\#a\n'
    + "$GENERATE 1-2 g$ TXT \\#$\n",
    "SPF": HEAD + '@ SPF "v=spf1 ip4:192.0.2.0/24 -all"\n@ TXT "v=spf1 ip4:192.0.2.0/24 -all"\nx SPF a "b c"\n',
    "CAA": HEAD
    + '@ CAA 0 issue "letsencrypt.org"\n@ CAA 0 issuewild ";"\n@ CAA 0 iodef "mailto:security@example.org"\n'
    + '@ CAA 128 tbs "Unknown"\n@ CAA 0 issue ""\nx CAA 0 issue ca.example.net\nx CAA 0 issue "ca.example.net"\n'
    + 'y CAA 0 issue "ca.example.net; account=\\"12\\""\n',
    "NAPTR": HEAD
    + '@ NAPTR 100 10 "U" "E2U+sip" "!^.*$!sip:info@example.org!" .\n'
    + '@ NAPTR 100 50 "s" "http+I2L+I2C+I2R" "" _http._tcp\n'
    + 'n NAPTR ( 10 0 "A" "SIP+D2U"\n  "" sip.Example.ORG. )\nn NAPTR 10 0 "a" "SIP+D2U" "" sip.example.org.\n',
    "HINFO and others quoted": HEAD
    + 'h HINFO "PC Intel" "Linux 6"\nh2 HINFO PC "Linux"\nr RP mbox txt\nr TXT "rp"\n',
    "escapes in names": HEAD
    + "a\\065b A 192.0.2.1\n\\@ A 192.0.2.2\nsub\\.dot A 192.0.2.3\nEsc\\.Case A 192.0.2.4\nesc\\.case A 192.0.2.5\n"
    + "sp\\ ace A 192.0.2.6\nq\\\"uote A 192.0.2.7\n\\(p\\) A 192.0.2.8\nsemi\\;colon A 192.0.2.9\n"
    + "n NS ns\\.x\nn NS ns\\046y.example.net.\nm MX 10 m\\032x\nc CNAME \\065bc\ns SRV 0 1 2 t\\.x\n"
    + "\\000 A 192.0.2.10\n\\255\\.\\097 A 192.0.2.11\nx.Example\\.ORG A 192.0.2.12\n",
    "escapes in $ORIGIN": HEAD
    + "$ORIGIN esc\\.sub.example.org.\nw A 192.0.2.1\n$ORIGIN E\\120.example.org.\nw A 192.0.2.2\n@ MX 1 m\n",
    "escaped owner then owner left out": HEAD + "a\\.b A 192.0.2.1\n  TXT \"a.b's\"\n",
    "comments with quotes": HEAD
    + 'www A 192.0.2.1 ; "not closed\nx TXT "a" ; "b" \\ (\ny A 192.0.2.2 ;\\\nz TXT ";" ; ";"\n',
    "non-ASCII in comments by quotes": HEAD + 't TXT "a" ; b\xfccher\n  A 192.0.2.1 ; \x0b\n',
    "quotes under CRLF": (HEAD + 't TXT ( "a" ; c\n "b" )\n  TXT "c"\n').replace("\n", "\r\n"),
    "$TTL and $ORIGIN on careful lines": HEAD + '$TTL 60 ; "q"\nt TXT "q"\n$ORIGIN sub.example.org. ; \\\nt A 192.0.2.1\n',
    # -- $GENERATE (dnspython's Reader._generate_line)
    "$GENERATE": HEAD + "$GENERATE 1-4 host$ A 10.0.0.$\n",
    "$GENERATE forms": HEAD
    + "$GENERATE 1-10/3 s$ A 10.0.1.$\n$GENERATE 0-2 z${0,3,d} CNAME host${1}\n"
    + "$GENERATE 10-12 x${-1,2,x} PTR h${5,4,X}.example.net.\n$GENERATE 7-9 o${0,0,o} A 10.0.2.$\n"
    + "$GENERATE 250-252 ${0,3,n}.rev PTR ${16,3,N}.example.org.\n$GENERATE 1-2 d$$$ TXT v$$${2}\n"
    + "$GENERATE 3-3 $ AAAA 2001:db8::$\n$GENERATE 0-1 @ TXT at-$\n",
    "$GENERATE TTL and class": HEAD
    + "$GENERATE 1-3 a$ 60 A 10.0.0.$\n$GENERATE 1-3 b$ IN A 10.0.0.$\n$GENERATE 1-3 c$ 1h in A 10.0.0.$\n"
    + "d A 10.0.1.1\n$GENERATE 1-2 e$ TXT x$\n",
    "$GENERATE then owner left out": HEAD + "$GENERATE 1-3 h$ A 10.0.0.$\n  TXT last\n  A 10.0.0.9\n",
    "$GENERATE with a comment": HEAD + "$GENERATE 1-3 h$ A 10.0.0.$ ; hosts\n$generate 4-5 h$ A 10.0.0.$   \n",
    "$GENERATE absolute and escaped": HEAD
    + "$GENERATE 1-2 h$.example.org. CNAME t\\.$\n$GENERATE 1-2 e\\$$ TXT a\\$b$\n"
    + "$GENERATE 1-2 sp\\ $ TXT \\\"$\\\"\n",
    "$GENERATE under $ORIGIN": HEAD + "$ORIGIN sub.example.org.\n$GENERATE 1-2 h$ CNAME @\n"
    + "$GENERATE 1-2 g$ CNAME @\n",
    "$GENERATE duplicates and RRsets": HEAD
    + "$GENERATE 1-3 h A 10.0.0.$\n$GENERATE 1-3 h A 10.0.0.$\n$GENERATE 0-3 h${0,1,d} 30 A 10.0.0.1\n",
    "$GENERATE without $TTL": "$ORIGIN example.org.\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\n"
    + "$GENERATE 1-2 h$ A 10.0.0.$\nx 60 A 10.0.0.9\n$GENERATE 1-2 g$ A 10.0.0.$\n",
}

#: Texts the fast reader leaves to dnspython, each something it does not read.
LEFT = {
    "parentheses not closed": HEAD + "www MX ( 10\n mail\n",
    "parentheses not closed, comment last": HEAD + "www MX ( 10 mail ; the end",
    "parentheses not opened": HEAD + "www MX 10 mail )\n",
    "parenthesis closed on a later record": HEAD + "www MX 10 mail )\nx ( A 192.0.2.1\n",
    "nested parentheses": HEAD + "@ 60 SOA ns1 host ( 1 ( 2 ) 3 4 5 )\n",
    "nested parentheses on two lines": HEAD + "@ 60 SOA ns1 host ((\n 1 2 3 4 5 ))\n",
    "two records in one pair of parentheses": HEAD + "www ( A 192.0.2.1\n www2 A 192.0.2.2 )\n",
    "line starting with a parenthesis": HEAD + "(www A 192.0.2.1)\n",
    "line starting with a closing parenthesis": HEAD + ")\n",
    "directive in parentheses": HEAD + "$TTL ( 60 )\nwww A 192.0.2.1\n",
    "target label too long": HEAD + "x CNAME " + "a" * 64 + "\n",
    "target name too long": HEAD + "x NS " + ("a" * 63 + ".") * 3 + "b" * 50 + "\n",
    "absolute target name too long": HEAD + "x PTR " + ("a" * 63 + ".") * 3 + "b" * 62 + ".\n",
    "target empty label": HEAD + "x NS a..b\n",
    "target starting with a dot": HEAD + "x DNAME .a\n",
    "MX preference out of range": HEAD + "x MX 65536 mail\n",
    "MX preference negative": HEAD + "x MX -1 mail\n",
    "MX preference not a number": HEAD + "x MX ten mail\n",
    "MX without a name": HEAD + "x MX 10\n",
    "NS with more": HEAD + "x NS a b\n",
    "CNAME without a name": HEAD + "x CNAME\n",
    "$INCLUDE": HEAD + "$INCLUDE hosts.inc\n",
    "$UNICODE": HEAD + "$UNICODE 2008\n",
    "unknown directive": HEAD + "$FOO bar\n",
    "non-ASCII name": HEAD + "b\xfccher A 192.0.2.1\n",
    "control character": HEAD + "a\x0bb A 192.0.2.1\n",
    "name outside the zone": HEAD + "www.example.net. A 192.0.2.1\n  A 192.0.2.2\nin A 192.0.2.3\n",
    "other class": HEAD + "x CH TXT foo\n",
    "class then class": HEAD + "x IN IN A 192.0.2.1\n",
    "two TTLs": HEAD + "x 300 IN 300 A 192.0.2.1\n",
    "TTL too big": HEAD + "x 4294967296 A 192.0.2.1\n",
    "bad TTL unit": HEAD + "x 1x A 192.0.2.1\n",
    "unknown type": HEAD + "x AAA 192.0.2.1\n",
    "meta type": HEAD + "x AXFR 192.0.2.1\n",
    "no type": HEAD + "x 300 IN\n",
    "no RDATA": HEAD + "x A\n",
    "bad address": HEAD + "x A 192.0.2.256\n",
    "leading zero": HEAD + "x A 192.0.2.01\n",
    "extra RDATA": HEAD + "x A 192.0.2.1 192.0.2.2\n",
    "bad AAAA": HEAD + "x AAAA 2001:db8::g\n",
    "bad MX": HEAD + "x MX mail\n",
    "SOA below the apex": HEAD + "x SOA ns1 host 1 2 3 4 5\n",
    "CNAME and other data": HEAD + "www CNAME ns1\nwww A 192.0.2.80\n",
    "other data and CNAME": HEAD + "www A 192.0.2.80\nwww CNAME ns1\n",
    "empty label": HEAD + "a..b A 192.0.2.1\n",
    "label too long": HEAD + "a" * 64 + " A 192.0.2.1\n",
    "name too long": HEAD + ("a" * 63 + ".") * 3 + "b" * 52 + " A 192.0.2.1\n",
    "no TTL": "$ORIGIN example.org.\nwww A 192.0.2.1\n@ SOA ns1 host 1 2 3 4 5\n",
    "indented directive": HEAD + "  $TTL 60\n",
    "bad $TTL": HEAD + "$TTL soon\n",
    "$TTL without value": HEAD + "$TTL\n",
    "$ORIGIN with more": HEAD + "$ORIGIN a. b.\n",
    # -- quoted strings and escapes (issue 14)
    "quote not closed": HEAD + 't TXT "abc\n',
    "quote not closed, comment": HEAD + 't TXT "abc ; def\n',
    "newline in a quoted string": HEAD + 't TXT ( "a\n b" )\n',
    "backslash at the end of a line": HEAD + "t TXT abc\\\nu A 192.0.2.1\n",
    "backslash at the end of a quoted line": HEAD + 't TXT "abc\\\n"\n',
    "escape too big": HEAD + 't TXT "\\256"\n',
    "escape too short": HEAD + 't TXT "a\\1"\n',
    "escape not digits": HEAD + 't TXT "\\12x"\n',
    "escape at the end": HEAD + 't TXT a\\12\n',
    "string too long": HEAD + 't TXT "' + "x" * 256 + '"\n',
    "string too long by escapes": HEAD + 't TXT "' + "\\120" * 256 + '"\n',
    "unquoted string too long": HEAD + "t TXT " + "x" * 256 + "\n",
    "TXT without strings": HEAD + "t TXT\n",
    "TXT without strings, quoted comment": HEAD + 't TXT ; "a"\n',
    "quoted owner": HEAD + '"www" A 192.0.2.1\n',
    "quoted TTL": HEAD + 'www "60" A 192.0.2.1\n',
    "quoted class": HEAD + 'www "IN" A 192.0.2.1\n',
    "quoted type": HEAD + 'www "A" 192.0.2.1\n',
    "quoted address": HEAD + 'www A "192.0.2.1"\n',
    "line starting with a quote": HEAD + '"a" TXT "b"\n',
    "non-ASCII in a quoted string": HEAD + 't TXT "b\xfccher"\n',
    "control character in a quoted string": HEAD + 't TXT "a\x07b"\n',
    "bad escape in an owner": HEAD + "a\\256 A 192.0.2.1\n",
    "short escape in an owner": HEAD + "a\\1 A 192.0.2.1\n",
    "escaped dot owner outside the zone": HEAD + "www.example\\.org. A 192.0.2.1\n",
    "bad escape in a target": HEAD + "x CNAME a\\1\n",
    "escaped label too long": HEAD + "x CNAME " + "\\097" * 64 + "\n",
    "quoted $ORIGIN": HEAD + '$ORIGIN "sub"\n',
    "quoted $TTL": HEAD + '$TTL "60"\n',
    "quoted directive in parentheses": HEAD + '$TTL ( 60 ) ; "q"\n',
    "CAA flags too big": HEAD + '@ CAA 256 issue "x"\n',
    "CAA tag not alphanumeric": HEAD + '@ CAA 0 "is sue" "x"\n',
    "NAPTR missing replacement": HEAD + '@ NAPTR 100 10 "U" "E2U+sip" "!^.*$!sip:x!"\n',
    "quoted names": HEAD + 'r RP "mbox" txt\n',
    "quoted SRV target": HEAD + 's SRV 0 5 5060 "sip"\n',
    "quoted MX exchange": HEAD + 'm MX 10 "mail"\n',
    "quoted MX exchange over lines": HEAD + 'm MX ( 10 ; c\n "mail" )\n',
    "quoted NS": HEAD + 'n NS "ns1"\n',
    "quoted then a parenthesis left open": HEAD + 't TXT "a" (\n "b"\n',
    "escaped parenthesis does not open": HEAD + "t TXT \\( a\n b )\n",
    # -- $GENERATE refused by dnspython, or not read here
    "$GENERATE without rhs": HEAD + "$GENERATE 1-4 host$ A\n",
    "$GENERATE range backwards": HEAD + "$GENERATE 4-1 host$ A 10.0.0.$\n",
    "$GENERATE range without stop": HEAD + "$GENERATE 1- host$ A 10.0.0.$\n",
    "$GENERATE range not numbers": HEAD + "$GENERATE a-b host$ A 10.0.0.$\n",
    "$GENERATE range negative": HEAD + "$GENERATE -1-3 host$ A 10.0.0.$\n",
    "$GENERATE step zero": HEAD + "$GENERATE 1-3/0 host$ A 10.0.0.$\n",
    "$GENERATE one number": HEAD + "$GENERATE 3 host$ A 10.0.0.$\n",
    "$GENERATE unknown type": HEAD + "$GENERATE 1-3 host$ AAA 10.0.0.$\n",
    "$GENERATE other class": HEAD + "$GENERATE 1-3 host$ CH TXT x\n",
    "$GENERATE class then TTL": HEAD + "$GENERATE 1-3 host$ IN 60 A 10.0.0.$\n",
    "$GENERATE quoted rhs": HEAD + '$GENERATE 1-3 host$ TXT "x$"\n',
    "$GENERATE quoted lhs": HEAD + '$GENERATE 1-3 "host$" A 10.0.0.$\n',
    "$GENERATE two-token rhs": HEAD + "$GENERATE 1-3 host$ MX 10 mail$\n",
    "$GENERATE extra token": HEAD + "$GENERATE 1-3 host$ A 10.0.0.$ x\n",
    "$GENERATE bad modifier": HEAD + "$GENERATE 1-3 host${x} A 10.0.0.$\n",
    "$GENERATE modifier not closed": HEAD + "$GENERATE 1-3 host${1 A 10.0.0.$\n",
    "$GENERATE width too big": HEAD + "$GENERATE 1-3 host${0,200} A 10.0.0.$\n",
    "$GENERATE negative nibbles": HEAD + "$GENERATE 1-3 host${-5,0,n} A 10.0.0.$\n",
    "$GENERATE bad RDATA": HEAD + "$GENERATE 250-260 host$ A 10.0.0.$\n",
    "$GENERATE outside the zone": HEAD + "$GENERATE 1-3 host$.example.net. A 10.0.0.$\n",
    "$GENERATE SOA": HEAD + "$GENERATE 1-1 @ SOA ns$ host 1 2 3 4 5\n",
    "$GENERATE in parentheses": HEAD + "$GENERATE 1-3 ( host$ A 10.0.0.$ )\n",
    "$GENERATE without TTL": "$ORIGIN example.org.\n$GENERATE 1-2 h$ A 10.0.0.$\n@ 60 SOA ns1 host 1 2 3 4 5\n@ NS ns1\n",
    "$GENERATE CNAME beside data": HEAD + "$GENERATE 1-3 h$ CNAME x\nh2 A 10.0.0.2\n",
    "$GENERATE nibbles to an empty label": HEAD + "$GENERATE 250-252 ${0,4,n}.rev PTR x\n",
    "$GENERATE TXT in a bad generic form": HEAD + "$GENERATE 1-2 g$ TXT \\#\n",
    "TXT in a bad generic form": HEAD + "t TXT \\# 4 0361\n",
    "$GENERATE MX": HEAD + "$GENERATE 1-2 h$ MX 10\\032@\n",
    "$GENERATE label too long": HEAD + "$GENERATE 1-3 " + "a" * 63 + "$ A 10.0.0.$\n",
}


def summary(data) -> tuple:
    """What a version holds, names in their case (names compare without it)."""
    return (
        list(data.owners.items()),
        {key: name.labels for key, name in data.cased.items()},
        data.record_count,
        data.serial,
    )


def outcome(origin: dns.name.Name, path) -> tuple | str:
    try:
        return summary(read_zone_file(origin, str(path)))
    except ZoneLoadError as e:
        return str(e)


@pytest.fixture
def load(tmp_path, monkeypatch):
    """
    A function of a zone text: what the fast reader makes of it, and what
    L{read_zone_file} gives with the fast reader and with dnspython alone.
    """
    (tmp_path / "hosts.inc").write_text("www A 192.0.2.80\n")
    numbers = itertools.count()

    def outcomes(text: str, origin: dns.name.Name = ORIGIN) -> tuple:
        path = tmp_path / f"{next(numbers)}.zone"
        path.write_bytes(text.encode())
        fast = zonefast.read(origin, text)
        loaded = outcome(origin, path)
        with monkeypatch.context() as patch:
            patch.setattr(zonefast, "read", lambda origin, text: None)
            return fast, loaded, outcome(origin, path)

    return outcomes


@pytest.mark.parametrize("text", TAKEN.values(), ids=TAKEN.keys())
def test_read_as_dnspython_reads(load, text):
    """A simple zone file is read by the fast reader into what dnspython makes of it."""
    fast, loaded, by_dnspython = load(text)
    assert fast is not None
    assert loaded == by_dnspython


@pytest.mark.parametrize("text", LEFT.values(), ids=LEFT.keys())
def test_left_to_dnspython(load, text):
    """Anything else is left to dnspython: the same version, or the same error (file and line)."""
    fast, loaded, by_dnspython = load(text)
    assert fast is None
    assert loaded == by_dnspython


def test_fallback_keeps_line_of_error(load):
    """An error is dnspython's, with the line it is on."""
    fast, loaded, _ = load(HEAD + "www A 192.0.2.1\nx A 192.0.2.256\n")
    assert fast is None
    assert loaded.endswith("/0.zone:8: Text input is malformed.")  # dnspython counts the line end read


def test_fallback_reads_include(load):
    """An $INCLUDE is read, by dnspython."""
    fast, loaded, _ = load(HEAD + "$INCLUDE hosts.inc\n")
    assert fast is None
    assert (b"www", b"example", b"org", b"") in dict(loaded[0])


@pytest.mark.parametrize("origin", ["Example.ORG", "."])
def test_other_zone_names(load, origin):
    """A zone named in mixed case, and the root zone, without an $ORIGIN."""
    text = "$TTL 300\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nwww A 192.0.2.1\nWww.example.org. A 192.0.2.2\n"
    fast, loaded, by_dnspython = load(text, dns.name.from_text(origin))
    assert fast is not None
    assert loaded == by_dnspython


def test_rdata_memo_full(load, monkeypatch):
    """RDATA read while the memo of RDATA texts fills and is emptied again is the same."""
    monkeypatch.setattr(zonefast, "_MEMO_SIZE", 2)
    fast, loaded, by_dnspython = load(HEAD + "".join(f"m MX {i % 3} mail\n" for i in range(9)))
    assert fast is not None
    assert loaded == by_dnspython


#: Names as the reader passes them (no escapes, quotes, parentheses or
#: other than ASCII: the reader turns them away), valid or not, and of every
#: length about the longest a name may be.
NAME_TEXTS = [
    "@", ".", "ns1", "NS1", "a.b", "A.b.", "mail.example.net.", "*", "*.w", "_sip._tcp", "-", "a" * 63,
    "a" * 64, "a" * 64 + ".", "a..b", ".a", "a.", "..", "@.x", "x.@", "$x", "0", "a.b" * 40,
    *[("b" * 63 + ".") * 3 + "c" * length + end for length in range(40, 64) for end in ("", ".")],
]

PREFERENCES = ["0", "10", "010", "65535", "65536", "99999999999999999999", "-1", "+1", "1e3", "0x10", "ten", ""]


@pytest.mark.parametrize("origin", ["example.org.", "Sub.Example.ORG.", "."])
def test_simple_rdata_as_dnspython(origin):
    """
    The RDATA of NS, CNAME, PTR, DNAME, MX and SRV packed here is dnspython's
    C{to_wire()} of it; what is not packed here dnspython refuses (so
    that the file is dnspython's, with its message).
    """
    origin = dns.name.from_text(origin)
    room = zonefast._room(origin.labels)
    cases = [(rdtype, [name]) for rdtype in ("NS", "CNAME", "PTR", "DNAME") for name in NAME_TEXTS]
    cases += [("MX", [preference, name]) for preference in PREFERENCES for name in ["mail", "a" * 64]]
    cases += [("MX", [name]) for name in NAME_TEXTS] + [("NS", ["a", "b"]), ("NS", []), ("MX", ["1", "a", "b"])]
    cases += [("SRV", [p, w, port, name]) for p, w, port in itertools.product(PREFERENCES[:6], repeat=3) for name in ["sip", "."]]
    cases += [("SRV", ["0", "1", "2", name]) for name in NAME_TEXTS] + [("SRV", ["0", "1", "sip"]), ("SRV", [])]
    for rdtype, tokens in cases:
        rdtype = dns.rdatatype.from_text(rdtype)
        packed = zonefast._SIMPLE[rdtype]([token for token in tokens if token], origin.labels, room)
        try:
            rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, " ".join(tokens), origin, False, origin)
        except Exception:
            assert packed is None, (rdtype, tokens)
        else:
            assert packed == rdata.to_wire(), (rdtype, tokens)


@hypothesis.settings(max_examples=1000, deadline=None)
@hypothesis.given(
    st.lists(st.text(alphabet="0123456789abcdefABCDEF", max_size=5), min_size=1, max_size=10),
    st.lists(st.integers(0, 10), max_size=3),
    st.sampled_from(["", "", "::", ":", ".1", "%1", " "]),
)
def test_ipv6_address_as_dnspython(groups, gaps, end):
    """
    An IPv6 address packed here (canonical or not) is dnspython's AAAA
    RDATA; what is not packed here (an invalid one, a dotted quad)
    dnspython refuses or is left to it.
    """
    for gap in gaps:
        groups = groups[:gap] + [""] + groups[gap:]
    text = ":".join(groups) + end
    packed = zonefast._address(socket.AF_INET6, text)
    try:
        wire = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.AAAA, text).to_wire()
    except Exception:
        assert packed is None, text
    else:
        assert packed is None or packed == wire, text


def test_big_simple_file(load):
    """A file as bench/xfr_bench.py writes them is read by the fast reader."""
    lines = [f"h{i} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n" for i in range(3000)]
    fast, loaded, by_dnspython = load(HEAD + "".join(lines))
    assert fast is not None
    assert fast[2] == 3003
    assert loaded == by_dnspython


def test_big_file_with_names(load):
    """
    A file as bench/xfr_bench.py writes them, but with a multi-line SOA
    and a fifth of its records NS, MX and CNAME, is read by the fast
    reader, those packed here.
    """
    soa = "@ IN SOA ns1 hostmaster (\n 1 ; serial\n 3600 ; refresh\n 600 86400 60 )\n"
    lines = []
    for i in range(3000):
        kind = i % 15
        if kind == 0:
            lines.append(f"d{i} NS ns{i % 7}.d{i}\n")
        elif kind == 1:
            lines.append(f"h{i} MX 10 mail{i}.example.net.\n")
        elif kind == 2:
            lines.append(f"c{i} CNAME h{i - 1}\n")
        else:
            lines.append(f"h{i} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n")
    fast, loaded, by_dnspython = load("$ORIGIN example.org.\n$TTL 300\n" + soa + "@ NS ns1\n" + "".join(lines))
    assert fast is not None
    assert fast[2] == 3002
    assert loaded == by_dnspython


# -- Random zone files


DIRECTIVES = ["$TTL 60", "$TTL 1h", "$ttl 0", "$ORIGIN sub.example.org.", "$ORIGIN example.org.", "$ORIGIN x"]
OTHERS = ["", "   ", "; note", "\t; note"]
OWNERS = ["@", "", "", "www", "WWW", "Www.Sub", "a.b", "mail", "x.example.org.", "X.EXAMPLE.ORG.", "*.w", "sub"]


def random_owner(rng: random.Random, rdtype: str, alias_last: bool) -> str:
    """
    An owner for a record of C{rdtype} (C{""}: the last owner's) that
    dnspython takes: an SOA at the apex, a CNAME at its own name, and no
    other type there.
    """
    if rdtype == "SOA":
        return rng.choice(["example.org.", "Example.ORG."])
    if rdtype == "CNAME":
        return rng.choice(["alias.example.org.", "Alias.Example.ORG.", "" if alias_last else "alias.example.org."])
    return rng.choice([owner for owner in OWNERS if owner] if alias_last else OWNERS)


def random_record(rng: random.Random, owner: str, rdtype: str, rdata: str) -> str:
    """
    A record line: a TTL and class or not, in either order, spaces or
    tabs, a comment or not; now and then in parentheses, over lines.
    """
    head = [rng.choice(["60", "300", "1h", "2D", "0", "1w2d"])] if rng.random() < 0.4 else []
    if rng.random() < 0.5:
        head.insert(rng.randrange(len(head) + 1), rng.choice(["IN", "in"]))
    sep = rng.choice([" ", "\t", "  "])
    fields = [owner, *head, rdtype, *rdata.split(" ")]
    if rng.random() < 0.2:
        fields = parenthesised(rng, fields)
    return sep.join(fields) + rng.choice(["", "", " ; c", ";c"])


def parenthesised(rng: random.Random, fields: list[str]) -> list[str]:
    """
    C{fields} with one pair of parentheses after the owner, line ends
    (with a comment or not) inside them, the closing one on a line of
    its own or not.
    """
    opening = rng.randrange(1, len(fields))
    closing = rng.randrange(opening, len(fields)) + 1
    inside = fields[opening:closing]
    for _ in range(rng.randrange(3)):
        inside.insert(rng.randrange(len(inside) + 1), rng.choice(["\n", "; c (\n", "\n\n"]))
    return [*fields[:opening], "(", *inside, rng.choice([")", "\n)", "\n\t)"]), *fields[closing:]]


#: Names in RDATA: relative, absolute, the origin, the root, in either case, long.
TARGETS = ["@", ".", "ns1", "Ns1", "a.B", "Mail.Example.NET.", "x.example.org.", "*.w", "a" * 63 + ".b"]

RANDOM_RDATA = [
    lambda rng: ("A", f"192.0.2.{rng.randrange(4)}"),
    lambda rng: ("A", f"10.0.{rng.randrange(2)}.{rng.randrange(3)}"),
    lambda rng: ("AAAA", rng.choice(["2001:db8::1", "2001:DB8::1", "2001:db8:0:0:0:0:0:2", "::ffff:192.0.2.1"])),
    lambda rng: ("MX", f"{rng.randrange(3) * 10} {rng.choice(['mail', 'Mail', 'mail.example.net.'])}"),
    lambda rng: ("MX", f"{rng.choice(['0', '010', '65535'])} {rng.choice(TARGETS)}"),
    lambda rng: ("NS", rng.choice(["ns1", "NS1", "ns2.example.net."])),
    lambda rng: (rng.choice(["NS", "PTR", "DNAME"]), rng.choice(TARGETS)),
    lambda rng: ("TXT", rng.choice(["a", "a b", "A"])),
    lambda rng: ("SRV", f"0 {rng.randrange(3)} 5060 sip"),
    lambda rng: ("CNAME", rng.choice(["www", "target.example.net.", *TARGETS])),
    lambda rng: ("CAA", "0 issue ca.example.net"),
    lambda rng: ("RRSIG", SIGNATURE),
    lambda rng: ("SOA", f"ns1 host {rng.randrange(5)} 2 3 4 {rng.randrange(100)}"),
]


def random_zone(rng: random.Random) -> str:
    """
    A zone text: an apex SOA (on one line or several) and NS, with or
    without a $TTL before them, then random lines.
    """
    ttl = rng.choice(["$TTL 300\n", "$TTL 2h\n", ""])
    soa_ttl = rng.choice(["", "3600 "])
    soa = rng.choice(["ns1 host 1 2 3 4 {}", "ns1 host (\n 1 ; serial\n 2 3 4\n {} )", "ns1 host ( 1 2 3 4 {}\n)"])
    lines = [f"$ORIGIN example.org.\n{ttl}@ {soa_ttl}SOA {soa.format(rng.randrange(1000))}\n@ NS ns1"]
    alias_last = False
    for _ in range(rng.randrange(5, 40)):
        roll = rng.random()
        if roll < 0.05:
            lines.append(rng.choice(DIRECTIVES))
        elif roll < 0.1:
            lines.append(rng.choice(OTHERS))
        else:
            rdtype, rdata = rng.choice(RANDOM_RDATA)(rng)
            owner = random_owner(rng, rdtype, alias_last)
            alias_last = rdtype == "CNAME"
            lines.append(random_record(rng, owner, rdtype, rdata))
    newline = rng.choice(["\n", "\n", "\r\n"])
    return ("\n".join(lines) + "\n").replace("\n", newline)


def test_random_zones(load):
    """Random zone files: whatever the fast reader takes, it reads as dnspython does."""
    rng = random.Random(20260101)
    taken = 0
    for _ in range(200):
        text = random_zone(rng)
        fast, loaded, by_dnspython = load(text)
        assert loaded == by_dnspython, text
        taken += fast is not None
    assert taken == 200  # the zones are valid, and simple


# -- Quoted strings, escapes and $GENERATE, generated (issue 14)


def outcomes_of(text: str, origin: dns.name.Name = ORIGIN) -> tuple:
    """L{load} without pytest's fixtures (hypothesis runs a test many times in one)."""
    with tempfile.TemporaryDirectory(prefix="zonefast-") as directory:
        path = Path(directory) / "zone"
        path.write_bytes(text.encode())
        fast = zonefast.read(origin, text)
        loaded = outcome(origin, path)
        with mock.patch.object(zonefast, "read", lambda origin, text: None):
            return fast, loaded, outcome(origin, path)


#: Characters a character-string may hold as they are in a quoted string
#: (not the quote, nor the backslash), and outside quotes.
QUOTABLE = "".join(chr(c) for c in range(32, 127) if chr(c) not in '"\\') + "\t"
UNQUOTABLE = "".join(c for c in QUOTABLE if c not in ' \t;()"')


def written(octets: bytes, quoted: bool, rng: random.Random) -> str:
    """
    C{octets} as a zone file writes a character-string: each octet as it
    is (where it may be), as C{\\X} (where X is not a digit) or as C{\\DDD},
    chosen at random; in quotes or not.
    """
    allowed = QUOTABLE if quoted else UNQUOTABLE
    parts = []
    for octet in octets:
        char = chr(octet)
        roll = rng.random()
        if char in allowed and roll < 0.7:
            parts.append(char)
        elif 32 < octet < 127 and not char.isdigit() and roll < 0.85:
            parts.append("\\" + char)
        else:
            parts.append(f"\\{octet:03d}")
    text = "".join(parts)
    return f'"{text}"' if quoted else text


@st.composite
def character_strings(draw, valid: bool = True) -> str:
    """One character-string as written in a zone file: printable, escaped, empty, 255 octets long."""
    kind = draw(st.sampled_from(["printable", "printable", "octets", "empty", "longest", "quotes"]))
    if kind == "empty":
        octets = b""
    elif kind == "longest":
        octets = bytes([draw(st.integers(33, 126))]) * 255
    elif kind == "octets":
        octets = draw(st.binary(max_size=40))
    elif kind == "quotes":
        octets = draw(st.text(alphabet='"\\;() ab', max_size=12)).encode()
    else:
        octets = draw(st.text(alphabet=QUOTABLE, max_size=60)).encode()
    quoted = not octets or draw(st.booleans())
    text = written(octets, quoted, random.Random(draw(st.integers(0, 2**32))))
    if not valid:
        text = draw(
            st.sampled_from(
                [text] * 6
                + ['"' + "x" * 256 + '"', "y" * 256, '"a\\256"', '"a\\1"', "b\\12", '"\\12x"', '"unclosed', "\\#"]
            )
        )
    return text


@st.composite
def string_lists(draw, valid: bool = True) -> str:
    """One to four character-strings, with or without space between quoted ones, now and then over lines."""
    strings = draw(st.lists(character_strings(valid), min_size=1, max_size=4))
    over_lines = draw(st.integers(0, 4)) == 0
    text = strings[0]
    for string in strings[1:]:
        together = text.endswith('"') and string.startswith('"') and draw(st.booleans())
        if over_lines and not together and "\n" not in text:
            text += " ; c\n " + string  # a comment and a new line between two strings, never inside one
        else:
            text += ("" if together else " ") + string
    return "( " + text + "\n )" if over_lines else text


#: $GENERATE parts: left-hand sides (none a CNAME's owner but "c..."), and types with right-hand sides.
LHS = ["h$", "g${0,3,d}", "x${-1,2,x}.sub", "n${0,0,N}", "d$$$", "$", "e\\.$", "H$.example.org.", "o${1,4,o}"]
RHS = [
    ("A", "10.0.0.$"),
    ("A", "192.0.2.${2}"),
    ("AAAA", "2001:db8::${0,0,x}"),
    ("TXT", "v$\\032x"),
    ("TXT", "a$$"),
    ("TXT", "\\\"$\\\""),
    ("PTR", "h$.example.net."),
    ("NS", "ns${0,2}"),
]


@st.composite
def generate_lines(draw, valid: bool = True) -> tuple[str, bool]:
    """A $GENERATE line, and whether the last name it makes is a CNAME's."""
    start = draw(st.integers(0, 200))
    stop = start + draw(st.integers(0, 5))
    step = draw(st.sampled_from(["", "", "/1", "/2", "/3"]))
    ttl = draw(st.sampled_from(["", "", "60 ", "1h "]))
    rdclass = draw(st.sampled_from(["", "", "IN ", "in "]))
    cname = draw(st.integers(0, 5)) == 0
    if cname:
        lhs, rdtype, rhs = draw(st.sampled_from(["c$", "c${0,3}"])), "CNAME", draw(st.sampled_from(["t$", "@"]))
    else:
        lhs = draw(st.sampled_from(LHS))
        rdtype, rhs = draw(st.sampled_from(RHS))
    line = f"$GENERATE {start}-{stop}{step} {lhs} {ttl}{rdclass}{rdtype} {rhs}"
    if not valid:
        line = draw(
            st.sampled_from(
                [line] * 6
                + [
                    f"$GENERATE {stop}-{start} h$ A 10.0.0.$",
                    "$GENERATE 250-260 h$ A 10.0.0.$",
                    "$GENERATE 1-2 h${x} A 10.0.0.$",
                    '$GENERATE 1-2 h$ TXT "x$"',
                    "$GENERATE 1-2 h$ MX 10 mail$",
                    "$GENERATE 1-2 h$.example.net. A 10.0.0.$",
                    "$GENERATE 1-2 h$ IN 60 A 10.0.0.$",
                ]
            )
        )
    return line + draw(st.sampled_from(["", "", " ; c", ' ; "q"', "  "])), cname


#: Owners of generated records (C{""}: the last owner's), plain and escaped.
STRING_OWNERS = ["@", "", "www", "t\\.x", "Esc\\065", "sub", "*.w", "T", "\\@", "sp\\032x"]


@st.composite
def records(draw, valid: bool = True) -> tuple[str, bool]:
    """A record of a type with character-strings, or a $GENERATE line; whether it names a CNAME last."""
    kind = draw(st.sampled_from(["TXT", "TXT", "SPF", "CAA", "NAPTR", "HINFO", "GENERATE"]))
    if kind == "GENERATE":
        return draw(generate_lines(valid))
    if kind in ("TXT", "SPF"):
        rdata = draw(string_lists(valid))
    elif kind == "CAA":
        flags = draw(st.sampled_from(["0", "128", "255"] + ([] if valid else ["256"])))
        tag = draw(st.sampled_from(["issue", "issuewild", "iodef", "tbs", "ISSUE"] + ([] if valid else ['"is sue"'])))
        rdata = f"{flags} {tag} {draw(character_strings(valid))}"
    elif kind == "NAPTR":
        flags = draw(st.sampled_from(['""', '"U"', '"S"', '"a"', "P"]))
        service = draw(st.sampled_from(['"E2U+sip"', '"SIP+D2U"', '""', "http+I2L"]))
        replacement = draw(st.sampled_from([".", "sip", "_sip._udp.Example.org.", "s\\.x"]))
        rdata = f"{draw(st.integers(0, 65535))} {draw(st.integers(0, 65535))} {flags} {service} "
        rdata += f"{draw(character_strings(valid))} {replacement}"
    else:
        rdata = f"{draw(character_strings(valid))} {draw(character_strings(valid))}"
    owner = draw(st.sampled_from(STRING_OWNERS))
    ttl = draw(st.sampled_from(["", "", "60 ", "IN ", "30 IN "]))
    return f"{owner} {ttl}{kind} {rdata}" + draw(st.sampled_from(["", " ; c", ' ; "q" \\'])), False


@st.composite
def string_zones(draw, valid: bool = True) -> str:
    """A zone text: L{HEAD}, then records with character-strings, $GENERATE lines and plain records."""
    lines = [HEAD.rstrip("\n")]
    cname_last = False
    for _ in range(draw(st.integers(1, 12))):
        line, cname = draw(records(valid))
        if cname_last and line.startswith(" "):
            line = "www" + line  # not another record at a CNAME's name
        if draw(st.integers(0, 3)) == 0:
            lines.append(draw(st.sampled_from(["www A 192.0.2.1", "$TTL 60", "; note", "m MX 10 mail"])))
        lines.append(line)
        cname_last = cname
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""]))


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(string_zones())
def test_strings_and_generate_read_fast(text):
    """Valid zone files with TXT, SPF, CAA, NAPTR, HINFO, escapes and $GENERATE: read here, as dnspython reads them."""
    fast, loaded, by_dnspython = outcomes_of(text)
    assert loaded == by_dnspython
    assert fast is not None


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(string_zones(valid=False))
def test_strings_and_generate_as_dnspython(text):
    """The same with errors among them: what the fast reader takes it reads as dnspython does, or it gives up."""
    fast, loaded, by_dnspython = outcomes_of(text)
    assert loaded == by_dnspython


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(st.lists(character_strings(valid=False), min_size=0, max_size=4))
@hypothesis.example(['"unclosed', '"\\048\\048(;"'])
def test_strings_as_dnspython_packs_them(tokens):
    """
    L{zonefast._strings} is dnspython's TXT RDATA, or C{None} where dnspython
    refuses it.  The text is a whole record: a parenthesis left open (which
    a zone file would close on a later line) is refused by L{_scanned}.
    """
    text = " ".join(tokens)
    try:
        scanned = zonefast._scanned(text, iter(()))
    except zonefast._Refused:
        return
    packed = zonefast._strings(scanned, ORIGIN.labels, 0)
    try:
        wire = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, text).to_wire()
    except Exception:
        assert packed is None
    else:
        assert packed == wire


def test_usual_mix_read_fast(load):
    """
    A file of the usual mix as bench/zonefile_bench.py writes them (quoted
    TXT over lines with escapes, CAA, SRV, MX, CNAME, NS, A, AAAA) and
    $GENERATE is read by the fast reader, as dnspython reads it.
    """
    lines = ["$GENERATE 0-99 mail$ A 192.0.2.$\n"]
    for i in range(2000):
        kind = i % 10
        if kind == 0:
            lines.append(f't{i} TXT "v=spf1 ip4:10.{i & 255}.0.0/16 ~all" "n\\"{i}\\";\\040x"\n')
        elif kind == 1:
            lines.append(f'k{i} TXT ( "p=MIGfMA0{i:07d}" ; key\n "AQAB" )\n')
        elif kind == 2:
            lines.append(f'a{i} CAA 0 issue "ca{i % 3}.example.net"\n')
        elif kind == 3:
            lines.append(f"_sip._tcp.s{i} SRV 0 {i % 10} 5060 mail{i % 100}\n")
        elif kind == 4:
            lines.append(f"m{i} MX {i % 3} mail{i % 100}\n")
        elif kind == 5:
            lines.append(f"c{i} CNAME mail{i % 100}\n")
        elif kind == 6:
            lines.append(f"h{i} AAAA 2001:db8::{i:x}\n")
        else:
            lines.append(f"h{i} A 10.0.{(i >> 8) & 255}.{i & 255}\n")
    fast, loaded, by_dnspython = load(HEAD + "".join(lines))
    assert fast is not None
    assert fast[2] == 3 + 100 + 2000
    assert loaded == by_dnspython
