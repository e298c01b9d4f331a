@shared-counter @uses:gateway
Feature: The rate-limit count is shared by every gateway replica
  K replicas grant N requests in total, not K x N.

  Scenario: Requests sent round-robin to each replica share one count
    Given a free client "spread"
    When the client sends 12 GET requests to "/limited/round-robin" round-robin across the gateway replicas
    Then the responses came from all 3 gateway replicas
    And the first 5 responses had status 200 and the rest 429

  Scenario: A concurrent burst across the replicas admits exactly the limit
    Given a free client "herd"
    When the client sends 30 GET requests to "/limited/herd" at once across the gateway replicas
    Then exactly 5 of the responses had status 200

  Scenario: One replica on its own admits exactly the limit
    Given a free client "single"
    When the client sends 6 GET requests to "/limited/one-replica" at once on gateway replica 2
    Then exactly 5 of the responses had status 200

  Scenario: One replica on its own refuses the request after the declared limit
    Given a free client "solo"
    When the client sends the declared limit of GET requests to "/limited/solo" on gateway replica 2
    Then each of them succeeded
    When the client sends one more such request
    Then the response status is not 2xx
