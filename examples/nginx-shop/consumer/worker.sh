#!/bin/sh
# The shop's worker as it runs today: declares its classic queue `jobs` (durable, no
# dead-letter exchange) and runs handle.sh once per message with amqp-consume from
# Debian's amqp-tools, which acknowledges a message when handle.sh exits 0 and does
# nothing with one it fails on. Its ledger (what it applied, by job) is served on 8081.
set -eu
mkdir -p /srv/ledger/jobs
nginx -c /opt/shop/ledger.conf
amqp-declare-queue --url="$AMQP_URL" --queue=jobs --durable >/dev/null
echo "worker consuming jobs" >&2
amqp-consume --url="$AMQP_URL" --queue=jobs --prefetch-count=1 sh /opt/shop/handle.sh &
# A stop (SIGTERM) ends the consumer at once rather than after Docker's grace period.
trap 'kill $! 2>/dev/null; exit 0' TERM INT
wait $!
