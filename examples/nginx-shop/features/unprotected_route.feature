@unprotected-route @uses:gateway
Feature: Every documented route rejects unauthenticated requests
  The routes come from x-qalens.routes in the system file: the shop's gateway has no
  route endpoint of its own.

  Scenario Outline: Every route rejects <credentials> with 401
    Given a free client "intruder"
    And the client presents <credentials>
    When the client calls every route in the gateway's route table
    Then every route answered 401 with a WWW-Authenticate challenge

    Examples:
      | credentials       |
      | no token          |
      | a malformed token |

  Scenario: The shop's token opens a protected route
    Given a free client "member"
    When the client sends GET "/api/catalog"
    Then the response status is 200

  Scenario: A path the shop does not document is refused without a token
    Given a free client "stranger"
    And the client presents no token
    When the client sends GET "/api/unknown"
    Then the response status is one of 401, 403, 404
