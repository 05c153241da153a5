"""secdns.zones.zonefile: RFC 1035 zone files, their directives, and the stamp of the files read."""

from __future__ import annotations

import os

import dns.name
import dns.rdataclass
import dns.rdatatype
import pytest

from secdns.errors import ZoneLoadError
from secdns.zones.zonefile import MAX_INCLUDE_DEPTH, load_zone_file, read_zone_file

ORIGIN = dns.name.from_text("example.org")

HEAD = """\
$ORIGIN example.org.
$TTL 300
@       IN SOA ns1 hostmaster 2026010101 7200 3600 1209600 300
        IN NS  ns1
ns1     IN A   192.0.2.1
"""


def name(text: str) -> dns.name.Name:
    return dns.name.from_text(text, ORIGIN)


def rdataset(data, owner: str, rdtype: str):
    return data.rdataset(name(owner), dns.rdatatype.from_text(rdtype))


def texts(data, owner: str, rdtype: str) -> set[str]:
    rds = rdataset(data, owner, rdtype)
    return set() if rds is None else {rdata.to_text() for rdata in rds}


def write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def error_of(path) -> str:
    with pytest.raises(ZoneLoadError) as raised:
        read_zone_file(ORIGIN, str(path))
    message = str(raised.value)
    assert "\n" not in message
    return message


class TestDirectives:
    def test_origin_and_ttl(self, tmp_path):
        """$ORIGIN changes where relative names end and $TTL the TTL of records without one."""
        zone = write(
            tmp_path / "z.zone",
            HEAD + "www IN A 192.0.2.80\n$ORIGIN sub.example.org.\n$TTL 60\nhost IN A 192.0.2.81\n",
        )
        data = read_zone_file(ORIGIN, str(zone))
        assert data.serial == 2026010101
        assert rdataset(data, "www", "A").ttl == 300
        assert texts(data, "host.sub", "A") == {"192.0.2.81"}
        assert rdataset(data, "host.sub", "A").ttl == 60

    def test_generate(self, tmp_path):
        """$GENERATE makes one record per step of its range."""
        zone = write(tmp_path / "z.zone", HEAD + "$GENERATE 1-4/2 host$ A 10.0.0.$\n")
        data = read_zone_file(ORIGIN, str(zone))
        assert texts(data, "host1", "A") == {"10.0.0.1"}
        assert texts(data, "host3", "A") == {"10.0.0.3"}
        assert rdataset(data, "host2", "A") is None

    def test_include_relative_to_zone_file(self, tmp_path):
        """A relative $INCLUDE path is taken from the zone file's directory, not the working directory."""
        assert os.getcwd() != str(tmp_path / "zones")
        write(tmp_path / "zones" / "hosts.inc", "www IN A 192.0.2.80\n")
        zone = write(tmp_path / "zones" / "z.zone", HEAD + "$INCLUDE hosts.inc\n")
        assert texts(read_zone_file(ORIGIN, str(zone)), "www", "A") == {"192.0.2.80"}

    def test_include_quoted_path_with_space(self, tmp_path):
        """A quoted $INCLUDE path may hold a space."""
        write(tmp_path / "my zones" / "hosts.inc", "www IN A 192.0.2.80\n")
        zone = write(tmp_path / "z.zone", HEAD + '$INCLUDE "my zones/hosts.inc"\n')
        assert texts(read_zone_file(ORIGIN, str(zone)), "www", "A") == {"192.0.2.80"}

    def test_include_absolute_path(self, tmp_path):
        """An absolute $INCLUDE path is used as it is, in a directory the zone's include_dirs allows."""
        included = write(tmp_path / "elsewhere" / "hosts.inc", "www IN A 192.0.2.80\n")
        zone = write(tmp_path / "zones" / "z.zone", HEAD + f"$INCLUDE {included}\n")
        data = read_zone_file(ORIGIN, str(zone), include_dirs=(str(tmp_path / "elsewhere"),))
        assert texts(data, "www", "A") == {"192.0.2.80"}

    def test_nested_include_relative_to_including_file(self, tmp_path):
        """An $INCLUDE inside an included file is relative to that file's directory."""
        write(tmp_path / "inc" / "deeper.inc", "deep IN A 192.0.2.2\n")
        write(tmp_path / "inc" / "hosts.inc", "www IN A 192.0.2.80\n$INCLUDE deeper.inc\n")
        zone = write(tmp_path / "z.zone", HEAD + "$INCLUDE inc/hosts.inc\nafter IN A 192.0.2.3\n")
        data = read_zone_file(ORIGIN, str(zone))
        assert texts(data, "deep", "A") == {"192.0.2.2"}
        assert texts(data, "after", "A") == {"192.0.2.3"}

    def test_include_with_origin(self, tmp_path):
        """$INCLUDE with an origin reads the file under it, and the including file's origin comes back after."""
        write(tmp_path / "lab.inc", "host IN A 192.0.2.9\n")
        zone = write(tmp_path / "z.zone", HEAD + "$INCLUDE lab.inc lab\nafter IN A 192.0.2.3\n")
        data = read_zone_file(ORIGIN, str(zone))
        assert texts(data, "host.lab", "A") == {"192.0.2.9"}
        assert texts(data, "after", "A") == {"192.0.2.3"}

    def test_include_word_in_rdata_is_data(self, tmp_path):
        """The word $INCLUDE inside record data is data, not a directive."""
        zone = write(tmp_path / "z.zone", HEAD + "txt IN TXT $INCLUDE hosts.inc\n")
        assert texts(read_zone_file(ORIGIN, str(zone)), "txt", "TXT") == {'"$INCLUDE" "hosts.inc"'}


class TestErrors:
    def test_missing_file(self, tmp_path):
        """A zone file that does not exist is named, with the reason."""
        path = tmp_path / "nonexistent.zone"
        assert error_of(path) == f"zone example.org: {path}: cannot read: No such file or directory"

    def test_not_utf8(self, tmp_path):
        """A zone file that is not UTF-8 text is an error, not a crash."""
        path = tmp_path / "z.zone"
        path.write_bytes(HEAD.encode() + b"txt IN TXT \xff\n")
        assert error_of(path) == f"zone example.org: {path}: not UTF-8 text (byte {len(HEAD) + 11})"

    def test_syntax_error_names_file_and_line(self, tmp_path):
        """A record that does not parse is reported with its file and line."""
        path = write(tmp_path / "z.zone", HEAD + "www IN AAA 192.0.2.80\n")
        assert error_of(path) == f"zone example.org: {path}:6: unknown rdatatype 'AAA'"

    def test_error_in_included_file_names_that_file(self, tmp_path):
        """A bad record in an included file is reported with that file's name."""
        included = write(tmp_path / "hosts.inc", "www IN A 192.0.2.80\nbad IN AAA ::1\n")
        path = write(tmp_path / "z.zone", HEAD + "$INCLUDE hosts.inc\n")
        assert error_of(path) == f"zone example.org: {included}:2: unknown rdatatype 'AAA'"

    def test_missing_include(self, tmp_path):
        """An $INCLUDE of a missing file names the directive's line and the file it looked for."""
        path = write(tmp_path / "z.zone", HEAD + "$INCLUDE hosts.inc\n")
        assert error_of(path) == (
            f"zone example.org: {path}:6: cannot read {tmp_path / 'hosts.inc'}: No such file or directory"
        )

    def test_include_loop(self, tmp_path):
        """A file that includes itself is an error, not a hang or a crash."""
        loop = write(tmp_path / "loop.inc", "$INCLUDE loop.inc\n")
        path = write(tmp_path / "z.zone", HEAD + "$INCLUDE loop.inc\n")
        assert error_of(path) == (
            f"zone example.org: {loop}:1: $INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep "
            "(does a file include itself?)"
        )

    def test_unknown_directive(self, tmp_path):
        """A directive dnspython does not know is an error on its line."""
        path = write(tmp_path / "z.zone", HEAD + "$FOO bar\n")
        assert error_of(path) == f"zone example.org: {path}:6: zone file directive '$FOO' is not allowed"

    def test_no_soa(self, tmp_path):
        """A zone file without an SOA at the apex is refused."""
        path = write(tmp_path / "z.zone", "$ORIGIN example.org.\n@ 300 IN NS ns1\n")
        assert error_of(path) == f"zone example.org: {path}: no SOA record at the zone apex"

    def test_no_ns(self, tmp_path):
        """A zone file without NS records at the apex is refused."""
        path = write(tmp_path / "z.zone", "$ORIGIN example.org.\n@ 300 IN SOA ns1 host 1 2 3 4 5\n")
        assert error_of(path) == f"zone example.org: {path}: no NS records at the zone apex"

    def test_cname_and_other_data(self, tmp_path):
        """A CNAME beside other data at one name is refused."""
        path = write(tmp_path / "z.zone", HEAD + "www IN CNAME ns1\nwww IN A 192.0.2.80\n")
        assert "rdataset type is not compatible with a CNAME node" in error_of(path)


class TestStamp:
    def test_lists_every_file_read(self, tmp_path):
        """The stamp names the zone file and each file it includes, in the order read."""
        deeper = write(tmp_path / "inc" / "deeper.inc", "deep IN A 192.0.2.2\n")
        hosts = write(tmp_path / "inc" / "hosts.inc", "$INCLUDE deeper.inc\n")
        zone = write(tmp_path / "z.zone", HEAD + "$INCLUDE inc/hosts.inc\n")
        stamp = load_zone_file(ORIGIN, str(zone)).stamp
        assert [path for path, _ in stamp.files] == [str(zone), str(hosts), str(deeper)]
        assert stamp.path == str(zone)

    def test_unchanged(self, tmp_path):
        """Files rewritten with the same contents are unchanged."""
        hosts = write(tmp_path / "hosts.inc", "www IN A 192.0.2.80\n")
        zone = write(tmp_path / "z.zone", HEAD + "$INCLUDE hosts.inc\n")
        stamp = load_zone_file(ORIGIN, str(zone)).stamp
        write(zone, HEAD + "$INCLUDE hosts.inc\n")
        write(hosts, "www IN A 192.0.2.80\n")
        assert not stamp.changed()

    def test_same_size_edit_at_once(self, tmp_path):
        """An edit that keeps the size, made at once after the read, is a change."""
        zone = write(tmp_path / "z.zone", HEAD)
        stamp = load_zone_file(ORIGIN, str(zone)).stamp
        write(zone, HEAD.replace("2026010101", "2026010102"))
        assert stamp.changed()

    def test_included_file_edited(self, tmp_path):
        """An edit to an included file alone is a change."""
        hosts = write(tmp_path / "hosts.inc", "www IN A 192.0.2.80\n")
        zone = write(tmp_path / "z.zone", HEAD + "$INCLUDE hosts.inc\n")
        stamp = load_zone_file(ORIGIN, str(zone)).stamp
        write(hosts, "www IN A 192.0.2.81\n")
        assert stamp.changed()

    def test_file_removed(self, tmp_path):
        """A zone file that is gone is a change."""
        zone = write(tmp_path / "z.zone", HEAD)
        stamp = load_zone_file(ORIGIN, str(zone)).stamp
        zone.unlink()
        assert stamp.changed()


class TestBounds:
    """What a zone file may make secdns read (issue 13): it may run as root, and a file may be hostile."""

    def test_include_outside_the_zone_files_directory_refused(self, tmp_path):
        secret = write(tmp_path / "etc" / "shadow", "root:$6$abcdefghijklmnop:19000:0:99999:7:::\n")
        zone = write(tmp_path / "zones" / "z.zone", HEAD + f"$INCLUDE {secret}\n")
        with pytest.raises(ZoneLoadError) as e:
            read_zone_file(ORIGIN, str(zone))
        assert str(e.value) == (
            f"zone example.org: {zone}:6: $INCLUDE {secret}: {secret} is outside {tmp_path / 'zones'}; "
            "list its directory in the zone's include_dirs to allow it"
        )

    def test_include_escaping_by_dots_or_symlink_refused(self, tmp_path):
        write(tmp_path / "outside.inc", "www IN A 192.0.2.80\n")
        (tmp_path / "zones").mkdir()
        os.symlink(tmp_path / "outside.inc", tmp_path / "zones" / "link.inc")
        for include in ("../outside.inc", "link.inc"):
            zone = write(tmp_path / "zones" / "z.zone", HEAD + f"$INCLUDE {include}\n")
            with pytest.raises(ZoneLoadError, match="is outside"):
                read_zone_file(ORIGIN, str(zone))

    def test_include_in_a_subdirectory_allowed(self, tmp_path):
        write(tmp_path / "zones" / "inc" / "hosts.inc", "www IN A 192.0.2.80\n")
        zone = write(tmp_path / "zones" / "z.zone", HEAD + "$INCLUDE inc/hosts.inc\n")
        assert texts(read_zone_file(ORIGIN, str(zone)), "www", "A") == {"192.0.2.80"}

    def test_error_quotes_only_the_first_octets_of_what_failed(self, tmp_path):
        """A line that does not parse is never echoed whole: an error must not read a file for the operator."""
        write(tmp_path / "inc" / "data.inc", "www IN TXT-secret-Pa55w0rd-do-not-print 1.2.3.4\n")
        zone = write(tmp_path / "z.zone", HEAD + "$INCLUDE inc/data.inc\n")
        with pytest.raises(ZoneLoadError) as e:
            read_zone_file(ORIGIN, str(zone))
        assert "Pa55w0rd" not in str(e.value)
        assert "TXT-secr..." in str(e.value)

    def test_file_over_the_size_limit_refused(self, tmp_path):
        zone = write(tmp_path / "z.zone", HEAD + "".join(f"h{i} IN A 192.0.2.1\n" for i in range(100)))
        with pytest.raises(ZoneLoadError) as e:
            read_zone_file(ORIGIN, str(zone), max_bytes=1000)
        assert str(e.value) == f"zone example.org: {zone}: more than 1,000 octets with what it includes (transfer.max_file_bytes)"
        assert read_zone_file(ORIGIN, str(zone), max_bytes=10_000) is not None

    def test_includes_count_toward_the_size_limit(self, tmp_path):
        write(tmp_path / "big.inc", "".join(f"h{i} IN A 192.0.2.1\n" for i in range(100)))
        zone = write(tmp_path / "z.zone", HEAD + "$INCLUDE big.inc\n")
        with pytest.raises(ZoneLoadError, match=r"z.zone:6: more than 1,000 octets"):
            read_zone_file(ORIGIN, str(zone), max_bytes=1000)

    def test_fifo_and_directory_refused_without_blocking(self, tmp_path):
        os.mkfifo(tmp_path / "fifo.zone")
        with pytest.raises(ZoneLoadError, match="not a regular file"):
            read_zone_file(ORIGIN, str(tmp_path / "fifo.zone"))
        os.mkfifo(tmp_path / "fifo.inc")
        zone = write(tmp_path / "z.zone", HEAD + "$INCLUDE fifo.inc\n")
        with pytest.raises(ZoneLoadError, match=r"z.zone:6: is not a regular file"):
            read_zone_file(ORIGIN, str(zone))
        (tmp_path / "dir.zone").mkdir()
        with pytest.raises(ZoneLoadError, match="cannot read: Is a directory"):
            read_zone_file(ORIGIN, str(tmp_path / "dir.zone"))
