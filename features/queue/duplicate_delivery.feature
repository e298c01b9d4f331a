@duplicate-delivery @uses:gateway,redis,orders,rabbitmq,email,analytics
Feature: A duplicated delivery has exactly one effect

  Scenario: The same event delivered twice sends one email
    Given a free client "twice"
    When an OrderConfirmed event for a new order of the client is delivered twice
    Then within 10 seconds exactly 1 confirmation email exists for the order

  Scenario: An event redelivered after its email was sent sends no second email
    Given a free client "late-duplicate"
    When an OrderConfirmed event for a new order of the client is published
    Then within 10 seconds exactly 1 confirmation email exists for the order
    When the last message is published again
    And a sentinel event is published after the others
    Then within 10 seconds exactly 1 confirmation email exists for the order

  Scenario Outline: Analytics counts an <event> delivered twice once
    Given a free client "twice-<event>"
    When an <event> event for a new order of the client is delivered twice
    Then within 10 seconds analytics counted exactly 1 <event> event for the order

    Examples:
      | event          |
      | OrderPlaced    |
      | OrderConfirmed |
      | OrderCancelled |

  Scenario: An event redelivered after analytics counted it is not counted again
    Given a free client "late-analytics"
    When an OrderPlaced event for a new order of the client is published
    Then within 10 seconds analytics counted exactly 1 OrderPlaced event for the order
    When the last message is published again
    And a sentinel event is published after the others
    Then within 10 seconds analytics counted exactly 1 OrderPlaced event for the order

  @disrupts:email
  Scenario: A consumer that crashes after the work but before the ack sends one email
    Given a free client "crash-before-ack"
    When an OrderConfirmed event for a new order of the client is published
    Then within 15 seconds the email container has stopped
    When the email container is started
    And a sentinel event is published after the others
    Then within 30 seconds exactly 1 confirmation email exists for the order
