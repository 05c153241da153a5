"""
The documentation builds and is whole: Sphinx builds docs/ with every
warning an error (a broken :doc: or :ref:, an undefined label, a page in no
toctree), README.rst is valid reStructuredText whose docs/ paths exist, and
every config key and every metric secdns has is documented.
"""

from __future__ import annotations

import io
import pickle
import re
import subprocess
import sys
from pathlib import Path

import attrs
import docutils.core
import pytest

from secdns import config
from secdns.alarms.model import SmtpConfig
from tests.support import ROOT

DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """docs/ built once as HTML with -W -n; the doctree directory (its environment) is returned."""
    out = tmp_path_factory.mktemp("docs")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-E", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stderr}{result.stdout}"
    return out


def test_sphinx_builds_without_a_warning(built):
    """Broken references, undefined labels, bad rst: each a warning, so each a failure (the fixture asserts)."""
    assert (built / "html" / "index.html").exists()


def test_every_page_is_in_a_toctree(built):
    """Each .rst under docs/ is a page, and each page but the index is in some toctree."""
    with open(built / "doctrees" / "environment.pickle", "rb") as f:
        env = pickle.load(f)
    included = {doc for docs in env.toctree_includes.values() for doc in docs}
    pages = {str(path.relative_to(DOCS).with_suffix("")) for path in DOCS.rglob("*.rst")}
    assert pages == set(env.found_docs)
    assert sorted(pages - included - {"index"}) == []


def test_readme_is_valid_rst():
    """README.rst (what PyPI and GitHub render) parses with no warning."""
    warnings = io.StringIO()
    docutils.core.publish_doctree(
        (ROOT / "README.rst").read_text(),
        source_path="README.rst",
        settings_overrides={"warning_stream": warnings, "report_level": 2, "halt_level": 5},
    )
    assert warnings.getvalue() == ""


def test_readme_names_only_pages_that_exist():
    """Every docs/....rst path README.rst names is a file; and it names some."""
    named = set(re.findall(r"docs/[\w/.-]+?\.rst", (ROOT / "README.rst").read_text()))
    assert len(named) >= 5
    assert sorted(path for path in named if not (ROOT / path).is_file()) == []


def _keys(cls) -> set[str]:
    return {field.name for field in attrs.fields(cls)}


TABLES = {
    "server": _keys(config.ServerConfig),
    "timers": _keys(config.TimersConfig),
    "transfer": _keys(config.TransferConfig),
    "http": _keys(config.HttpConfig),
    "tsig_key": _keys(config.TsigKeyConfig) | {"secret_file"},
    "zone": _keys(config.ZoneConfig),
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_config_key_is_in_the_config_page(table):
    """docs/config.rst names each key of the tables it describes in full."""
    text = (DOCS / "config.rst").read_text()
    missing = sorted(key for key in TABLES[table] if f"``{key}``" not in text)
    assert missing == [], f"[{table}] keys not in docs/config.rst: {missing}"


def test_every_smtp_key_is_in_the_alarms_page():
    """[smtp] is described with the alarms (its C{sender} is written C{from})."""
    text = (DOCS / "alarms.rst").read_text()
    keys = {"from" if key == "sender" else key for key in _keys(SmtpConfig)}
    assert sorted(key for key in keys if not re.search(rf"\b{key} = ", text)) == []


def test_every_manhole_key_is_documented():
    """[manhole], when secdns has it, is described in docs/config.rst or on its own page."""
    manhole = getattr(config, "ManholeConfig", None)
    if manhole is None:
        pytest.skip("no [manhole] in this secdns")
    text = "".join((DOCS / name).read_text() for name in ("config.rst", "manhole.rst") if (DOCS / name).exists())
    assert sorted(key for key in _keys(manhole) if key not in text) == []


def metric_names() -> set[str]:
    """Every metric secdns exposes, as scraped: counters with their C{_total}."""
    names = set()
    for path in (ROOT / "secdns").rglob("*.py"):
        for kind, name in re.findall(r"(Counter|Gauge)MetricFamily\(\s*\"(secdns_\w+)\"", path.read_text()):
            names.add(name + "_total" if kind == "Counter" and not name.endswith("_total") else name)
    return names


def test_every_metric_is_on_the_metrics_page():
    """docs/metrics.rst lists each metric the collectors make (and the scan finds them)."""
    names = metric_names()
    assert {"secdns_zone_serial", "secdns_zone_transfer_success_total", "secdns_udp_responses_lost_total"} <= names
    text = (DOCS / "metrics.rst").read_text()
    assert sorted(name for name in names if not re.search(rf"``{name}[{{`]", text)) == []


def test_every_source_tree_path_the_docs_name_exists():
    """A path such as ``bench/xfr_bench.py`` or ``etc/systemd/secdns.service`` in README.rst or a page is there."""
    pattern = re.compile(r"``((?:secdns|tests|bench|etc|docs|twisted)/[\w/.-]*)``")
    missing = [
        f"{page.relative_to(ROOT)}: {path}"
        for page in [ROOT / "README.rst", *sorted(DOCS.rglob("*.rst"))]
        for path in pattern.findall(page.read_text())
        if not (ROOT / path).exists()
    ]
    assert missing == []
