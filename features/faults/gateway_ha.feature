@gateway-ha @disrupts:gateway @uses:redis,rabbitmq,analytics
Feature: One gateway replica down does not fail client traffic
  The front door (nginx with passive health checks) sends requests to the replicas
  that answer.

  Scenario: A killed replica is taken out of rotation and every request still succeeds
    Given a paid client "ha"
    When the gateway-2 container is killed
    And the client sends 30 GET requests to "/limited/sliding"
    Then exactly 30 of the responses had status 200
