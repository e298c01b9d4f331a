@rate-limit @uses:gateway
Feature: The shop's rate limit answers cleanly at the edge
  The shop promises 5 requests a minute per route. Each scenario uses a path of its own
  under /limited/, so scenarios never share a count (the zone is keyed by path).

  Scenario: Requests 1 to 5 succeed through the entry point
    Given a free client "shopper"
    When the client sends 5 GET requests to "/limited/first-five"
    Then exactly 5 of the responses had status 200

  Scenario: Request 6 gets a well-formed 429
    Given a free client "greedy"
    When the client sends 6 GET requests to "/limited/sixth"
    Then the first 5 responses had status 200 and the rest 429
    And the response has a Retry-After of at least 1 whole second

  Scenario: A refused request says when to retry
    Given a free client "impatient"
    When the client sends 6 GET requests to "/limited/retry-after"
    Then the response has a Retry-After of at least 1 whole second
