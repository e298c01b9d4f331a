@poison-message @uses:rabbitmq,worker
Feature: A poison message is dead-lettered while the consumer keeps going

  Scenario: A message the worker cannot handle goes to a dead-letter queue
    When the message "this is not a job" is published to the queue "jobs"
    Then within 10 seconds the message from the queue "jobs" is dead-lettered

  Scenario: The worker keeps consuming after a poison message
    When the message "this is not a job either" is published to the queue "jobs"
    And the message "job 42" is published to the queue "jobs"
    Then within 10 seconds the queue "jobs" has 0 messages ready
