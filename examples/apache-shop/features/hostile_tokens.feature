@hostile-token @uses:gateway
Feature: A correctly signed token the gateway cannot honour is refused on every route
  A signature proves who made a token, not that it may be used now. Each token below is
  signed with the shop's own key (x-qalens.identity), so only the gateway's checks of
  its claims and header can refuse it.

  Scenario Outline: <token> gets 401 on every route
    Given a free client "hostile"
    And the client presents <token>
    When the client calls every route in the gateway's route table
    Then every route answered 401 with a WWW-Authenticate challenge

    Examples: not valid yet
      | token                                                |
      | a token that is not valid before 1 hour from now     |
      | a token issued 10 years in the future                |

    Examples: never expiring
      | token                     |
      | a token without an expiry |

    Examples: not understood
      | token                                                |
      | a token whose crit header names an unknown extension |
      | a token whose nbf claim is not a number              |
      | a token whose exp claim is not a number              |
