"""The shop's careful worker, for the queue `tasks`: the same jobs as the naive worker
(handle.sh), handled the way a consumer should.

- It acknowledges a message only after its job is applied: a worker that dies halfway
  leaves the message to be delivered again.
- It deduplicates by message id: the ledger entry of a job records the ids of the
  messages it applied, written in one rename with the new count, so a message delivered
  again (a publisher's retry, a redelivery after a crash) is acknowledged and not
  applied twice.
- It rejects what it cannot parse without putting it back: `tasks` dead-letters it to
  `tasks.dlq`, and the next message is handled.

Python with pika (Debian's python3-pika). Its ledger is served on 8081 (ledger.conf).
"""

import json
import os
import re
import signal
import sys

import pika

QUEUE = "tasks"
DEAD_LETTER = "tasks.dlq"
LEDGER = "/srv/ledger/tasks"
JOB = re.compile(r"job ([A-Za-z0-9._-]+)")


def entry(key):
    try:
        with open(os.path.join(LEDGER, key + ".json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"count": 0, "messages": []}


def apply(key, message_id):
    """Applies job `key` for message `message_id` once: False if it already was."""
    current = entry(key)
    if message_id in current["messages"]:
        return False
    current = {"count": current["count"] + 1, "messages": current["messages"] + [message_id]}
    path = os.path.join(LEDGER, key + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(current, f)
    os.replace(path + ".tmp", path)
    return True


def on_message(channel, method, properties, body):
    text = body.decode("utf-8", "replace")
    job = JOB.fullmatch(text)
    if job is None or not properties.message_id:
        # Unparseable, or no id to deduplicate by: to the dead-letter queue, once.
        print(f"careful: rejecting {text!r}", file=sys.stderr, flush=True)
        channel.basic_reject(method.delivery_tag, requeue=False)
        return
    if not apply(job.group(1), properties.message_id):
        print(f"careful: {properties.message_id} already applied", file=sys.stderr, flush=True)
    channel.basic_ack(method.delivery_tag)


def main():
    os.makedirs(LEDGER, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    connection = pika.BlockingConnection(pika.URLParameters(os.environ["AMQP_URL"]))
    channel = connection.channel()
    channel.queue_declare(DEAD_LETTER, durable=True)
    channel.queue_declare(
        QUEUE,
        durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": DEAD_LETTER},
    )
    channel.basic_qos(prefetch_count=1)
    channel.basic_consume(QUEUE, on_message)
    print("careful worker consuming tasks", file=sys.stderr, flush=True)
    channel.start_consuming()


if __name__ == "__main__":
    main()
