@api-contract @uses:gateway
Feature: The shop answers as its OpenAPI document says
  x-qalens.contracts names openapi/shop.yaml: each response is matched to its operation
  (method and path template), its status and media type, and its JSON body is checked
  against that response's schema.

  Scenario: The catalog answers as documented
    Given a free client "reader"
    When the client sends GET "/api/catalog"
    Then the response status is 200
    And the response conforms to the OpenAPI document

  Scenario: Every answer of a visit is documented
    Given a free client "visitor"
    When the client sends GET "/api/orders"
    And the client sends GET "/limited/contract"
    And the client sends GET "/api/catalog"
    Then every response of the scenario conforms to the OpenAPI document
