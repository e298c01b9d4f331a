@circuit-breaker @disrupts:inventory @uses:gateway,redis
Feature: A dead upstream makes the gateway fail fast, and traffic recovers when it returns

  Scenario: Requests to a hung inventory fail fast once the breaker opens
    Given a free client "breaker"
    When the inventory container is paused
    And the client sends 6 GET requests to "/inventory/stock/SKU-1" at once on gateway replica 1
    Then exactly 6 of the responses had status 504
    When the client sends 10 GET requests to "/inventory/stock/SKU-1" at once on gateway replica 1
    Then exactly 10 of the responses had status 503
    And every response arrived within 1000 milliseconds
    When the inventory container is unpaused
    Then within 20 seconds GET "/inventory/stock/SKU-1" on gateway replica 1 answers 200

  Scenario: Requests over a black-holed link fail fast once the breaker opens, and recover
    Given a free client "blackhole"
    When the link from gateway to inventory black-holes traffic
    And the client sends 6 GET requests to "/inventory/stock/SKU-1" at once on gateway replica 2
    Then exactly 6 of the responses had status 504
    When the client sends 10 GET requests to "/inventory/stock/SKU-1" at once on gateway replica 2
    Then exactly 10 of the responses had status 503
    And every response arrived within 1000 milliseconds
    When the link from gateway to inventory is healed
    Then within 20 seconds GET "/inventory/stock/SKU-1" on gateway replica 2 answers 200
