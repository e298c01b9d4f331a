@uses:gateway,redis,orders,payments,inventory,rabbitmq,email
Feature: Work whose answer or confirm was lost is neither lost nor done twice

  @partial-failure @disrupts:payments
  Scenario: A charge whose answer is lost is retried with its key: the order is confirmed and charged once
    Given a free client "lost-charge-answer"
    When the link from orders to payments drops the answers
    And the client places an order for 1 of "SKU-1"
    Then within 2 seconds the order's charge is CHARGED
    When the link from orders to payments is healed
    Then within 10 seconds the order is CONFIRMED
    And within 5 seconds the order's charge is CHARGED
    And within 10 seconds no charge of the scenario stands without a confirmed order
    And within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed

  @partial-failure @disrupts:payments
  Scenario: A charge whose answer is lost for this scenario alone is retried with its key: confirmed and charged once
    Given a free client "lost-own-charge-answer"
    When the link from orders to payments drops the answers to this scenario's requests
    And the client places an order for 1 of "SKU-1"
    Then within 2 seconds the order's charge is CHARGED
    When the link from orders to payments is healed for this scenario's requests
    Then within 10 seconds the order is CONFIRMED
    And within 5 seconds the order's charge is CHARGED
    And within 10 seconds no charge of the scenario stands without a confirmed order
    And within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed

  @partial-failure @disrupts:payments
  Scenario: Answers from payments are held past the saga's deadline: the order is cancelled and its charge refunded
    Given a free client "held-charge-answers"
    When the link from orders to payments holds the answers
    And the client places an order for 1 of "SKU-1"
    Then within 2 seconds the order's charge is CHARGED
    And every order of the scenario is CONFIRMED or CANCELLED within 20 seconds
    And within 1 seconds the order is CANCELLED
    When the link from orders to payments is healed
    Then within 15 seconds the order's charge is REFUNDED
    And within 10 seconds no charge of the scenario stands without a confirmed order
    And within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed

  @partial-failure @disrupts:inventory
  Scenario: Releases whose answers are lost are retried: the stock comes back once
    Given a free client "lost-release-answers"
    And the total stock of every SKU is noted
    When the link from orders to inventory drops the answers
    And the client places an order for 1 of "SKU-3"
    Then every order of the scenario is CONFIRMED or CANCELLED within 20 seconds
    When the link from orders to inventory is healed
    Then within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed
    # The reservation was made and released, each perhaps more than once: available plus
    # reserved is back to what it was, not above it.
    And within 10 seconds the total stock of every SKU is what was noted

  @outages @disrupts:rabbitmq
  Scenario: A publish the broker never confirmed is published again: exactly one email
    Given a free client "lost-publish"
    When the client places an order for 1 of "SKU-1"
    Then within 20 seconds exactly 1 confirmation email exists for the order
    When the link from orders to rabbitmq black-holes traffic
    And the client places an order for 1 of "SKU-1"
    Then within 15 seconds the order is CONFIRMED
    When the scenario no longer uses gateway, redis, payments and inventory
    Then within 1 seconds exactly 0 confirmation emails exist for the order
    When the link from orders to rabbitmq resets connections
    Then within 1 seconds exactly 0 confirmation emails exist for the order
    When the link from orders to rabbitmq is healed
    Then within 20 seconds exactly 1 confirmation email exists for the order
