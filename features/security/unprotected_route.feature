@unprotected-route @uses:gateway,redis
Feature: Every route behind the gateway rejects unauthenticated requests
  The routes are read from the gateway's own route table, so a route added later is
  covered without editing this file.

  Scenario Outline: Every route rejects <credentials> with 401
    Given a free client "intruder"
    And the client presents <credentials>
    When the client calls every route in the gateway's route table
    Then every route answered 401 with a WWW-Authenticate challenge

    Examples:
      | credentials                      |
      | no token                         |
      | a malformed token                |
      | an expired token                 |
      | a token signed with the wrong key |
      | an unsigned alg-none token       |
      | a tampered token                 |

  Scenario: A valid token without a route's scope gets 403 on every route
    Given a free client "narrow"
    And the client's token has only the scope "profile:read"
    When the client calls every route in the gateway's route table
    Then every route answered 403

  Scenario: Identity headers sent by the client change nothing
    Given a free client "mallory"
    And the current window of "/limited/fixed" has at least 10 seconds left
    When the client sends the declared limit of GET requests to "/limited/fixed"
    Then each of them succeeded
    When the client sends one more such request
    Then the response status is 429
    When the client sends GET "/limited/fixed" with the header "x-client-id" set to "somebody-else"
    Then the response status is 429

  Scenario Outline: <method>, a method the route table does not route, passes no route without a token
    Given a free client "prober"
    And the client presents no token
    When the client calls every route in the gateway's route table with the method <method>
    Then no route answered 2xx

    Examples:
      | method  |
      | HEAD    |
      | OPTIONS |

  Scenario: A token with every scope but a route's gets 403 on every route
    Given a free client "sideways"
    When the client calls every route in the gateway's route table with a token holding every other scope of the table
    Then every route answered 403

  Scenario: A token with only near misses of a route's scope gets 403 on every route
    Given a free client "lookalike"
    When the client calls every route in the gateway's route table with a token holding only near misses of the route's scope
    Then every route answered 403
