@orders
Feature: Placing an order
  An order placed through the gateway is stored by orders, announced on the order
  events exchange through the outbox, and confirmed to the customer by exactly one email.

  Scenario: An order placed through the gateway gets exactly one confirmation email
    Given a customer "alice"
    When the customer places an order for 2 of "SKU-1" through the gateway
    Then the response status is 201
    And within 10 seconds exactly 1 confirmation email exists for the order
