"""The C{twistd secdns} plugin: one lazy line, so C{twistd --help} imports nothing of secdns."""

from twisted.application.service import ServiceMaker

secdns = ServiceMaker(
    "secdns",
    "secdns.tap",
    "Authoritative DNS appliance: primary and secondary zones, transfers, TSIG.",
    "secdns",
)
