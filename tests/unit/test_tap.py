"""secdns.tap: the options of twistd secdns (--version, --log-format, --log-level), and the log observer handed to twistd."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from twisted.application import service
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, Logger, capturedLogs
from twisted.python import usage
from twisted.scripts.twistd import ServerOptions

import secdns
from secdns import tap
from secdns.ops.metrics import BuildInfoCollector, exposition, registry_for

ROOT = Path(__file__).resolve().parents[2]


def twistd_options(*argv: str) -> ServerOptions:
    """twistd's own parse of a command line, plugins and all (as twistd runs it)."""
    options = ServerOptions()
    options.parseOptions(list(argv))
    return options


def test_version_is_secdns_own(capsys):
    with pytest.raises(SystemExit) as exit_:
        tap.Options().parseOptions(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"secdns {secdns.__version__}\n"


def test_twistd_secdns_version_is_secdns_own(capsys):
    """twistd's own --version prints Twisted's; twistd secdns --version prints secdns's."""
    with pytest.raises(SystemExit) as exit_:
        twistd_options("secdns", "--version")
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"secdns {secdns.__version__}\n"


def test_version_in_one_place():
    """setup.cfg reads the version from secdns.__version__."""
    assert "version = attr: secdns.__version__" in (ROOT / "setup.cfg").read_text()


def test_build_info_metric():
    text = exposition(registry_for(BuildInfoCollector(python="3.11.7", twisted="26.10.0"))).decode()
    assert 'secdns_build_info{python="3.11.7",twisted="26.10.0",version="%s"} 1.0' % secdns.__version__ in text


def test_build_info_defaults_are_what_runs():
    import platform

    import twisted

    text = exposition(registry_for(BuildInfoCollector())).decode()
    assert f'python="{platform.python_version()}"' in text and f'twisted="{twisted.__version__}"' in text


def test_log_options_default_to_text_at_info():
    options = tap.Options()
    options.parseOptions(["--config", "x.toml"])
    assert (options["log-format"], options["log-level"]) == ("text", "info")


@pytest.mark.parametrize("argv, message", [
    (["--config", "x.toml", "--log-format", "xml"], "--log-format: expected one of text, json"),
    (["--config", "x.toml", "--log-level", "verbose"], "--log-level: expected one of debug, info, warn, error"),
    ([], "--config is required"),
])
def test_bad_options_are_refused(argv, message):
    with pytest.raises(usage.UsageError, match=message):
        tap.Options().parseOptions(argv)


def test_json_to_syslog_is_refused():
    with pytest.raises(usage.UsageError, match="not to syslog"):
        twistd_options("--syslog", "secdns", "--config", "x.toml", "--log-format", "json")


@pytest.fixture
def config(tmp_path) -> Path:
    (tmp_path / "example.org.zone").write_text(
        "$ORIGIN example.org.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n"
    )
    path = tmp_path / "secdns.toml"
    path.write_text(
        '[server]\nlisten = ["127.0.0.1:5300"]  # never bound: the service is not started\nstate_dir = "var"\n\n'
        '[[zone]]\nname = "example.org"\ntype = "primary"\nfile = "example.org.zone"\n'
    )
    return path


@pytest.fixture
def sigusr1():
    """SIGUSR1's handler (set for the log file's rotation) is put back after the test."""
    before = signal.getsignal(signal.SIGUSR1)
    yield
    signal.signal(signal.SIGUSR1, before)


def test_under_twistd_the_application_gets_the_observer(config, tmp_path, sigusr1):
    """twistd asks the application for its ILogObserver before making its own: the service hands it ours."""
    log_path = tmp_path / "secdns.log"
    options = twistd_options("-n", "--logfile", str(log_path), "secdns", "--config", str(config), "--log-format", "json")
    made = tap.makeService(options.subOptions, reactor=Clock())
    assert isinstance(made, tap.Logged) and list(made) == [made.appliance]
    application = service.Application("secdns")
    made.setServiceParent(application)
    observer = application.getComponent(ILogObserver)
    assert observer is made.observer
    with capturedLogs() as events:
        Logger(namespace="secdns.test").info("hello {who}", who=None)
        Logger(namespace="secdns.test").debug("hidden")
    for event in events:
        observer(event)
    (line,) = log_path.read_text().splitlines()
    assert json.loads(line)["message"] == "hello none"


def test_twistd_logger_option_keeps_precedence(config):
    """twistd --logger names its own observer factory: secdns does not replace it."""
    options = twistd_options("-n", "--logger", "twisted.logger.textFileLogObserver", "secdns", "--config", str(config))
    made = tap.makeService(options.subOptions, reactor=Clock())
    assert not isinstance(made, tap.Logged)


def test_without_twistd_the_appliance_itself(config):
    options = tap.Options()
    options.parseOptions(["--config", str(config)])
    made = tap.makeService(options, reactor=Clock())
    assert not isinstance(made, tap.Logged)
