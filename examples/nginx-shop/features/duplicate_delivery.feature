@duplicate-delivery @disrupts:rabbitmq,worker,careful @uses:gateway
Feature: A job delivered twice is applied once
  The same message (same message id, same body) is delivered twice, as a publisher's
  retry or a redelivery would. Once the worker has acknowledged both copies (nothing
  ready, nothing held), its ledger must count the job once.

  Scenario Outline: The <worker> service applies a job delivered twice once
    Given a free client "reader"
    When the <worker> container is stopped
    Given the queue "<queue>" is empty
    When the message "job {message_id}" is published to the queue "<queue>"
    And the last message is published again
    And the <worker> container is started
    Then within 20 seconds the queue "<queue>" has 0 messages ready
    And within 10 seconds the queue "<queue>" has 0 messages unacknowledged
    And within 5 seconds the JSON field "/count" of GET "/ledger/<queue>/{message_id}" is "1"

    Examples:
      | worker  | queue |
      | worker  | jobs  |
      | careful | tasks |
