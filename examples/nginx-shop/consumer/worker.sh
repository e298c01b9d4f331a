#!/bin/sh
# The shop's worker: declares its classic queue `jobs` (durable, no dead-letter exchange)
# and runs handle.sh once per message with amqp-consume from Debian's amqp-tools.
set -eu
amqp-declare-queue --url="$AMQP_URL" --queue=jobs --durable >/dev/null
echo "worker consuming jobs" >&2
exec amqp-consume --url="$AMQP_URL" --queue=jobs --prefetch-count=1 sh /opt/shop/handle.sh
