//! The reference pack's entries in the step catalog (`qalens steps`; the catalog's test
//! keeps them in sync with the step definitions as it does the generic ones).

use qalens_steps::catalog::{Need, StepDoc};

/// Every step of the reference pack, documented.
pub const DOCS: &[StepDoc] = &[
    StepDoc {
        domain: "queue",
        description: "The email consumer was handed the scenario's last message exactly this often: its first delivery and every redelivery (after a dead-lettering for the delivery limit, the limit plus one).",
        example: "Then the email consumer received the message exactly 4 times",
        needs: &[Need::Broker],
    },
    StepDoc {
        domain: "orders",
        description: "Note inventory's total stock of every SKU: available plus reserved (read from /internal/stock in one query), a sum no reservation or release changes.",
        example: "Given the total stock of every SKU is noted",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "Wait until every noted SKU's total stock (available plus reserved) is what the scenario noted: a release repeated after a lost answer must not return its units twice. A SKU stocked since the note (another scenario's own product) is left out.",
        example: "Then within 10 seconds the total stock of every SKU is what was noted",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "GET /orders/{id}/summary of the scenario's order through the front door as its client.",
        example: "When the client reads the order's summary",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "Poll the order's summary until it answers 200 with status complete and no part (order, payment, reservation) unavailable.",
        example: "Then within 20 seconds the order's summary is complete",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "POST /orders through the front door for the client.",
        example: "When the client places an order for 2 of \"SKU-1\"",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "POST /orders with an Idempotency-Key (scoped to the scenario).",
        example: "When the client places an order for 1 of \"SKU-2\" with idempotency key \"checkout-1\"",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "Wait until the last order has this status (PENDING, CONFIRMED or CANCELLED).",
        example: "Then within 10 seconds the order is CONFIRMED",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "The last order is CANCELLED and its reason contains this text.",
        example: "Then the order was cancelled because \"insufficient stock\"",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "Wait until no order of the scenario is PENDING: those its order steps placed and any other one of its clients placed (requests sent at once included).",
        example: "Then every order of the scenario is CONFIRMED or CANCELLED within 15 seconds",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "Wait until the email consumer recorded emails for the last order; exactly that many must exist, to the client (0 watches the whole window).",
        example: "Then within 10 seconds exactly 1 confirmation email exists for the order",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "Invariant, waited for up to the deadline: every CONFIRMED order of the scenario (any order one of its clients placed) has one standing charge, every other order none (its charge refunded or never made).",
        example: "Then within 10 seconds no charge of the scenario stands without a confirmed order",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "Invariant, waited for up to the deadline: every CONFIRMED order of the scenario (any order one of its clients placed) holds one reservation, every other order none (stock is given back).",
        example: "Then within 10 seconds no stock of the scenario stays reserved for an order that is not confirmed",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "Wait until payments holds exactly one charge for the last order, in this state (CHARGED or REFUNDED) and for the order's amount, or, with NONE, no charge at all.",
        example: "Then within 10 seconds the order's charge is REFUNDED",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "Wait until inventory holds exactly one reservation for the last order, in this state (RESERVED or RELEASED) and for the order's SKU and quantity, or, with NONE, no reservation at all.",
        example: "Then within 10 seconds the order's reservation is RELEASED",
        needs: &[],
    },
    StepDoc {
        domain: "queue",
        description: "Publish a raw body to the order events exchange, with a fresh message id and content type application/json.",
        example: "When the message \"not json\" is published to the order events exchange with routing key \"order.confirmed\"",
        needs: &[Need::Broker],
    },
    StepDoc {
        domain: "queue",
        description: "Publish a valid event (OrderPlaced, OrderConfirmed or OrderCancelled) for a new order of the client; it becomes the scenario's order.",
        example: "When an OrderConfirmed event for a new order of the client is published",
        needs: &[Need::Broker],
    },
    StepDoc {
        domain: "queue",
        description: "Publish the same event (OrderPlaced, OrderConfirmed or OrderCancelled) for a new order of the client twice (same message id), then a sentinel event behind them.",
        example: "When an OrderConfirmed event for a new order of the client is delivered twice",
        needs: &[Need::Broker],
    },
    StepDoc {
        domain: "queue",
        description: "Read what the analytics consumer counted for the scenario's order (its inspection endpoint, keyed by order id): exactly N events of this type and none of another. After a sentinel, first waits until analytics counted the sentinel, so every earlier message was handled; otherwise waits up to the deadline for the counts.",
        example: "Then within 10 seconds analytics counted exactly 1 OrderPlaced event for the order",
        needs: &[Need::Broker],
    },
    StepDoc {
        domain: "queue",
        description: "Publish N events of one type (OrderPlaced, OrderConfirmed or OrderCancelled), each with its own message id, for one new order of the client, on one channel with every publish confirmed (nacked ones are published again; at most 5000). The order becomes the scenario's order and the burst is remembered for the dead-letter check.",
        example: "When a burst of 400 OrderPlaced events for a new order of the client is published",
        needs: &[Need::Broker],
    },
    StepDoc {
        domain: "queue",
        description: "Publish a sentinel event behind everything published so far; the next email check first waits for the sentinel's email, so every earlier message was handled.",
        example: "When a sentinel event is published after the others",
        needs: &[Need::Broker],
    },
    StepDoc {
        domain: "contracts",
        description: "Start recording every event on the order events exchange (on a private queue that lives as long as the scenario).",
        example: "Given the order events are recorded",
        needs: &[Need::Contracts],
    },
    StepDoc {
        domain: "contracts",
        description: "Wait until the recorded events hold the order's event of the contract's type, then check its body against the schema, its routing key and that its message-id equals its event_id.",
        example: "Then within 10 seconds the order's message on the order events exchange conforms to contract OrderConfirmed v1",
        needs: &[Need::Contracts],
    },
    StepDoc {
        domain: "contracts",
        description: "Publish every example of every message contract, with fresh ids and the client as customer, then a sentinel event behind them.",
        example: "When every example of every message contract is published for the client",
        needs: &[Need::Contracts],
    },
    StepDoc {
        domain: "contracts",
        description: "Once the sentinel's email exists: no published example is in email.dlq and every OrderConfirmed example has exactly one email.",
        example: "Then within 30 seconds the email consumer handled every published example: one email per OrderConfirmed, none dead-lettered",
        needs: &[Need::Contracts],
    },
    StepDoc {
        domain: "orders",
        description: "The orders service holds no order whose customer is this client of the scenario (read from its inspection endpoint).",
        example: "Then no order exists for client \"victim\"",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "Orders knows exactly this many orders of the named client: copies of one request sent at once with one idempotency key made one order.",
        example: "Then exactly 1 order exists for client \"retrier\"",
        needs: &[],
    },
    StepDoc {
        domain: "orders",
        description: "Stock a product no other scenario knows with this many units (through inventory's `POST /internal/stock`), so the scenario knows every unit of it; later paths and bodies name its SKU as {product}.",
        example: "Given a new product with 3 units in stock",
        needs: &[],
    },
];
