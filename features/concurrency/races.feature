@concurrency @uses:gateway,redis,orders,payments,inventory
Feature: Concurrent writes at one resource keep what the system owns conserved
  Requests that overlap at one resource, released together, must leave the same state as
  if they had come one after another: the last units of a product are sold once, and a
  request retried while its first attempt is still running takes effect once.

  Scenario: Concurrent orders for the last units confirm exactly the units in stock
    Given a new product with 3 units in stock
    And a free client "watcher"
    When 12 clients "buyer" each send POST "/orders" at once with the body:
      """
      {"customer": "{client}", "sku": "{product}", "quantity": 1}
      """
    Then exactly 12 of the responses had status 201
    And within 20 seconds none of the created resources has the JSON field "status" set to "PENDING"
    And exactly 3 of the created resources have the JSON field "status" set to "CONFIRMED"
    And exactly 9 of the created resources have the JSON field "status" set to "CANCELLED"
    And within 10 seconds the JSON field "available" of GET "/inventory/stock/{product}" is 0
    And within 10 seconds the JSON fields "available" and "reserved" of GET "/inventory/stock/{product}" add up to 3
    And within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed
    And within 10 seconds no charge of the scenario stands without a confirmed order

  Scenario: One order retried at once with its idempotency key is placed, charged and reserved once
    Given a new product with 5 units in stock
    And a free client "retrier"
    When the client sends 10 copies of POST "/orders" at once, with the header "Idempotency-Key" set to "checkout-1" and the body:
      """
      {"customer": "{client}", "sku": "{product}", "quantity": 2}
      """
    Then exactly 1 of the responses had status 201
    And exactly 9 of the responses had status 200
    And every response has the same JSON field "id"
    And exactly 1 order exists for client "retrier"
    And within 20 seconds none of the created resources has the JSON field "status" set to "PENDING"
    And exactly 10 of the created resources have the JSON field "status" set to "CONFIRMED"
    And within 10 seconds no charge of the scenario stands without a confirmed order
    And within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed
    And within 10 seconds the JSON field "reserved" of GET "/inventory/stock/{product}" is 2
