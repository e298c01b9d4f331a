@unprotected-route @uses:gateway
Feature: Every documented route rejects requests without a valid token
  The routes come from x-qalens.routes in the system file: Apache has no route endpoint
  of its own. mod_auth_openidc (AuthType oauth20) guards every path under /api/.

  Scenario Outline: Every route rejects <credentials> with 401
    Given a free client "intruder"
    And the client presents <credentials>
    When the client calls every route in the gateway's route table
    Then every route answered 401 with a WWW-Authenticate challenge

    Examples:
      | credentials                       |
      | no token                          |
      | a malformed token                 |
      | an expired token                  |
      | a token signed with the wrong key |
      | an unsigned alg-none token        |
      | a tampered token                  |

  Scenario: The shop's token opens the account route
    Given a free client "member"
    When the client sends GET "/api/account"
    Then the response status is 200
