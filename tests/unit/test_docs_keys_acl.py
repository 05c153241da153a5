"""
docs/keys.rst and docs/transfer-acl.rst say what secdns does: their TOML
examples are valid config, and each message they quote is the one secdns
writes for the case they describe.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import dns.name
import pytest

from secdns.config import parse
from secdns.errors import ConfigError
from secdns.zones.acl import Action, check
from tests.support import require

DOCS = Path(__file__).resolve().parents[2] / "docs"
SOURCE = "/etc/secdns/secdns.toml"
BASE = "/etc/secdns"
SECRET = "EbOeALbhr4JiCtYx8qPE41Ak+Sgz3W6FgZcvWpB0GB0="


def doc(name: str) -> str:
    return (DOCS / name).read_text()


def toml_blocks(text: str) -> list[str]:
    """The bodies of the page's C{.. code-block:: toml} directives."""
    blocks = []
    for match in re.finditer(r"^\.\. code-block:: toml\n\n((?:    .*\n|\n)+)", text, re.M):
        blocks.append("\n".join(line[4:] for line in match.group(1).splitlines()))
    return blocks


def bind_keys(*names: str) -> str:
    return "".join(f'key "{name}" {{\n\talgorithm hmac-sha256;\n\tsecret "{SECRET}";\n}};\n' for name in names)


def with_keys(block: str) -> str:
    """A block that names keys it does not declare gets them declared first."""
    declared = set(re.findall(r'^name = "([^"]+)"', block, re.M))
    named = set(re.findall(r'tsig_key = "([^"]+)"', block)) - declared
    return "".join(f'[[tsig_key]]\nname = "{name}"\nsecret = "{SECRET}"\n' for name in sorted(named)) + block


def error_of(config: str, files: dict[str, str]) -> str:
    def read_text(path):
        return files[path]

    with pytest.raises(ConfigError) as raised:
        parse(config, source=SOURCE, base_dir=BASE, read_text=read_text)
    return str(raised.value)


def quoted(page: str, start: str) -> list[str]:
    """The page's indented literal lines beginning with C{start}."""
    return [line.strip() for line in doc(page).splitlines() if line.strip().startswith(start)]


@pytest.mark.parametrize("page", ["keys.rst", "transfer-acl.rst"])
def test_toml_examples_are_valid_config(page):
    blocks = toml_blocks(doc(page))
    assert len(blocks) == 2
    for block in blocks:
        if block.startswith("external_downstreams"):  # a fragment of a zone: put it in one
            block = '[[zone]]\nname = "example.com"\ntype = "primary"\nfile = "z"\n' + block
        names = re.findall(r'^name = "([^"]+)"', block, re.M)
        parse(with_keys(block), source=SOURCE, base_dir=BASE, read_text=lambda path: bind_keys(*names))


def test_keys_page_messages(tmp_path):
    lines = quoted("keys.rst", "secdns: ")
    peer_key = subprocess.run([require("tsig-keygen"), "peer-key"], capture_output=True, text=True, check=True).stdout
    sha512 = subprocess.run([require("keymgr"), "-t", "k", "hmac-sha512"], capture_output=True, text=True, check=True).stdout
    broken = sha512.replace("secret: ", "secret: !")
    made = [
        error_of('[[tsig_key]]\nname = "k"\nsecret_file = "keys/k.conf"\n', {"/etc/secdns/keys/k.conf": peer_key}),
        error_of('[[tsig_key]]\nname = "k"\nalgorithm = "hmac-sha256"\nsecret_file = "keys/k.yaml"\n', {"/etc/secdns/keys/k.yaml": sha512}),
        error_of('[[tsig_key]]\nname = "k"\nsecret_file = "keys/k.yaml"\n', {"/etc/secdns/keys/k.yaml": broken}),
        error_of(
            '[[tsig_key]]\nname = "nsd-secondary"\nsecret_file = "keys/peers.conf"\n',
            {"/etc/secdns/keys/peers.conf": bind_keys("bind-primary", "knot-secondary")},
        ),
    ]
    assert lines == [f"secdns: {message}" for message in made]
    (reload_line,) = quoted("keys.rst", "reload failed")
    message = error_of(
        '[[tsig_key]]\nname = "transfer-key"\nsecret_file = "keys/transfer-key.conf"\n',
        {"/etc/secdns/keys/transfer-key.conf": bind_keys("transfer-key").replace(SECRET, SECRET[:20] + "!!" + SECRET[22:])},
    )
    assert reload_line == f"reload failed, leaving the old configuration in place: {message}"


def test_transfer_acl_page_messages():
    config = parse(
        '[[tsig_key]]\nname = "debug-key"\nsecret = "' + SECRET + '"\n'
        '[[zone]]\nname = "example.com"\ntype = "primary"\nfile = "z"\n'
        'allow_transfer = [ { address = "192.0.2.0/24" } ]\n'
        '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "z"\n'
        'allow_transfer = [ { address = "127.0.0.0/8", tsig_key = "debug-key" } ]\n'
    )
    com, org = config.zones
    refusals = quoted("transfer-acl.rst", "AXFR of example.com refused to 127.0.0.1: ")
    reasons = [line.split(": ", 1)[1] for line in refusals]
    assert reasons == [check(com, Action.TRANSFER, "127.0.0.1", None).reason, check(org, Action.TRANSFER, "127.0.0.1", None).reason]
    assert check(org, Action.TRANSFER, "127.0.0.1", dns.name.from_text("debug-key"))
    (reload_line,) = quoted("transfer-acl.rst", "reload failed")
    message = error_of(
        '[[zone]]\nname = "example.com"\ntype = "primary"\nfile = "z"\n'
        'allow_transfer = [ { address = "127.0.0.1" }, { address = "192.0.2.9/24" } ]\n',
        {},
    )
    assert reload_line == f"reload failed, leaving the old configuration in place: {message}"
