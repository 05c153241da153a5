# Once: the metadata database, the key, and the key that may transfer
# example.com (PowerDNS signs its NOTIFYs with it too).
pdnsutil --config-dir=/etc/powerdns create-bind-db /var/lib/powerdns/bind-dnssec.db
pdnsutil --config-dir=/etc/powerdns import-tsig-key transfer-key hmac-sha256 6RX+R2kL3xt3D+JgaFTwY0pLJVJOmSzzB4aHZQkZnVo=
pdnsutil --config-dir=/etc/powerdns set-meta example.com TSIG-ALLOW-AXFR transfer-key
