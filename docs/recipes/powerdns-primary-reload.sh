# After each edit of the zone file (with a new serial): read it, and
# NOTIFY secdns now.
pdns_control --config-dir=/etc/powerdns bind-reload-now example.com
pdns_control --config-dir=/etc/powerdns notify example.com
