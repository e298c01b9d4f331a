@api-contract @uses:gateway
Feature: The shop answers as its OpenAPI document says
  x-qalens.contracts names openapi/shop.yaml: each response is matched to its operation
  (method and path template), its status and media type, and its JSON body is checked
  against that response's schema.

  Scenario: The catalog and the orders answer as documented
    Given a free client "reader"
    When the client sends GET "/api/catalog"
    Then the response status is 200
    And the response conforms to the OpenAPI document
    When the client sends GET "/api/orders"
    Then the response conforms to the OpenAPI document
