#!/bin/sh
# One message on stdin. A body that is not a job ("job ...") fails, as a real handler
# fails on a poison message.
body=$(cat)
case "$body" in
  job\ *) echo "handled: $body" >&2 ;;
  *) echo "cannot handle: $body" >&2; exit 1 ;;
esac
