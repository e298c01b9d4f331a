@object-authorization
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
