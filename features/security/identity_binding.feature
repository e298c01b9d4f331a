@identity-binding @uses:gateway,redis,orders,payments,inventory
Feature: A request acts only as the client its token names
  The identity of a request is the token's subject. A body that names another principal
  is refused and creates nothing; naming oneself works as before.

  Scenario: An order placed in another customer's name is refused and creates nothing
    Given a free client "victim"
    And a free client "mallory"
    When client "mallory" sends POST "/orders" with a body naming client "victim":
      """
      {"customer": "{client}", "sku": "SKU-1", "quantity": 1}
      """
    Then the request was refused with a 4xx status and created nothing
    And no order exists for client "victim"

  Scenario: An order placed in one's own name is accepted
    Given a free client "victim"
    When client "victim" sends POST "/orders" with a body naming client "victim":
      """
      {"customer": "{client}", "sku": "SKU-1", "quantity": 1}
      """
    Then the response status is 201
