@partial-failure @outages
Feature: Outages of the shared infrastructure delay work but lose nothing

  @disrupts:redis @uses:gateway
  Scenario: Without Redis the gateway answers a clean 503 at once, then recovers
    Given a free client "no-redis"
    When the redis container is stopped
    And the client sends 3 GET requests to "/limited/fixed" at once on gateway replica 1
    Then exactly 3 of the responses had status 503
    And every response arrived within 1000 milliseconds
    And the response has a Retry-After of at least 1 whole second
    When the redis container is started
    Then within 20 seconds GET "/limited/fixed" on gateway replica 1 answers 200
    And within 20 seconds GET "/limited/fixed" on gateway replica 2 answers 200
    And within 20 seconds GET "/limited/fixed" on gateway replica 3 answers 200

  @disrupts:redis @uses:gateway,inventory
  Scenario: Redis slower than the limiter's timeout: a clean 503 at once, then recovery
    Given a paid client "slow-redis"
    When the link from gateway to redis adds 1500 ms of latency
    And the client sends 3 GET requests to "/inventory/stock/SKU-1" at once on gateway replica 1
    Then exactly 3 of the responses had status 503
    And every response arrived within 1000 milliseconds
    And the response has a Retry-After of at least 1 whole second
    When the link from gateway to redis is healed
    Then within 20 seconds GET "/inventory/stock/SKU-1" on gateway replica 1 answers 200
    And within 20 seconds GET "/inventory/stock/SKU-1" on gateway replica 2 answers 200
    And within 20 seconds GET "/inventory/stock/SKU-1" on gateway replica 3 answers 200

  @disrupts:rabbitmq @uses:gateway,redis,orders,payments,inventory,email
  Scenario: A broker outage delays the confirmation email and loses no event
    Given a free client "no-broker"
    When the rabbitmq container is stopped
    And the client places an order for 1 of "SKU-1"
    Then within 15 seconds the order is CONFIRMED
    When the scenario no longer uses gateway, redis, payments and inventory
    And the rabbitmq container is started
    Then within 60 seconds exactly 1 confirmation email exists for the order

  @disrupts:rabbitmq @uses:gateway,redis,orders,payments,inventory,email
  Scenario: Connections from orders to the broker are reset: the email is delayed and no event is lost
    Given a free client "mq-link-reset"
    When the link from orders to rabbitmq resets connections
    And the client places an order for 1 of "SKU-1"
    Then within 15 seconds the order is CONFIRMED
    When the scenario no longer uses gateway, redis, payments and inventory
    Then within 1 seconds exactly 0 confirmation emails exist for the order
    When the link from orders to rabbitmq is healed
    Then within 20 seconds exactly 1 confirmation email exists for the order

  @disrupts:email @uses:gateway,redis,orders,payments,inventory,rabbitmq
  Scenario: A consumer outage only delays the email
    Given a free client "no-consumer"
    When the email container is stopped
    And the client places an order for 1 of "SKU-1"
    Then within 15 seconds the order is CONFIRMED
    When the scenario no longer uses gateway, redis, payments and inventory
    And the email container is started
    Then within 20 seconds exactly 1 confirmation email exists for the order
