"""secdns: an authoritative DNS appliance for primary and secondary zones."""

__version__ = "0.1.0"
