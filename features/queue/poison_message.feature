@poison-message @disrupts:email @uses:gateway,redis,orders,payments,inventory,rabbitmq,analytics
Feature: A poison message is dead-lettered while the consumer keeps going

  Scenario: An unparseable message goes to the dead-letter queue at once
    Given a free client "poisoner"
    When the message "this is not an order event" is published to the order events exchange with routing key "order.confirmed"
    Then within 10 seconds the message is in the dead-letter queue "email.dlq" with reason "rejected"
    When the client places an order for 1 of "SKU-1"
    Then within 10 seconds the order is CONFIRMED
    And within 10 seconds exactly 1 confirmation email exists for the order

  Scenario: A message without a message id cannot be deduplicated: each copy is dead-lettered at once
    Given a free client "anonymous"
    When the message '{"type":"OrderConfirmed","event_id":"0190a5f0-0000-7000-8000-000000000001","order_id":"0190a5f0-0000-7000-8000-000000000002","customer":"anonymous","sku":"SKU-1","quantity":1,"amount_cents":1250}' is published to the exchange "orders.events" with routing key "order.confirmed"
      | message-id          | (none)           |
      | content-type        | application/json |
      | header x-producer   | legacy-billing   |
    And the last message is published again
    Then within 10 seconds the message is in the dead-letter queue "email.dlq" with reason "rejected"
    And within 10 seconds the message is in the dead-letter queue "email.dlq" with reason "rejected"
    When the client places an order for 1 of "SKU-1"
    Then within 10 seconds the order is CONFIRMED
    And within 10 seconds exactly 1 confirmation email exists for the order

  Scenario: A message that keeps failing is dead-lettered after the delivery limit
    Given a free client "undeliverable"
    When an OrderConfirmed event for a new order of the client is published
    Then within 15 seconds the message is in the dead-letter queue "email.dlq" with reason "delivery_limit"
    # The first delivery and the 3 redeliveries the queue's delivery limit allows, no more.
    And the email consumer received the message exactly 4 times
    And within 10 seconds the queue "email" has 0 messages ready
    Given a free client "bystander"
    When the client places an order for 1 of "SKU-1"
    Then within 10 seconds exactly 1 confirmation email exists for the order
