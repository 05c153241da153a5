"""
secdns.keyfile: TSIG secrets from the files BIND's C{tsig-keygen} and
Knot's C{keymgr -t} write (made by the real programs here), from base64
lines and C{-y} lines; one key chosen by C{--name}; errors that say what is
wrong and never the secret.
"""

from __future__ import annotations

import io
import re
import subprocess

import pytest

from secdns.keyfile import KeyFileError, choose, parse, read
from tests.support import require

SECRET = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


def tsig_keygen(*args: str) -> str:
    return subprocess.run([require("tsig-keygen"), *args], capture_output=True, text=True, check=True, timeout=30).stdout


def keymgr_t(*args: str) -> str:
    return subprocess.run([require("keymgr"), "-t", *args], capture_output=True, text=True, check=True, timeout=30).stdout


def secret_in(text: str) -> str:
    """The secret a tool wrote, read without the code under test."""
    for line in text.splitlines():
        line = line.strip().rstrip(";")
        if line.startswith("secret"):
            return line.split(None, 1)[1].strip().strip('"').lstrip(": ").strip()
    raise AssertionError(f"no secret in {text!r}")


# -- real tools' output


def test_tsig_keygen_default():
    text = tsig_keygen()
    (key,) = parse(text)
    assert (key.name, key.algorithm, key.secret) == ("tsig-key", "hmac-sha256", secret_in(text))


@pytest.mark.parametrize("algorithm", ["hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-md5"])
def test_tsig_keygen_algorithms(algorithm):
    text = tsig_keygen("-a", algorithm, "transfer-key.example.")
    key = choose(parse(text), None, None)
    assert (key.name, key.algorithm, key.secret) == ("transfer-key.example", algorithm, secret_in(text))


def test_keymgr_t():
    text = keymgr_t("knot-key", "hmac-sha384")
    assert text.lstrip().startswith("#")  # the -y form as a comment, then the YAML
    (key,) = parse(text)
    assert (key.name, key.algorithm, key.secret) == ("knot-key", "hmac-sha384", secret_in(text))


def test_keymgr_t_default_algorithm():
    text = keymgr_t("k")
    (key,) = parse(text)
    assert (key.name, key.algorithm) == ("k", "hmac-sha256")


def test_several_tsig_keygen_keys_need_a_name(tmp_path):
    text = tsig_keygen("one") + tsig_keygen("-a", "hmac-sha512", "two")
    path = tmp_path / "keys.conf"
    path.write_text(text)
    with pytest.raises(KeyFileError, match=r'2 keys \("one", "two"\): say which with --name'):
        read(str(path))
    two = read(str(path), name="two")
    assert (two.name, two.algorithm) == ("two", "hmac-sha512")
    with pytest.raises(KeyFileError, match=r'no key "three" \(the file has "one", "two"\)'):
        read(str(path), name="three")


def test_several_keymgr_keys_need_a_name(tmp_path):
    text = keymgr_t("alpha") + keymgr_t("beta", "hmac-sha1")
    keys = parse(text)
    assert [(k.name, k.algorithm) for k in keys] == [("alpha", "hmac-sha256"), ("beta", "hmac-sha1")]
    assert choose(keys, "beta", None).secret == keys[1].secret
    with pytest.raises(KeyFileError, match="say which with --name"):
        choose(keys, None, None)


# -- hand-written forms


def test_bare_base64_line_takes_name_and_default_algorithm():
    key = choose(parse(SECRET + "\n"), "transfer-key", None)
    assert (key.name, key.algorithm, key.secret) == ("transfer-key", "hmac-sha256", SECRET)
    assert choose(parse(SECRET), "k", "HMAC-SHA512").algorithm == "hmac-sha512"


def test_bare_base64_needs_a_name():
    with pytest.raises(KeyFileError, match="names no key: give --name"):
        choose(parse(SECRET), None, None)


def test_y_line():
    (key,) = parse(f"hmac-sha384:my-key:{SECRET}\n")
    assert (key.name, key.algorithm, key.secret) == ("my-key", "hmac-sha384", SECRET)
    (key,) = parse(f"my-key:{SECRET}")
    assert (key.name, key.algorithm) == ("my-key", None)


def test_bind_comments_unquoted_name_and_old_md5_name():
    text = f"""
    // made by hand
    # another comment
    /* a block
       comment */
    key legacy. {{
        algorithm HMAC-MD5.SIG-ALG.REG.INT;   // BIND's old name
        secret "{SECRET[:20]}
                {SECRET[20:]}";
    }};
    """
    (key,) = parse(text)
    assert (key.name, key.algorithm, key.secret, key.line) == ("legacy", "hmac-md5", SECRET, 6)


def test_name_in_file_must_match_the_name_given():
    text = tsig_keygen("peer-key")
    with pytest.raises(KeyFileError, match=r'the file\'s key is "peer-key", not "other"'):
        choose(parse(text), "other", None)
    assert choose(parse(text), "PEER-KEY.", None).name == "peer-key"


def test_algorithm_in_file_must_match_the_algorithm_given():
    text = tsig_keygen("-a", "hmac-sha512", "k")
    with pytest.raises(KeyFileError, match='key "k" is hmac-sha512, not hmac-sha256'):
        choose(parse(text), None, "hmac-sha256")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no key in the file"),
        ("\n# only a comment\n", "no key in the file"),
        ("not base64 at all!\n", "line 1: the secret is not valid base64"),
        (f"{SECRET}\n{SECRET}\n", "more than one line"),
        ('key "k" { algorithm hmac-sha256; };', 'key "k": no secret'),
        (f'key "k" {{ secret "{SECRET}"; }};', 'key "k": no algorithm'),
        ('key "k" { algorithm hmac-sha256; secret "%%%"; };', 'key "k": the secret is not valid base64'),
        (f'key "k" {{ algorithm hmac-sha256; secret "{SECRET}"; owner x; }};', "unknown clause 'owner'"),
        (f'key "k" {{ algorithm hmac-sha256; secret "{SECRET}"; }}; options {{ }};', "line 1: text outside the key statements"),
        (f'key "k" {{ algorithm hmac-sha256; secret "{SECRET}";', "no complete 'key"),
        ("key:\n  - algorithm: hmac-sha256\n    secret: " + SECRET, "a key without 'id'"),
        ("key:\n  - id: k\n    algorithm: hmac-sha256\n", 'key "k": no secret'),
        ("key:\n  - id: k\n    secret: abc$\n", 'key "k": the secret is not valid base64'),
        ("server:\n  listen: 1.2.3.4\nkey:\n  - id: k\n", "only 'key:' sections are understood"),
        ("key:\n  - id: k\n    storage: x\n", "unknown key field 'storage'"),
    ],
)
def test_errors(text, message):
    with pytest.raises(KeyFileError, match=re.escape(message)):
        parse(text, "f.key")


def test_errors_never_show_the_secret():
    texts = [
        'key "k" { algorithm hmac-sha256; secret "%s!"; };' % SECRET,
        'key "k" { algorithm hmac-sha256; secret "%s"; bogus "%s"; };' % (SECRET, SECRET),
        "key:\n  - id: k\n    secret: %s!\n" % SECRET,
        SECRET + "!",
    ]
    for text in texts:
        with pytest.raises(KeyFileError) as caught:
            parse(text)
        assert SECRET not in str(caught.value)
        assert SECRET[:12] not in str(caught.value)
    keys = parse(tsig_keygen("a") + tsig_keygen("b"))
    for name, algorithm in ((None, None), ("c", None), ("a", "hmac-sha1")):
        with pytest.raises(KeyFileError) as caught:
            choose(keys, name, algorithm)
        assert all(k.secret not in str(caught.value) for k in keys)
    assert all(k.secret not in repr(k) for k in keys)


def test_read_file_errors(tmp_path):
    with pytest.raises(KeyFileError, match="No such file"):
        read(str(tmp_path / "missing.key"), "k")
    binary = tmp_path / "binary.key"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(KeyFileError, match="not a text file"):
        read(str(binary), "k")


def test_read_standard_input():
    key = read("-", stdin=io.StringIO(keymgr_t("from-stdin")))
    assert key.name == "from-stdin"


def nsd_checkconf(tmp_path, text: str) -> None:
    """Check that C{text} is what NSD itself reads, with the real nsd-checkconf."""
    keys = tmp_path / "nsd-keys.conf"
    keys.write_text(text)
    conf = tmp_path / "nsd.conf"
    conf.write_text(f'server:\n    zonesdir: "{tmp_path}"\ninclude: "{keys}"\n')
    subprocess.run([require("nsd-checkconf"), str(conf)], check=True, capture_output=True, timeout=30)


def test_nsd_key_clauses(tmp_path):
    """NSD's key: clauses (one key each, 'name' for Knot's 'id'), as nsd-checkconf accepts them."""
    text = (
        "# NSD\nkey:\n\tname: \"nsd-key\"\n\talgorithm: hmac-sha256\n\tsecret: \"%s\"\n\n"
        "key:\n    name: other.example.\n    algorithm: hmac-sha512\n    secret: \"%s\"\n" % (SECRET, SECRET)
    )
    nsd_checkconf(tmp_path, text)
    keys = parse(text)
    assert [(k.name, k.algorithm, k.secret, k.line) for k in keys] == [
        ("nsd-key", "hmac-sha256", SECRET, 3), ("other.example", "hmac-sha512", SECRET, 8),
    ]
    assert choose(keys, "other.example.", None).algorithm == "hmac-sha512"


def test_nsd_key_errors():
    with pytest.raises(KeyFileError, match="line 3: the key's name is given twice"):
        parse(f"key:\n  name: a\n  name: b\n  secret: {SECRET}\n")
    with pytest.raises(KeyFileError, match="a key without 'id' \\(Knot\\) or 'name' \\(NSD\\)"):
        parse(f"key:\n  algorithm: hmac-sha256\n  secret: {SECRET}\n")


# -- the same, where the tools are not installed: their output, copied
# (BIND 9.18.49's tsig-keygen, Knot 3.2.6's keymgr -t), tabs and all

TSIG_KEYGEN_OUTPUT = (
    'key "fixture-key.example." {\n'
    "\talgorithm hmac-sha384;\n"
    '\tsecret "Db63iv/yHJUnoaXh3+SMMsDtuoQFXDAzHL9ZVjgNCoP0J5u9DLdhN9QpADZg+ouF";\n'
    "};\n"
)
KEYMGR_T_OUTPUT = (
    "# hmac-sha512:fixture-knot:dmA/KMkfdZ9sJ4ziUntCzjy33WjMS4CxdLIGYz2+2MUtgS1NZ+RlQxM1ZUn1DE/Vm8wJSieJ3XmxORdN8L6o5Q==\n"
    "key:\n"
    "  - id: fixture-knot\n"
    "    algorithm: hmac-sha512\n"
    "    secret: dmA/KMkfdZ9sJ4ziUntCzjy33WjMS4CxdLIGYz2+2MUtgS1NZ+RlQxM1ZUn1DE/Vm8wJSieJ3XmxORdN8L6o5Q==\n"
)


def test_copied_tool_output():
    (bind,) = parse(TSIG_KEYGEN_OUTPUT)
    assert (bind.name, bind.algorithm, bind.line) == ("fixture-key.example", "hmac-sha384", 1)
    assert bind.secret == secret_in(TSIG_KEYGEN_OUTPUT)
    (knot,) = parse(KEYMGR_T_OUTPUT)
    assert (knot.name, knot.algorithm, knot.line) == ("fixture-knot", "hmac-sha512", 3)
    assert knot.secret == secret_in(KEYMGR_T_OUTPUT)
    assert choose(parse(TSIG_KEYGEN_OUTPUT), "FIXTURE-key.example.", "hmac-sha384").name == "fixture-key.example"
