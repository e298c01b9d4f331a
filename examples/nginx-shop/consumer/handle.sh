#!/bin/sh
# One message on stdin. A job ("job KEY") is applied: its count in the ledger goes up by
# one. Anything else fails, as a real handler fails on a poison message. It keeps no
# record of which message it applied, so a message delivered twice counts twice.
body=$(cat)
case "$body" in
  job\ *) key=${body#job } ;;
  *) echo "cannot handle: $body" >&2; exit 1 ;;
esac
case "$key" in
  ""|*[!A-Za-z0-9._-]*) echo "cannot handle: $body" >&2; exit 1 ;;
esac
entry=/srv/ledger/jobs/$key.json
count=0
[ -f "$entry" ] && count=$(sed 's/[^0-9]//g' "$entry")
printf '{"count": %d}\n' $((count + 1)) >"$entry.tmp"
mv "$entry.tmp" "$entry"
echo "handled: $body" >&2
