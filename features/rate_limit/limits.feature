@rate-limit @uses:gateway,redis
Feature: Rate limits answer cleanly at the edge
  Each client has a quota per route policy, taken from its tier. Request N within the
  limit succeeds; request N+1 gets a clean 429 with Retry-After and RateLimit headers,
  never a 500 and never a hang. N is the limit the system file declares for the route
  (x-qalens.rate_limits in reference-system/qalens.yml: 5 a minute for a free client).

  Scenario Outline: Requests 1 to 5 succeed and request 6 gets a well-formed 429 (<algorithm>)
    Given a free client "limited"
    And the current window of "<path>" has at least <left> seconds left
    When the client sends the declared limit of GET requests to "<path>"
    Then each of them succeeded
    When the client sends one more such request
    Then the response is a well-formed 429 for the declared policy
    And the response is a problem with status 429
    And the response has well-formed RateLimit headers for a limit of 5 per 60 seconds

    Examples:
      | algorithm      | path             | left |
      | fixed window   | /limited/fixed   | 10   |
      | sliding window | /limited/sliding | 0    |
      | token bucket   | /limited/bucket  | 0    |

  Scenario: The paid tier has its own, larger quota
    Given a paid client "rich"
    When the client sends 51 GET requests to "/limited/sliding"
    Then the first 50 responses had status 200 and the rest 429
    And the response has well-formed RateLimit headers for a limit of 50 per 60 seconds

  Scenario: A fresh token of the same client does not start a new count
    Given a free client "twin"
    And the client presents a fresh valid token
    When the client sends the declared limit of GET requests to "/limited/sliding"
    Then each of them succeeded
    Given the client presents a fresh valid token
    When the client sends one more such request
    Then the response status is 429

  Scenario: A quota spent on one route leaves another policy's quota untouched
    Given a free client "two-routes"
    When the client sends the declared limit of GET requests to "/limited/sliding"
    Then each of them succeeded
    # Another policy of the same algorithm: its own count, however close in time (the
    # request goes while every earlier one is inside that policy's window, so a shared
    # count would refuse it).
    When the client sends one more such request, to "/limited/short"
    Then the response status is 200

  Scenario: A retry before Retry-After is refused and one after it succeeds
    Given a free client "patient"
    When the client sends the declared limit of GET requests to "/limited/short"
    Then each of them succeeded
    When the client sends one more such request
    Then the response is a well-formed 429 for the declared policy
    When the client sends one more such request
    Then the response status is 429
    When the client waits as long as Retry-After says
    And the client sends GET "/limited/short"
    Then the response status is 200

  Scenario Outline: A concurrent burst admits exactly the limit (<algorithm>)
    Given a free client "burst"
    And the current window of "<path>" has at least <left> seconds left
    When the client sends 20 GET requests to "<path>" at once
    Then exactly 5 of the responses had status 200
    And exactly 15 of the responses had status 429

    Examples:
      | algorithm      | path             | left |
      | fixed window   | /limited/fixed   | 10   |
      | sliding window | /limited/sliding | 0    |
      | token bucket   | /limited/bucket  | 0    |

  Scenario: A sliding window never admits more than the limit in any window-long span
    Given a free client "steady"
    When the client sends 12 GET requests to "/limited/short" one every 250 milliseconds
    Then no 2-second span held more than 3 successful responses
    And at least 5 of the responses had status 200

  Scenario Outline: A burst on each side of a window edge: <admitted> of 6 admitted (<algorithm>)
    A fixed window forgets everything at its edge, so twice its limit gets through within
    one window-long span; a sliding window does not.
    Given a free client "edge"
    When the client sends 3 GET requests to "<path>" at once just before a 2-second clock boundary and 3 more just after it
    Then exactly <admitted> of the responses had status 200
    And exactly <refused> of the responses had status 429

    Examples:
      | algorithm      | path                 | admitted | refused |
      | sliding window | /limited/short       | 3        | 3       |
      | fixed window   | /limited/short-fixed | 6        | 0       |
