@partial-failure @uses:gateway,redis,orders,payments,inventory
Feature: A partial failure ends in a coherent state, never stuck halfway

  @disrupts:inventory
  Scenario: Inventory is down: the order is cancelled and nothing is charged
    Given a free client "no-stock-service"
    When the inventory container is stopped
    And the client places an order for 1 of "SKU-1"
    Then the response status is 201
    And every order of the scenario is CONFIRMED or CANCELLED within 20 seconds
    And within 1 seconds the order is CANCELLED
    When the inventory container is started
    Then within 10 seconds no charge of the scenario stands without a confirmed order
    And within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed

  @disrupts:payments
  Scenario: Payments is down after the stock was reserved: the reservation is released
    Given a free client "no-payments"
    When the payments container is stopped
    And the client places an order for 1 of "SKU-1"
    Then every order of the scenario is CONFIRMED or CANCELLED within 20 seconds
    And within 1 seconds the order is CANCELLED
    And within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed
    When the payments container is started
    Then within 10 seconds no charge of the scenario stands without a confirmed order

  @disrupts:orders,payments
  Scenario: Orders is killed in the middle of a saga and finishes it after a restart
    Given a free client "crash"
    When the payments container is paused
    And the client places an order for 1 of "SKU-1"
    And the orders container is killed
    And the payments container is unpaused
    And the orders container is started
    Then every order of the scenario is CONFIRMED or CANCELLED within 30 seconds
    And within 10 seconds no charge of the scenario stands without a confirmed order
    And within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed

  @disrupts:payments
  Scenario: Payments slower than the saga's timeout: the order is cancelled and any charge refunded
    Given a free client "slow-payments"
    When the link from orders to payments adds 1200 ms of latency
    And the client places an order for 1 of "SKU-1"
    Then every order of the scenario is CONFIRMED or CANCELLED within 20 seconds
    And within 1 seconds the order is CANCELLED
    When the link from orders to payments is healed
    Then within 15 seconds no charge of the scenario stands without a confirmed order
    And within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed

  @disrupts:inventory
  Scenario: Connections to inventory are reset: the order is cancelled and nothing is charged
    Given a free client "reset-inventory"
    When the link from orders to inventory resets connections
    And the client places an order for 1 of "SKU-1"
    Then every order of the scenario is CONFIRMED or CANCELLED within 20 seconds
    And within 1 seconds the order is CANCELLED
    When the link from orders to inventory is healed
    Then within 10 seconds no charge of the scenario stands without a confirmed order
    And within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed
