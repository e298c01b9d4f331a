# The front door resolves the replicas' addresses once, when it starts: a container that
# starts while a replica is down may take the replica's address, and the front door then
# sends that replica's share to it. So no scenario that stops and starts a container may
# run meanwhile: besides what it uses, it claims the broker and the consumers, the only
# components such scenarios disturb without using the gateway.
@gateway-ha @disrupts:gateway @uses:redis,rabbitmq,analytics,email
Feature: One gateway replica down does not fail client traffic
  The front door (nginx with passive health checks) sends requests to the replicas
  that answer.

  Scenario: A killed replica is taken out of rotation and every request still succeeds
    Given a paid client "ha"
    When the gateway-2 container is killed
    And the client sends 30 GET requests to "/limited/sliding"
    Then exactly 30 of the responses had status 200
