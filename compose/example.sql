-- A first pipeline on the Docker Compose stack: JSON events in, Avro (registered in the Schema
-- Registry) out. Run it against either node:
--   psql -h 127.0.0.1 -p 5433 -U laminar laminar -f compose/example.sql
-- Addresses are the compose network's service names: the gateways, not your host, connect to them.

CREATE CONNECTION events (id BIGINT, user_id TEXT, amount NUMERIC(10,2), ts TIMESTAMPTZ) TO kafka (
    bootstrap_servers = 'kafka:9092',
    topic = 'events',
    type = 'source',
    format = 'json'
);

CREATE CONNECTION large_purchases TO kafka (
    bootstrap_servers = 'kafka:9092',
    topic = 'large-purchases',
    type = 'sink',
    format = 'avro',
    'schema_registry.endpoint' = 'http://schema-registry:8081',
    'transactional.id' = 'laminar-large-purchases'
);

SELECT test_connection('large_purchases');

CREATE PIPELINE large_purchases_pipeline AS
INSERT INTO large_purchases
SELECT id, user_id, amount, ts
FROM events
WHERE amount >= 100;
