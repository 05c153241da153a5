# Once: the metadata database, the key, and the key to sign SOA queries
# and transfers of example.org with.
pdnsutil --config-dir=/etc/powerdns create-bind-db /var/lib/powerdns/bind-dnssec.db
pdnsutil --config-dir=/etc/powerdns import-tsig-key transfer-key hmac-sha256 6RX+R2kL3xt3D+JgaFTwY0pLJVJOmSzzB4aHZQkZnVo=
pdnsutil --config-dir=/etc/powerdns set-meta example.org AXFR-MASTER-TSIG transfer-key
