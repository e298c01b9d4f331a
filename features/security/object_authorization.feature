@object-authorization @uses:gateway,redis,orders,payments,inventory
Feature: A client reads only its own resources
  Broken object-level authorization is the first risk of the OWASP API Security Top 10:
  a token proves who the client is, and every resource must still check that it is
  this client's. Another client's resource answers like one that does not exist.

  Scenario: Another client cannot read an order, nor its summary, while its owner can
    Given a free client "owner"
    And a free client "eve"
    When client "owner" creates a resource with POST "/orders" and the body:
      """
      {"customer": "{client}", "sku": "SKU-1", "quantity": 1}
      """
    Then client "owner" can GET it
    And client "owner" can GET "/orders/{id}/summary"
    And client "eve" cannot GET it
    And client "eve" cannot GET "/orders/{id}/summary"

  Scenario: Another client's order looks like one that does not exist
    Given a free client "owner"
    And a free client "eve"
    When client "owner" creates a resource with POST "/orders" and the body:
      """
      {"customer": "{client}", "sku": "SKU-2", "quantity": 1}
      """
    Then to client "eve" it looks like a resource that does not exist

  Scenario: Another client cannot read an order's charge, while its owner can
    Given a free client "owner"
    And a free client "eve"
    When client "owner" creates a resource with POST "/orders" and the body:
      """
      {"customer": "{client}", "sku": "SKU-1", "quantity": 1}
      """
    # The order's saga charges it in the background.
    Then within 10 seconds client "owner" can GET "/payments/charges?order_id={id}"
    And client "eve" cannot GET "/payments/charges?order_id={id}"

  Scenario: Another client cannot read an order's reservation, while its owner sees it in the summary
    Given a free client "owner"
    And a free client "eve"
    When client "owner" creates a resource with POST "/orders" and the body:
      """
      {"customer": "{client}", "sku": "SKU-1", "quantity": 1}
      """
    # The saga reserves stock before it charges: once the charge is there, so is the
    # reservation.
    Then within 10 seconds client "owner" can GET "/payments/charges?order_id={id}"
    And client "owner" can GET "/orders/{id}/summary"
    And client "eve" cannot GET "/inventory/reservations/{id}"

  Scenario: Another client re-using an order's idempotency key does not get the order
    Given a free client "owner"
    And a free client "eve"
    When client "owner" creates a resource with POST "/orders", the header "Idempotency-Key" set to "checkout-1", and the body:
      """
      {"customer": "{client}", "sku": "SKU-1", "quantity": 1}
      """
    # An idempotency key is the client's own: another client's request with the same key
    # is refused or is a request of its own, never answered with the first client's order.
    And client "eve" sends POST "/orders", the header "Idempotency-Key" set to "checkout-1", and the body:
      """
      {"customer": "{client}", "sku": "SKU-1", "quantity": 1}
      """
    Then the response does not reveal the resource
