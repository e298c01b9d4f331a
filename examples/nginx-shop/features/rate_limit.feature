@rate-limit @uses:gateway
Feature: The shop's rate limit answers cleanly at the edge
  The shop promises 5 requests a minute per path (x-qalens.rate_limits). Each scenario
  uses a path of its own under /limited/, so scenarios never share a count.

  Scenario: Requests 1 to 5 succeed through the entry point
    Given a free client "shopper"
    When the client sends the declared limit of GET requests to "/limited/first-five"
    Then each of them succeeded

  Scenario: Request 6 gets a well-formed 429
    Given a free client "greedy"
    When the client sends the declared limit of GET requests to "/limited/sixth"
    And the client sends one more such request
    Then the response is a well-formed 429 for the declared policy

  Scenario: A refused request says when to retry
    Given a free client "impatient"
    When the client sends the declared limit of GET requests to "/limited/retry-after"
    And the client sends one more such request
    Then the response has a Retry-After of at least 1 whole second
