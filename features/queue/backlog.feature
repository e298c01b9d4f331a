@backlog
Feature: A consumer that falls behind catches up and loses nothing
  The consumer queues have no length bound (no x-max-length, so no overflow behaviour
  applies): while a consumer is down, a burst waits in its queue, visible as the queue's
  depth, and nothing is dropped or dead-lettered. Once the consumer is back it works
  through the backlog, and every event has exactly one effect.

  @disrupts:analytics @uses:rabbitmq
  Scenario: A burst into a stopped analytics consumer waits in its queue and is counted once each
    Given a free client "backlog-analytics"
    When the analytics container is stopped
    And a burst of 400 OrderPlaced events for a new order of the client is published
    And a sentinel event is published after the others
    Then within 10 seconds the queue "analytics" has at least 401 messages ready
    When the analytics container is started
    Then within 60 seconds the queue "analytics" has 0 messages ready
    And within 30 seconds analytics counted exactly 400 OrderPlaced events for the order
    And no message of the burst is in the dead-letter queue "analytics.dlq"

  @disrupts:email @uses:rabbitmq
  Scenario: A burst into a stopped email consumer waits in its queue and sends one email each
    Given a free client "backlog-email"
    When the email container is stopped
    And a burst of 300 OrderConfirmed events for a new order of the client is published
    And a sentinel event is published after the others
    Then within 10 seconds the queue "email" has at least 301 messages ready
    When the email container is started
    Then within 60 seconds the queue "email" has 0 messages ready
    And within 30 seconds exactly 300 confirmation emails exist for the order
    And no message of the burst is in the dead-letter queue "email.dlq"
