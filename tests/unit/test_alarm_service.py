"""The alarm engine in the service tree: service.alarms, and what a reload (SIGHUP) does to alarms and topics."""

from __future__ import annotations

from secdns.testing import FakeReactor

from secdns import config as config_module
from secdns.service import SecdnsService

BASE = '[server]\nlisten = ["127.0.0.1:5399"]\nstate_dir = "var"\n'
TOPIC = '[[topic]]\nname = "ops"\n[[topic.subscription]]\nprotocol = "log"\n'
ALARM = '[[alarm]]\nname = "masters"\nquery = "MasterUp[5m].max() < 1"\ntopics = ["ops"]\n'


def started(tmp_path, text: str) -> SecdnsService:
    path = tmp_path / "secdns.toml"
    path.write_text(text)
    reactor = FakeReactor()
    reactor.advance(1_700_000_040)
    service = SecdnsService(config_module.load(str(path)), reactor, handle_signals=False)
    service.startService()
    reactor.advance(0)
    return service


def names(service) -> list[str]:
    return [status.alarm.name for status in service.alarms.alarms()]


def test_service_alarms_has_the_built_ins_and_the_config_alarms(tmp_path):
    """service.alarms is the engine: the built-in alarms and topic, then the config file's."""
    service = started(tmp_path, BASE + TOPIC + ALARM)
    assert names(service) == ["zone-refresh-failing", "zone-expiring", "masters"]
    assert [topic.name for topic in service.alarms.topics()] == ["log", "ops"]
    assert service.alarms.alarm("masters").query == "MasterUp[5m].max() < 1"
    service.stopService()
    assert not service.alarms.running


def test_reload_applies_new_alarms_and_keeps_the_old_on_error(tmp_path):
    """A reload with an alarm naming an unknown topic is refused (the old alarms stay); a valid one is applied at once."""
    service = started(tmp_path, BASE + TOPIC + ALARM)
    path = tmp_path / "secdns.toml"
    path.write_text(BASE + ALARM)  # the topic gone: an error
    assert not service.reload()
    assert names(service) == ["zone-refresh-failing", "zone-expiring", "masters"]
    path.write_text(BASE + TOPIC + ALARM.replace("masters", "masters-down") + '[[alarm]]\nname = "zone-expiring"\nenabled = false\n')
    assert service.reload()
    assert names(service) == ["zone-refresh-failing", "zone-expiring", "masters-down"]
    assert service.alarms.enabled() == ["zone-refresh-failing", "masters-down"]
    service.stopService()


def test_a_run_time_alarm_clashing_with_the_file_keeps_the_old_config(tmp_path):
    """An alarm made through the API and then declared in the file: the reload is refused, naming both."""
    from secdns.alarms.model import Alarm

    service = started(tmp_path, BASE + TOPIC)
    service.alarms.create_alarm(Alarm("masters", "MasterUp", "<", 1.0, statistic="max", interval=300.0, topics=("ops",)))
    (tmp_path / "secdns.toml").write_text(BASE + TOPIC + ALARM)
    assert not service.reload()
    assert service.alarms.alarm("masters").declared_in is None
    service.stopService()
