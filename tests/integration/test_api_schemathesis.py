"""
The OpenAPI document against the live appliance: schemathesis generates
requests for every operation from the document (a bounded number each),
sends them to a real C{twistd -n secdns}, and checks every answer: no 5xx,
a status, content type, headers and body the document allows.  The DNS
server answers throughout.

Generated zones may name masters and downstreams anywhere: before each
request their addresses are moved onto 127.0.0.1 (and the appliance's
transfer source is 127.0.0.1 too), so nothing is ever sent off this
machine.  Likewise generated subscriptions: a URL endpoint (Slack,
webhook, PagerDuty, whose default is PagerDuty's own) becomes a closed
port on 127.0.0.1, and email goes to an [smtp] relay on loopback that
nothing listens on.
"""

from __future__ import annotations

import collections
import time

import dns.rcode
import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from secdns.ops.api.openapi import document
from tests.api_client import ApiClient
from tests.support import Secdns, free_port, query

TOKEN = "schemathesis-token-0123456789"
#: Examples per operation (42 operations): the whole run about a minute.
EXAMPLES = 50
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def appliance(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schemathesis")
    port, http = free_port(), free_port()
    (tmp / "zone.db").write_text("$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n")
    (tmp / "tokens").write_text(f"fuzzer {TOKEN}\n")
    config = tmp / "secdns.toml"
    config.write_text(f"""
[server]
listen = ["127.0.0.1:{port}"]
state_dir = "var"
transfer_source = "127.0.0.1"

[http]
listen = "127.0.0.1:{http}"
token_file = "tokens"

[transfer]
soa_timeout = 1
connect_timeout = 1

[smtp]
host = "127.0.0.1"
port = {CLOSED_PORT}
starttls = "never"
timeout = 1

[[tsig_key]]
name = "config-key"
secret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

[[zone]]
name = "example.org"
type = "primary"
file = "zone.db"
""")
    secdns = Secdns(config, port).wait_ready()
    api = ApiClient(f"http://127.0.0.1:{http}/20180115", TOKEN)
    assert api("POST", "/tsigKeys", {"name": "fuzz-key", "secret": "ZnV6eiBrZXkgc2VjcmV0"}).status == 201
    downstream = {"address": "127.0.0.1", "port": free_port(), "tsigKeyId": "fuzz-key"}
    assert api("POST", "/zones", {"name": "fuzz.test", "externalDownstreams": [downstream]}).status == 201
    assert api("POST", "/topics", {"name": "fuzz-topic"}).status == 201
    subscription = api("POST", "/topics/fuzz-topic/subscriptions", {"protocol": "LOG"})
    assert subscription.status == 201, subscription.raw
    KNOWN["subscriptionId"] = subscription.json["id"]
    made = api("POST", "/alarms", {"displayName": "fuzz-alarm", "query": "ZoneSerial[5m].max() < 0", "destinations": ["fuzz-topic"]})
    assert made.status == 201, made.raw
    started = time.monotonic()
    yield secdns, f"http://127.0.0.1:{http}"
    print(f"schemathesis run: {time.monotonic() - started:.1f} s, {len(STATUSES)} requests, statuses {sorted(collections.Counter(STATUSES).items())}")
    assert secdns.running(), secdns.log()[-3000:]
    assert query("ns1.example.org", "A", port).rcode() == dns.rcode.NOERROR
    assert "Traceback" not in secdns.log(), secdns.log()[-5000:]
    secdns.stop()


@pytest.fixture(scope="module")
def live_schema(appliance):
    """The document as the appliance serves it."""
    _, origin = appliance
    return schemathesis.openapi.from_url(f"{origin}/20180115/openapi.json")


#: Where generated subscriptions' URLs point: a port on 127.0.0.1 that nothing listens on.
CLOSED_PORT = free_port()
LOOPBACK_URL = f"http://127.0.0.1:{CLOSED_PORT}/fuzz"


def on_loopback(value):
    """Every C{address} of a generated body moved onto 127.0.0.1 (any port); every URL endpoint onto a closed loopback port."""
    if isinstance(value, dict):
        out = {k: ("127.0.0.1" if k == "address" and isinstance(v, str) else on_loopback(v)) for k, v in value.items()}
        endpoint = out.get("endpoint")
        if isinstance(endpoint, str) and ("://" in endpoint or out.get("protocol") in ("SLACK", "CUSTOM_HTTPS", "PAGERDUTY")):
            out["endpoint"] = LOOPBACK_URL
        elif out.get("protocol") == "PAGERDUTY" and endpoint is None:
            out["endpoint"] = LOOPBACK_URL
        return out
    if isinstance(value, list):
        return [on_loopback(v) for v in value]
    return value


#: Every operation of the document, one test each (pytest's plugin for schemathesis needs pytest < 9: run by hand).
STATUSES = []
#: Path parameters naming what the fixture made: a dynamic zone, a domain and type in it, a key.
KNOWN = {"zoneNameOrId": "fuzz.test", "domain": "www.fuzz.test", "rtype": "TXT", "tsigKeyId": "fuzz-key",
         "alarmId": "fuzz-alarm", "topicId": "fuzz-topic"}
#: Operations not run on what the fixture made (deleting it would leave the others nothing to reach).
NOT_KNOWN = {("/zones/{zoneNameOrId}", "DELETE"), ("/alarms/{alarmId}", "DELETE"), ("/topics/{topicId}", "DELETE"),
             ("/subscriptions/{subscriptionId}", "DELETE")}
OPERATIONS = [(path, method.upper()) for path, methods in document()["paths"].items() for method in methods]


@pytest.mark.parametrize("path, method", OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_answer_matches_the_document(live_schema, appliance, path, method):
    """Generated requests, valid and invalid by the document: no 5xx, and every answer as the document describes it."""
    _, origin = appliance
    operation = live_schema[path][method]
    strategies = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    known = {name: value for name, value in KNOWN.items() if "{" + name + "}" in path}
    if known and (path, method) not in NOT_KNOWN:
        # Paths naming what exists, so that generated bodies reach the handlers past the 404.
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    strategy = st.one_of(*strategies)

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
    def run(case):
        if isinstance(case.body, (dict, list)):
            case.body = on_loopback(case.body)
        response = case.call_and_validate(base_url=f"{origin}/20180115", headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS, timeout=30)
        STATUSES.append(response.status_code)

    run()
