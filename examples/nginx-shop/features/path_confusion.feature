@path-confusion @uses:gateway
Feature: No rewritten path reaches a route without the token
  Raw-path rewrites of every route in x-qalens.routes (dot segments, encoded slashes,
  backslashes, `;`, NUL...) go out without a token, and so does each route's own path.
  A route that answers its own path without a token is unprotected: the rewrites toward
  or through it prove nothing about paths, and the failure blames that route, not path
  confusion.

  Scenario: Rewrites without a token never answer 2xx
    Given a free client "stranger"
    When the client sends path rewrites toward every route in the gateway's route table without a token
    Then no rewrite answered 2xx
