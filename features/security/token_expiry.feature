@token-expiry @uses:gateway,redis
Feature: An expired token is refused, however recently it expired
  The gateway allows 5 seconds of clock skew past a token's exp and no more, so a token
  that expired 6 seconds ago is as dead as one that expired a month ago.

  Scenario Outline: A token that expired <age> seconds ago gets 401 on every route
    Given a free client "late"
    And the client presents a token that expired <age> seconds ago
    When the client calls every route in the gateway's route table
    Then every route answered 401 with a WWW-Authenticate challenge

    Examples:
      | age     |
      | 6       |
      | 3600    |
      | 2592000 |
