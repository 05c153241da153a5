"""
secdns.config: C{[[tsig_key]] secret_file} read as the peers write key
files (BIND's C{tsig-keygen}, Knot's C{keymgr -t}, made by the real
programs here; base64 and C{[alg:]name:secret} lines), the key picked by
the C{[[tsig_key]]}'s name, and errors that name the config file, the key,
the key file and its line, never the secret.
"""

from __future__ import annotations

import base64
import re
import subprocess

import pytest

from secdns.config import load, parse
from secdns.errors import ConfigError
from tests.support import require
from tests.unit.test_keyfile import KEYMGR_T_OUTPUT, TSIG_KEYGEN_OUTPUT

SOURCE = "/etc/secdns/secdns.toml"
BASE = "/etc/secdns"
SECRET = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def tsig_keygen(*args: str) -> str:
    return subprocess.run([require("tsig-keygen"), *args], capture_output=True, text=True, check=True, timeout=30).stdout


def keymgr_t(*args: str) -> str:
    return subprocess.run([require("keymgr"), "-t", *args], capture_output=True, text=True, check=True, timeout=30).stdout


def secret_in(text: str) -> bytes:
    """The secret a tool wrote, read without the code under test."""
    for line in text.splitlines():
        line = line.strip().rstrip(";")
        if line.startswith("secret"):
            return base64.b64decode(line.split(None, 1)[1].strip().strip('"').lstrip(": ").strip())
    raise AssertionError(f"no secret in {text!r}")


def key_config(name: str, algorithm: str | None = None) -> str:
    text = f'[[tsig_key]]\nname = "{name}"\nsecret_file = "keys/{name}.key"\n'
    return text if algorithm is None else text + f'algorithm = "{algorithm}"\n'


def parsed(config: str, files: dict[str, str]):
    def read_text(path):
        if path not in files:
            raise FileNotFoundError(2, "No such file or directory", path)
        return files[path]

    return parse(config, source=SOURCE, base_dir=BASE, read_text=read_text)


def error(config: str, files: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as raised:
        parsed(config, files)
    message = str(raised.value)
    assert "\n" not in message
    return message


# -- what tsig-keygen and keymgr -t write


@pytest.mark.parametrize("algorithm", ["hmac-sha1", "hmac-sha256", "hmac-sha512", "hmac-md5"])
def test_tsig_keygen_file_gives_secret_and_algorithm(algorithm):
    """A tsig-keygen file: the secret, and the file's algorithm when the config names none."""
    text = tsig_keygen("-a", algorithm, "xfr.example.")
    config = parsed(key_config("xfr.example"), {"/etc/secdns/keys/xfr.example.key": text})
    (key,) = config.tsig_keys
    assert (key.name.to_text(), key.algorithm, key.secret) == ("xfr.example.", algorithm, secret_in(text))


def test_keymgr_t_file():
    """Knot's keymgr -t output (a comment with the -y form, then YAML)."""
    text = keymgr_t("knot-key", "hmac-sha384")
    config = parsed(key_config("knot-key"), {"/etc/secdns/keys/knot-key.key": text})
    (key,) = config.tsig_keys
    assert (key.algorithm, key.secret) == ("hmac-sha384", secret_in(text))


def test_algorithm_in_config_and_file_agree():
    """The config's algorithm may repeat the file's (in any case)."""
    text = tsig_keygen("-a", "hmac-sha512", "k")
    config = parsed(key_config("k", "HMAC-SHA512"), {"/etc/secdns/keys/k.key": text})
    assert config.tsig_keys[0].algorithm == "hmac-sha512"


def test_bare_base64_and_y_line_keep_the_config_algorithm():
    """A file that gives no algorithm: the config's, or hmac-sha256."""
    files = {"/etc/secdns/keys/a.key": SECRET + "\n", "/etc/secdns/keys/b.key": f"b:{SECRET}\n",
             "/etc/secdns/keys/c.key": f"hmac-sha1:c:{SECRET}\n"}
    config = parsed(key_config("a") + key_config("b", "hmac-sha224") + key_config("c"), files)
    assert [(k.algorithm, k.secret) for k in config.tsig_keys] == [
        ("hmac-sha256", base64.b64decode(SECRET)),
        ("hmac-sha224", base64.b64decode(SECRET)),
        ("hmac-sha1", base64.b64decode(SECRET)),
    ]


def test_several_keys_the_name_picks_one():
    """A file of several keys (BIND's or Knot's): each [[tsig_key]] takes the one of its name."""
    bind = tsig_keygen("one") + tsig_keygen("-a", "hmac-sha512", "two.example.")
    knot = keymgr_t("alpha") + keymgr_t("beta", "hmac-sha1")
    config = parsed(
        '[[tsig_key]]\nname = "two.example."\nsecret_file = "bind.keys"\n'
        '[[tsig_key]]\nname = "ONE"\nsecret_file = "bind.keys"\n'
        '[[tsig_key]]\nname = "beta"\nsecret_file = "knot.keys"\n',
        {"/etc/secdns/bind.keys": bind, "/etc/secdns/knot.keys": knot},
    )
    two, one, beta = config.tsig_keys
    assert (two.algorithm, two.secret) == ("hmac-sha512", secret_in(tsig_keygen_part(bind, 1)))
    assert (one.algorithm, one.secret) == ("hmac-sha256", secret_in(tsig_keygen_part(bind, 0)))
    assert (beta.algorithm, beta.secret) == ("hmac-sha1", secret_in(knot.split("key:")[2]))


def tsig_keygen_part(text: str, i: int) -> str:
    return text.split("};")[i]


def test_copied_tool_output():
    """The tools' output as copied (so this runs where they are not installed)."""
    files = {"/etc/secdns/keys/knot": KEYMGR_T_OUTPUT, "/etc/secdns/keys/bind": TSIG_KEYGEN_OUTPUT}
    config = parsed(
        '[[tsig_key]]\nname = "fixture-knot"\nsecret_file = "keys/knot"\n'
        '[[tsig_key]]\nname = "fixture-key.example"\nalgorithm = "hmac-sha384"\nsecret_file = "keys/bind"\n',
        files,
    )
    knot, bind = config.tsig_keys
    assert (knot.algorithm, knot.secret) == ("hmac-sha512", secret_in(KEYMGR_T_OUTPUT))
    assert (bind.algorithm, bind.secret) == ("hmac-sha384", secret_in(TSIG_KEYGEN_OUTPUT))


# -- errors: the config file, the key, the key file and line; never the secret


def test_name_in_file_differs():
    text = tsig_keygen("peer-key")
    message = error(key_config("k"), {"/etc/secdns/keys/k.key": text})
    assert message == (
        f'{SOURCE}: tsig_key "k".secret_file: /etc/secdns/keys/k.key: line 1: '
        "the file's key is \"peer-key\", not \"k\" (TSIG key names must match the peer's)"
    )
    assert base64.b64encode(secret_in(text)).decode() not in message


def test_algorithm_in_file_differs():
    text = "# made by keymgr\n" + keymgr_t("k", "hmac-sha512")
    message = error(key_config("k", "hmac-sha256"), {"/etc/secdns/keys/k.key": text})
    assert message == (
        f'{SOURCE}: tsig_key "k".secret_file: /etc/secdns/keys/k.key: line 4: key "k" is hmac-sha512, not hmac-sha256'
    )


def test_several_keys_none_matching_lists_the_names():
    text = tsig_keygen("one") + tsig_keygen("two")
    message = error(key_config("three"), {"/etc/secdns/keys/three.key": text})
    assert message == (
        f'{SOURCE}: tsig_key "three".secret_file: /etc/secdns/keys/three.key: '
        'no key "three" (the file has "one", "two")'
    )
    for part in text.split("};")[:2]:
        assert base64.b64encode(secret_in(part)).decode() not in message


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "no key in the file"),
        (f'key "k" {{\n\talgorithm hmac-sha256;\n\tsecret "{SECRET}!";\n}};\n', 'line 1: key "k": the secret is not valid base64'),
        (f'key "k" {{\n\tsecret "{SECRET}";\n}};\n', 'line 1: key "k": no algorithm'),
        (f"\n\nkey:\n  - id: k\n    secret: {SECRET}$\n", 'line 4: key "k": the secret is not valid base64'),
        (f'key "k" {{ algorithm hmac-sha999; secret "{SECRET}"; }};', 'line 1: key "k": unknown algorithm hmac-sha999'),
    ],
)
def test_broken_key_files(text, problem):
    message = error(key_config("k"), {"/etc/secdns/keys/k.key": text})
    assert message.startswith(f'{SOURCE}: tsig_key "k".secret_file: /etc/secdns/keys/k.key: ')
    assert problem in message
    assert SECRET not in message and SECRET[:16] not in message


def test_missing_and_binary_key_files(tmp_path):
    config = tmp_path / "secdns.toml"
    config.write_text(key_config("k"))
    with pytest.raises(ConfigError, match=re.escape(f'tsig_key "k".secret_file: cannot read {tmp_path}/keys/k.key: No such file')):
        load(str(config))
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "k.key").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match=re.escape(f"{tmp_path}/keys/k.key is not ASCII text")):
        load(str(config))


def test_load_reads_the_file_tsig_keygen_wrote(tmp_path):
    """load() reads the very file tsig-keygen wrote, each time (a reload takes a changed secret)."""
    (tmp_path / "keys").mkdir()
    path = tmp_path / "keys" / "xfr.key"
    path.write_text(tsig_keygen("xfr"))
    config = tmp_path / "secdns.toml"
    config.write_text('[[tsig_key]]\nname = "xfr"\nsecret_file = "keys/xfr.key"\n')
    first = load(str(config)).tsig_keys[0].secret
    assert first == secret_in(path.read_text())
    path.write_text(tsig_keygen("xfr"))
    second = load(str(config)).tsig_keys[0].secret
    assert second == secret_in(path.read_text()) and second != first
