@aggregation @disrupts:payments @uses:gateway,redis,orders,inventory
Feature: The order summary degrades per part when a service behind it is down
  GET /orders/{id}/summary combines orders, payments and inventory. One service down
  marks its own part unavailable and the reply partial; the rest still answers.

  Scenario: With payments down the summary still shows the order and its reservation, then is complete again
    Given a free client "summary"
    When the client places an order for 1 of "SKU-1"
    Then within 10 seconds the order is CONFIRMED
    And within 10 seconds the order's charge is CHARGED
    When the payments container is stopped
    And the client reads the order's summary
    Then the response status is 200
    And the response's JSON field "status" is "partial"
    And the response's JSON field "order.status" is "CONFIRMED"
    And the response's JSON field "reservation.status" is "RESERVED"
    And the response's JSON field "payment.status" is "unavailable"
    When the payments container is started
    Then within 20 seconds the order's summary is complete
    And the response's JSON field "payment.status" is "CHARGED"
    And the response's JSON field "reservation.status" is "RESERVED"
