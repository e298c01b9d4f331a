@backlog @disrupts:rabbitmq,worker,careful @uses:gateway
Feature: A worker that falls behind catches up and applies every job once
  While the worker is stopped, its queue keeps a backlog, visible as its depth. The
  backlog starts with a message no worker can parse, as a backlog built during an outage
  may. Once the worker is back it must work through all of it: every job applied once,
  none lost behind the bad message.

  Scenario: The shop's worker catches up on a backlog with a bad message at its head
    Given a free client "reader"
    When the worker container is stopped
    Given the queue "jobs" is empty
    When the message "this is not a job" is published to the queue "jobs"
    And 100 messages "job {message_id}" are published to the queue "jobs"
    Then within 10 seconds the queue "jobs" has at least 101 messages ready
    When the worker container is started
    Then within 30 seconds the JSON field "/count" of GET "/ledger/jobs/{message_id}" is "1" for every message of the burst
    And within 10 seconds the queue "jobs" has 0 messages ready

  Scenario: The careful worker catches up on a backlog with a bad message at its head
    Given a free client "reader"
    When the careful container is stopped
    Given the queue "tasks" is empty
    When the message "this is not a job" is published to the queue "tasks"
    And 100 messages "job {message_id}" are published to the queue "tasks"
    Then within 10 seconds the queue "tasks" has at least 101 messages ready
    When the careful container is started
    Then within 30 seconds the JSON field "/count" of GET "/ledger/tasks/{message_id}" is "1" for every message of the burst
    And within 10 seconds the queue "tasks" has 0 messages ready
    And no message of the burst is in the dead-letter queue "tasks.dlq"
