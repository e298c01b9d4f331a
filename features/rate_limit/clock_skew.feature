@clock-skew @disrupts:gateway @uses:redis
Feature: Rate limits hold when one replica's clock is wrong
  The limiter decides on Redis server time, never on a replica's own clock: with one
  gateway replica's clock far ahead or behind, the replicas together still grant the
  limit and no more, and a refusal's Retry-After is still within the window.

  Scenario Outline: One replica's clock 10 minutes <direction>: <algorithm> across the replicas grants 5 of 12
    Given a free client "skewed"
    And the current window of "<path>" has at least <left> seconds left
    When the clock of the gateway-1 container is 10 minutes <direction>
    And the client sends 12 GET requests to "<path>" round-robin across the gateway replicas
    Then the first 5 responses had status 200 and the rest 429
    And the responses came from all 3 gateway replicas
    And every 429 response had a Retry-After between 1 and 60 seconds

    Examples:
      | direction | algorithm      | path             | left |
      | ahead     | fixed window   | /limited/fixed   | 10   |
      | ahead     | sliding window | /limited/sliding | 0    |
      | ahead     | token bucket   | /limited/bucket  | 0    |
      | behind    | fixed window   | /limited/fixed   | 10   |
      | behind    | sliding window | /limited/sliding | 0    |
      | behind    | token bucket   | /limited/bucket  | 0    |
