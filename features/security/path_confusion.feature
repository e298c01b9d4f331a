@path-confusion @uses:gateway,redis,orders,payments,inventory
Feature: No path rewrite reaches a route the token may not use
  Gateways that match the raw path against their route prefixes, or decode and
  normalise it after routing, can be walked from a route the token may use to one it may
  not: dot segments, encoded slashes and dots, doubled slashes, backslashes, `;` and NUL.
  The rewrites are built from the gateway's own route table and written to the socket
  byte for byte.

  Scenario: Rewrites of every route with a token lacking that route's scope never answer 2xx
    Given a paid client "walker"
    When the client sends path rewrites toward every route in the gateway's route table, each with a token lacking that route's scope
    Then no rewrite answered 2xx

  Scenario: Rewrites of every route without a token never answer 2xx
    Given a paid client "stranger"
    When the client sends path rewrites toward every route in the gateway's route table without a token
    Then no rewrite answered 2xx

  Scenario Outline: A path with <trick> is a 400 problem from the gateway, before authentication
    Given a free client "walker"
    And the client presents no token
    When the client sends the raw request GET "<path>" to gateway replica 1
    Then the response is a problem with status 400

    Examples:
      | trick                 | path                                      |
      | dot segments          | /limited/fixed/../../admin/routes         |
      | encoded dots          | /limited/fixed/%2e%2e/%2E%2E/admin/routes |
      | encoded slashes       | /limited/fixed%2f..%2f..%2fadmin%2froutes |
      | backslashes           | /limited/fixed\\..\\..\\admin\\routes |
      | encoded backslashes   | /limited/fixed%5c..%5c..%5cadmin/routes   |
      | doubled slashes       | //admin/routes                            |
      | NUL                   | /admin/routes%00                          |

  Scenario: Through the front door a path with dot segments is refused too
    Given a free client "walker"
    When the client sends the raw request GET "/limited/fixed/../../admin/routes"
    Then the response status is 400
