@link-fault @disrupts:gateway
Feature: One replica's failing link does not fail client traffic
  The front door balances over gateway-1, gateway-2 and gateway-3, named in its
  configuration file. The fault proxy takes over gateway-2's name on the network
  (x-qalens.links, `takeover: true`), so the front door reaches replica 2 through it
  without a change to its configuration.

  Scenario: Through the proxy, every replica still answers
    Given a free client "spread"
    When the client sends 9 GET requests to "/api/account"
    Then exactly 9 of the responses had status 200
    And the responses came from all 3 gateway replicas

  Scenario: A GET whose answer is lost on the way is retried on another replica
    Given a free client "retrier"
    When the link from frontdoor to gateway-2 drops the answers
    And the client sends 9 GET requests to "/api/account"
    Then exactly 9 of the responses had status 200

  Scenario: A slow replica does not hold up requests
    Given a free client "hurried"
    When the link from frontdoor to gateway-2 adds 3000 ms of latency
    And the client sends 6 GET requests to "/api/account"
    Then every response arrived within 2000 milliseconds
