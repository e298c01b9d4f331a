@hostile-token @uses:gateway,redis
Feature: A correctly signed token the gateway cannot honour is refused on every route
  A signature proves who made a token, not that it may be used now. The gateway allows
  5 seconds of clock skew and tokens valid for at most 24 hours from when they arrive;
  it understands no critical header extension, and its time claims (exp, nbf, iat) are
  numbers of seconds. Each token below is signed with the system's own key.

  Scenario Outline: <token> gets 401 on every route
    Given a free client "hostile"
    And the client presents <token>
    When the client calls every route in the gateway's route table
    Then every route answered 401 with a WWW-Authenticate challenge

    Examples: not valid yet
      | token                                                |
      | a token that is not valid before 1 minute from now   |
      | a token that is not valid before 1 hour from now     |
      | a token issued 1 minute in the future                |
      | a token issued 10 years in the future                |

    Examples: never or too late expiring
      | token                                 |
      | a token without an expiry             |
      | a token that expires in 2 days        |
      | a token that expires in 100 years     |

    Examples: not understood
      | token                                                     |
      | a token whose crit header names an unknown extension      |
      | a token whose nbf claim is not a number                   |
      | a token whose iat claim is not a number                   |
      | a token whose exp claim is not a number                   |

  Scenario: A token within the leeway and the longest lifetime is accepted
    Given a free client "patient"
    And the client presents a token that expires in 23 hours
    When the client sends GET "/limited/fixed"
    Then the response status is 200
