@scopes @uses:gateway
Feature: Each route asks for its own scope
  /api/orders needs the scope orders.read and /api/catalog the scope catalog.read
  (Apache's `Require claim scope:...`). A token without the scope is forbidden (403,
  RFC 6750 insufficient_scope); a token is free to hold other scopes too.

  Scenario: A token with the route's scope is let through
    Given a free client "reader"
    And the client's token has only the scope "orders.read"
    When the client sends GET "/api/orders"
    Then the response status is 200

  Scenario: A valid token without the route's scope is forbidden
    Given a free client "browser"
    And the client's token has only the scope "catalog.read"
    When the client sends GET "/api/orders"
    Then the response status is 403

  Scenario: A token holding several scopes opens the route of each
    Given a free client "shopper"
    And the client's token has only the scope "catalog.read orders.read"
    When the client sends GET "/api/orders"
    Then the response status is 200
