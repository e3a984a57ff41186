-- 013: outbound webhooks (docs/webhooks.md).
--
-- webhook_endpoint: an account's HTTPS endpoint, the events it wants
-- (lib/web/webhook_filter.h names them) and the secret its deliveries are
-- signed with (lib/web/sign.h). enabled is false once the endpoint answered
-- 410 Gone (disabled_reason says so) or the user disabled it.
CREATE TABLE webhook_endpoint (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    url text NOT NULL CHECK (url LIKE 'https://%' AND length(url) <= 2048),
    events text[] NOT NULL CHECK (cardinality(events) > 0 AND events <@ ARRAY[
        'lead.finished', 'call.ended', 'campaign.status_changed', 'import.finished']),
    secret text NOT NULL CHECK (secret <> ''),
    description text,
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoint_account_idx ON webhook_endpoint (account_id);

-- webhook_delivery: one event for one endpoint, inserted by
-- outdial-notifier when it consumes the event (unique by endpoint and event
-- id, so a redelivered Kafka message adds nothing) and sent from here.
--   pending    due at next_attempt_at; a sender claims it by moving
--              next_attempt_at past its request's timeout (a lease), so a
--              notifier that dies mid-request leaves it due again
--   delivered  the endpoint answered 2xx
--   dead       no 2xx within the notifier's maximum age after the first
--              try (24 h by default): the endpoint's dead-letter list,
--              until a replay makes it pending again
-- Delivery times are wall-clock (the receiver's world), not campaign time.
CREATE TYPE webhook_delivery_status AS ENUM ('pending', 'delivered', 'dead');

CREATE TABLE webhook_delivery (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoint (id) ON DELETE CASCADE,
    event_id text NOT NULL CHECK (event_id <> ''),
    event_type text NOT NULL,
    body text NOT NULL,
    status webhook_delivery_status NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    first_attempt_at timestamptz,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    last_status_code integer,
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_id)
);
-- The senders' claim: the due pending rows, oldest first.
CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at)
    WHERE status = 'pending';
-- The API's lists per endpoint and status (the dead-letter list).
CREATE INDEX webhook_delivery_endpoint_idx ON webhook_delivery (endpoint_id, status, id);
