#!/bin/sh
# The careful worker's container: its ledger served on 8081, then the consumer.
set -eu
mkdir -p /srv/ledger/tasks
nginx -c /opt/shop/ledger.conf
exec python3 /opt/shop/careful.py
