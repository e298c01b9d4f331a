@shared-counter @uses:gateway,redis
Feature: The rate-limit count is shared by every gateway replica
  K replicas grant N requests in total, not K x N.

  Scenario: Requests sent round-robin to each replica share one count
    Given a free client "spread"
    When the client sends 12 GET requests to "/limited/sliding" round-robin across the gateway replicas
    Then the first 5 responses had status 200 and the rest 429
    And the responses came from all 3 gateway replicas

  Scenario: A concurrent burst across the replicas admits exactly the limit
    Given a free client "herd"
    And the current window of "/limited/fixed" has at least 10 seconds left
    When the client sends 30 GET requests to "/limited/fixed" at once across the gateway replicas
    Then exactly 5 of the responses had status 200
    And exactly 25 of the responses had status 429

  # Claims the broker and the consumers too, as the gateway-ha scenario does (see there):
  # no other container may start while the replica is down.
  @disrupts:gateway @uses:rabbitmq,email,analytics
  Scenario: A replica restarted mid-window keeps the count
    Given a free client "restart"
    And the current window of "/limited/fixed" has at least 10 seconds left
    When the client sends 3 GET requests to "/limited/fixed" at once on gateway replica 1
    Then exactly 3 of the responses had status 200
    When the gateway-1 container is restarted
    And the client sends 3 GET requests to "/limited/fixed" at once on gateway replica 1
    Then exactly 2 of the responses had status 200
    And exactly 1 of the responses had status 429
