@duplicate-delivery
Feature: A duplicated delivery has exactly one effect

  Scenario: The same event delivered twice sends one email
    Given a free client "twice"
    When an OrderConfirmed event for a new order of the client is delivered twice
    Then within 10 seconds exactly 1 confirmation email exists for the order
