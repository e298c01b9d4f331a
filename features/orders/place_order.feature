@orders @uses:gateway,redis,orders,payments,inventory,rabbitmq,email
Feature: Placing an order
  An order placed through the gateway runs a saga (reserve stock, charge payment,
  confirm), is announced through the outbox, and is confirmed by exactly one email.

  Scenario: A confirmed order gets exactly one confirmation email
    Given a free client "alice"
    When the client places an order for 2 of "SKU-1"
    Then the response status is 201
    And within 10 seconds the order is CONFIRMED
    And within 10 seconds exactly 1 confirmation email exists for the order
    And within 10 seconds no charge of the scenario stands without a confirmed order
    And within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed
    And within 10 seconds the order's charge is CHARGED
    And within 10 seconds the order's reservation is RESERVED

  Scenario: A retried order with the same idempotency key creates nothing new
    Given a free client "bob"
    When the client places an order for 1 of "SKU-2" with idempotency key "checkout-1"
    Then the response status is 201
    When the client places an order for 1 of "SKU-2" with idempotency key "checkout-1"
    Then the response status is 200
    And within 10 seconds the order is CONFIRMED
    And within 10 seconds exactly 1 confirmation email exists for the order

  Scenario: A declined payment cancels the order and releases its stock
    Given a free client "broke-carol"
    When the client places an order for 1 of "SKU-1"
    Then the response status is 201
    And within 10 seconds the order is CANCELLED
    And the order was cancelled because "402"
    And within 10 seconds the order's reservation is RELEASED
    And within 10 seconds the order's charge is NONE
    And within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed
    And within 10 seconds no charge of the scenario stands without a confirmed order
    And within 2 seconds exactly 0 confirmation emails exist for the order

  Scenario: Too little stock cancels the order without charging
    Given a free client "dave"
    When the client places an order for 5 of "SKU-SCARCE"
    Then within 10 seconds the order is CANCELLED
    And the order was cancelled because "insufficient stock"
    And within 10 seconds no charge of the scenario stands without a confirmed order
    And within 10 seconds the order's charge is NONE
    And within 10 seconds the order's reservation is NONE
