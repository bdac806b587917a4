-- Statements the Laminar dialect accepts, each with the typed statement it becomes.
-- Format: a header line "-- accept: <StatementClass>" and the statement's lines after it.
-- accept: SelectStatement
SELECT 1
-- accept: SelectStatement
SELECT x::text, now() FROM generate_series(1, 3) AS x WHERE x > $1
-- accept: SelectStatement
WITH t AS (SELECT 1 AS a) SELECT a FROM t UNION ALL SELECT 2
-- accept: SelectStatement
SELECT INTERVAL '1 day 02:03:04', '\xdeadbeef'::bytea, ARRAY[1, 2]::int4[]
-- accept: SetStatement
SET extra_float_digits = 3
-- accept: SetStatement
SET application_name TO 'psql'
-- accept: SetStatement
SET SESSION TimeZone = 'UTC'
-- accept: SetStatement
SET LOCAL statement_timeout = 0
-- accept: SetStatement
SET TIME ZONE 'UTC'
-- accept: SetStatement
set client_encoding='utf-8'
-- accept: SetStatement
SET myapp.tenant = 'acme'
-- accept: NoOpStatement
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED
-- accept: ShowStatement
SHOW transaction isolation level
-- accept: ShowStatement
SHOW ALL
-- accept: ShowStatement
show server_version
-- accept: ResetStatement
RESET ALL
-- accept: ResetStatement
RESET application_name
-- accept: SessionResetStatement
DISCARD ALL
-- accept: SessionResetStatement
DEALLOCATE ALL
-- accept: SessionResetStatement
DEALLOCATE PREPARE s1
-- accept: SessionResetStatement
CLOSE ALL
-- accept: NoOpStatement
UNLISTEN *
-- accept: NoOpStatement
LISTEN events
-- accept: TransactionStatement
BEGIN
-- accept: TransactionStatement
START TRANSACTION ISOLATION LEVEL SERIALIZABLE
-- accept: TransactionStatement
COMMIT
-- accept: TransactionStatement
END
-- accept: TransactionStatement
ROLLBACK
-- accept: SavepointStatement
SAVEPOINT sp1
-- accept: SavepointStatement
RELEASE SAVEPOINT sp1
-- accept: SavepointStatement
RELEASE sp1
-- accept: SavepointStatement
ROLLBACK TO SAVEPOINT sp1
-- accept: SelectStatement
SELECT pg_advisory_unlock_all()
-- accept: SelectStatement
SELECT current_setting('jit')
-- accept: CreatePipelineStatement
CREATE PIPELINE process_events AS
INSERT INTO kafka_json_sink
SELECT id, user_id, event_type, timestamp, TO_JSON(metadata) as metadata
FROM source_events
WHERE event_type = 'purchase';
-- accept: CreatePipelineStatement
CREATE PIPELINE IF NOT EXISTS tuned WITH (batch_rows = 500, 'commit_interval_ms' = '200 ms') AS
INSERT INTO out (a, b) SELECT x, y FROM src
-- accept: CreatePipelineStatement
CREATE PIPELINE financial_processing AS
WITH validated_transactions AS (SELECT * FROM transactions WHERE amount > 0 AND status = 'valid')
INSERT INTO kafka_2pc
SELECT * FROM validated_transactions;
-- accept: CreatePipelineStatement
CREATE PIPELINE fan_out AS
WITH processed AS (SELECT *, CASE WHEN is_valid(data) THEN 'main' ELSE 'dlq' END as target FROM source_events)
INSERT INTO kafka_main_sink SELECT * FROM processed WHERE target = 'main'
UNION ALL
INSERT INTO kafka_dlq_sink SELECT * FROM processed WHERE target = 'dlq';
-- accept: CreatePipelineStatement
CREATE PIPELINE add_headers AS
INSERT INTO kafka_with_headers
SELECT *, MAP {'source': 'laminar', 'timestamp': CAST(NOW() AS STRING), 'correlation_id': UUID()} as _kafka_headers
FROM events;
-- accept: CreatePipelineStatement
CREATE PIPELINE unions AS INSERT INTO out SELECT a FROM src WHERE a > 1 UNION ALL SELECT a FROM src WHERE a < 0
-- accept: AlterPipelineStatement
ALTER PIPELINE process_events PAUSE
-- accept: AlterPipelineStatement
alter pipeline process_events resume
-- accept: DropStatement
DROP PIPELINE IF EXISTS process_events
-- accept: ShowObjectsStatement
SHOW PIPELINES
-- accept: ExplainPipelineStatement
EXPLAIN PIPELINE process_events
-- accept: ExplainPipelineStatement
EXPLAIN CREATE PIPELINE p AS INSERT INTO out SELECT * FROM src
-- accept: DeclareCursorStatement
DECLARE "SQL_CUR0x1" CURSOR WITH HOLD FOR SELECT relname FROM pg_catalog.pg_class
-- accept: DeclareCursorStatement
DECLARE c NO SCROLL CURSOR WITHOUT HOLD FOR SELECT 1
-- accept: FetchStatement
FETCH 2048 IN "SQL_CUR0x1"
-- accept: FetchStatement
FETCH ALL FROM c
-- accept: FetchStatement
MOVE FORWARD 3 c
-- accept: SelectStatement
SELECT 1 AS select, t.objectname AS table FROM t
-- accept: SelectStatement
SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.~) '^(public)$' COLLATE pg_catalog.default
