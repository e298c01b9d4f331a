@poison-message @disrupts:rabbitmq,worker,careful @uses:gateway
Feature: A poison message is dead-lettered while the worker keeps going
  Two workers take the same jobs (job <id>): the shop's worker as it runs today, on the
  queue "jobs", and a careful one, on the queue "tasks". Each keeps a ledger of what it
  applied, behind the gateway: GET /ledger/<queue>/<id> answers {"count": N}. Each
  scenario starts its worker from an empty queue: the worker is stopped (a message it
  holds goes back to the queue), the queue emptied, and the worker started again.

  Scenario Outline: The <worker> service dead-letters what it cannot parse and applies the next job
    Given a free client "reader"
    When the <worker> container is stopped
    Given the queue "<queue>" is empty
    When the <worker> container is started
    Then within 20 seconds the queue "<queue>" has 1 consumer
    When the message "this is not a job" is published to the queue "<queue>"
    Then within 10 seconds the message from the queue "<queue>" is dead-lettered
    When the message "job {message_id}" is published to the queue "<queue>"
    Then within 10 seconds the JSON field "/count" of GET "/ledger/<queue>/{message_id}" is "1"

    Examples:
      | worker  | queue |
      | worker  | jobs  |
      | careful | tasks |
