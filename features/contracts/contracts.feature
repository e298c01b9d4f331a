@contracts
Feature: Services still send what their peers expect
  Every payload that crosses a service boundary has a versioned JSON Schema in
  contracts/schemas (qalens contracts list shows them). These scenarios pin the contracts
  on the running system: the requests a service sent over a link, as the link's proxy
  recorded them, and the events on the order events exchange.

  Scenario: A confirmed order's requests and events conform to their contracts
    Given a free client "contract-alice"
    And the order events are recorded
    When the client places an order for 2 of "SKU-1"
    Then within 15 seconds the order is CONFIRMED
    And the request orders sent to inventory conforms to contract ReservationRequest v1
    And the request orders sent to payments conforms to contract ChargeRequest v1
    And within 10 seconds the order's message on the order events exchange conforms to contract OrderPlaced v1
    And within 10 seconds the order's message on the order events exchange conforms to contract OrderConfirmed v1

  Scenario: A cancelled order's compensation and event conform to their contracts
    Given a free client "broke-contract"
    And the order events are recorded
    When the client places an order for 1 of "SKU-1"
    Then within 15 seconds the order is CANCELLED
    And the request orders sent to payments conforms to contract ChargeRequest v1
    And within 10 seconds the order's message on the order events exchange conforms to contract OrderCancelled v1

  Scenario: The gateway sends the identity headers its services expect
    Given a free client "contract-identity"
    When the client sends GET "/inventory/stock/SKU-1"
    Then the response status is 200
    And the request the gateway sent to inventory conforms to contract IdentityHeaders v1

  @disrupts:email @uses:rabbitmq
  Scenario: The email consumer accepts every example of every message contract
    Given a free client "contract-examples"
    When every example of every message contract is published for the client
    Then within 30 seconds the email consumer handled every published example: one email per OrderConfirmed, none dead-lettered

  @disrupts:email @uses:rabbitmq
  Scenario: The email consumer dead-letters an event that breaks its contract
    Given a free client "contract-breaker"
    When the first example of contract OrderConfirmed v1 is published for the client without its "amount_cents" field
    Then within 10 seconds the message is in the dead-letter queue "email.dlq" with reason "rejected"
