"""Continuous pipelines against the real broker and real gateway processes, checked on what Kafka stored.

Every test produces known JSON records to a fresh source topic, runs ``CREATE PIPELINE`` through
psycopg and compares what the sink topic holds, record by record, with what the test computes from
its own input; ``system.pipelines`` (counters, lag, last commit, delivery), ``SHOW PIPELINES`` and
``EXPLAIN`` are checked alongside, and statements that must fail are checked for their SQLSTATE and
for leaving nothing behind. Covered: a stateless pipeline (projection, WHERE, CASE, TO_JSON) that
keeps flowing; PAUSE / RESUME; CREATE / DROP / SHOW / EXPLAIN and the dependency on connections;
errors found at CREATE time; resuming after a gateway restart; the source's error policies; the
fan-out form; exactly-once delivery through a transactional sink.

Nothing here sleeps to synchronise: tests poll (:func:`tests.fixtures.pipelines.wait_for`) with a
deadline. Showing that a paused or dropped pipeline writes nothing cannot be done by waiting for
something to happen, so those tests run a *witness*: a second pipeline reading the same records into
a sink of its own; once it has written them all, the pipeline under test has had every chance to
write them too, and its output must not have grown.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from tests.fixtures.consume import (
    COMMIT,
    ConsumedRecord,
    StoredBatch,
    create_sink,
    poll_records,
    read_batches,
    read_records,
    run_sql,
    sql_error,
    unique,
)
from tests.fixtures.kafka import KafkaBroker, running_kafka_broker
from tests.fixtures.pipelines import (
    committed_offsets,
    json_source,
    pipeline_row,
    produce_json,
    produce_raw,
    shown_pipelines,
    wait_for,
    wait_for_pipeline,
)
from tests.integration.conftest import CatalogGateway, CatalogStoreTarget, gateway_on

pytestmark = pytest.mark.integration

PARTITIONS = 3
FAST = "WITH (commit_interval_ms = '100 ms', batch_ms = '20 ms')"
EVENT_COLUMNS = "id BIGINT, user_id TEXT, kind TEXT, amount DOUBLE PRECISION, attrs JSONB"
# Output rows that say which source record they come from.
TRACED_SELECT = "SELECT id, _kafka_partition AS src_partition, _kafka_offset AS src_offset FROM {source}"


def events(start: int, count: int) -> list[dict[str, object]]:
    """Input events with ids start..start+count-1; event ``i`` goes to partition ``i % 3``."""
    return [
        {
            "id": i,
            "user_id": f"u{i % 4}",
            "kind": "view" if i % 3 == 0 else "purchase",
            "amount": 1.25 * i,
            "attrs": {"n": i, "tags": ["a", f"t{i}"], "nested": {"even": i % 2 == 0}},
        }
        for i in range(start, start + count)
    ]


def placed(produced: Sequence[dict[str, object]]) -> list[tuple[int, int, dict[str, object]]]:
    """(partition, offset, event) of every event produced, in order, to a fresh topic."""
    next_offset = dict.fromkeys(range(PARTITIONS), 0)
    where = []
    for event in produced:
        partition = int(str(event["id"])) % PARTITIONS
        where.append((partition, next_offset[partition], event))
        next_offset[partition] += 1
    return where


def values(records: Sequence[ConsumedRecord]) -> list[dict[str, object]]:
    return [orjson.loads(record.value or b"null") for record in records]


def by_source_partition(rows: Sequence[dict[str, object]]) -> dict[int, list[dict[str, object]]]:
    """Output rows grouped by the source partition they name (``src_partition``), in output order."""
    grouped: dict[int, list[dict[str, object]]] = {}
    for row in rows:
        grouped.setdefault(int(str(row["src_partition"])), []).append(row)
    return grouped


async def sink(gateway: CatalogGateway, broker: KafkaBroker, options: str = "") -> tuple[str, str]:
    """A json sink connection on a fresh one-partition topic (so output order is one order)."""
    return await create_sink(gateway.endpoint, broker.bootstrap_servers, prefix="plout", options=options)


async def source(gateway: CatalogGateway, broker: KafkaBroker, options: str = "") -> tuple[str, str]:
    """A json source connection with EVENT_COLUMNS on a fresh 3-partition topic."""
    return await json_source(
        gateway.endpoint, broker.bootstrap_servers, prefix="plsrc", columns=EVENT_COLUMNS, options=options
    )


async def create_pipeline(gateway: CatalogGateway, name: str, body: str, with_: str = FAST) -> None:
    outcome = await run_sql(gateway.endpoint, f"CREATE PIPELINE {name} {with_} AS {body}")
    assert outcome.status == "CREATE PIPELINE"
    assert outcome.notices == []


async def drop_pipeline(gateway: CatalogGateway, name: str) -> None:
    assert (await run_sql(gateway.endpoint, f"DROP PIPELINE {name}")).status == "DROP PIPELINE"


async def explained(gateway: CatalogGateway, sql: str) -> list[str]:
    """The lines of an EXPLAIN [CREATE] PIPELINE."""
    outcome = await run_sql(gateway.endpoint, sql)
    assert outcome.status == "EXPLAIN"
    return [str(line) for (line,) in outcome.rows]


async def witness_reads(gateway: CatalogGateway, broker: KafkaBroker, source_name: str, count: int) -> None:
    """A second pipeline reads ``source_name`` from the start into a sink of its own; returns once it has
    written ``count`` records, and drops it."""
    name = unique("witness").replace("-", "_")
    out, topic = await sink(gateway, broker)
    await create_pipeline(gateway, name, f"INSERT INTO {out} SELECT _kafka_offset AS o FROM {source_name}")
    await poll_records(broker.bootstrap_servers, topic, count)
    await drop_pipeline(gateway, name)


def offsets_per_partition(rows: Sequence[dict[str, object]]) -> dict[int, list[int]]:
    return {p: [int(str(r["src_offset"])) for r in group] for p, group in by_source_partition(rows).items()}


def every_offset(produced: int) -> dict[int, list[int]]:
    """partition -> offsets 0.. of ``produced`` events spread over the partitions by id."""
    counts = [len(range(p, produced, PARTITIONS)) for p in range(PARTITIONS)]
    return {p: list(range(counts[p])) for p in range(PARTITIONS) if counts[p]}


# --- 1. a stateless pipeline ----------------------------------------------------------------------
def transformed(partition: int, offset: int, event: dict[str, object]) -> dict[str, object] | None:
    """What the pipeline of test_stateless_pipeline_transforms_every_record makes of one event."""
    if event["kind"] != "purchase":
        return None
    amount = float(str(event["amount"]))
    return {
        "id": event["id"],
        "user_name": str(event["user_id"]).upper(),
        "size": "big" if amount >= 10 else "small",
        "doubled": amount * 2,
        "attrs": event["attrs"],
        "src_partition": partition,
        "src_offset": offset,
    }


STATELESS_SELECT = (
    "SELECT id, upper(user_id) AS user_name, "
    "CASE WHEN amount >= 10 THEN 'big' ELSE 'small' END AS size, amount * 2 AS doubled, "
    "TO_JSON(attrs) AS attrs, _kafka_partition AS src_partition, _kafka_offset AS src_offset "
    "FROM {source} WHERE kind = 'purchase'"
)


async def test_stateless_pipeline_transforms_every_record(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    src, src_topic = await source(sink_gateway, kafka_broker)
    out, out_topic = await sink(sink_gateway, kafka_broker)
    produced = events(0, 30)
    await produce_json(bootstrap, src_topic, produced, PARTITIONS)
    name = unique("stateless").replace("-", "_")
    before = dt.datetime.now(dt.UTC)
    await create_pipeline(sink_gateway, name, f"INSERT INTO {out} " + STATELESS_SELECT.format(source=src))

    def expected() -> dict[int, list[dict[str, object]]]:
        rows = [row for where in placed(produced) if (row := transformed(*where)) is not None]
        return by_source_partition(rows)

    wanted = sum(len(rows) for rows in expected().values())
    assert wanted == 20  # ids not divisible by 3
    got = values(await poll_records(bootstrap, out_topic, wanted))
    assert by_source_partition(got) == expected()  # row by row, in source offset order per partition
    row = await wait_for_pipeline(
        sink_gateway.endpoint,
        name,
        lambda r: (r.rows_in, r.rows_out, r.lag) == (30, 20, 0) and r.last_commit is not None,
        what="30 in, 20 out, lag 0, committed",
    )
    assert (row.state, row.source, row.sinks, row.error) == ("running", src, [out], None)
    assert (row.rows_dropped, row.rows_dead_lettered, row.delivery) == (0, 0, "at-least-once")
    assert row.last_commit is not None
    assert row.last_commit >= before
    assert row.sql.startswith(f"CREATE PIPELINE {name} ")

    # Continuous: records produced after the pipeline started flow too.
    produced += events(30, 15)
    await produce_json(bootstrap, src_topic, produced[30:], PARTITIONS)
    wanted = sum(len(rows) for rows in expected().values())
    got = values(await poll_records(bootstrap, out_topic, wanted))
    assert by_source_partition(got) == expected()
    await wait_for_pipeline(
        sink_gateway.endpoint,
        name,
        lambda r: (r.rows_in, r.rows_out, r.lag) == (45, wanted, 0),
        what=f"45 in, {wanted} out, lag 0",
    )
    await drop_pipeline(sink_gateway, name)


# --- 2. pause and resume ----------------------------------------------------------------------------
async def test_pause_holds_records_and_resume_delivers_each_once(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    endpoint = sink_gateway.endpoint
    src, src_topic = await source(sink_gateway, kafka_broker)
    out, out_topic = await sink(sink_gateway, kafka_broker)
    name = unique("paused").replace("-", "_")
    group = unique("pl-group")
    body = f"INSERT INTO {out} " + TRACED_SELECT.format(source=src)
    await create_pipeline(
        sink_gateway,
        name,
        body,
        f"WITH (group_id = '{group}', commit_interval_ms = '100 ms', batch_ms = '20 ms')",
    )
    await produce_json(bootstrap, src_topic, events(0, 9), PARTITIONS)
    await poll_records(bootstrap, out_topic, 9)

    assert (await run_sql(endpoint, f"ALTER PIPELINE {name} PAUSE")).status == "ALTER PIPELINE"
    row = await pipeline_row(endpoint, name)
    assert row is not None
    assert row.state == "paused"
    assert (await shown_pipelines(endpoint))[name] == ("paused", src, out, None)
    # A clean pause commits what was written: the group stands at the end of every partition.
    assert await committed_offsets(bootstrap, group, src_topic, PARTITIONS) == {0: 3, 1: 3, 2: 3}

    await produce_json(bootstrap, src_topic, events(9, 9), PARTITIONS)
    await witness_reads(sink_gateway, kafka_broker, src, 18)
    assert len(await read_records(bootstrap, out_topic)) == 9  # nothing flowed while paused
    assert await committed_offsets(bootstrap, group, src_topic, PARTITIONS) == {0: 3, 1: 3, 2: 3}
    row = await pipeline_row(endpoint, name)
    assert row is not None
    assert row.state == "paused"

    assert (await run_sql(endpoint, f"ALTER PIPELINE {name} RESUME")).status == "ALTER PIPELINE"
    got = values(await poll_records(bootstrap, out_topic, 18))
    assert offsets_per_partition(got) == every_offset(18)  # each record once, in order per partition
    assert sorted(int(str(r["id"])) for r in got) == list(range(18))
    # The resumed run started from the committed offsets: it read only the 9 records of the pause.
    row = await wait_for_pipeline(
        endpoint,
        name,
        lambda r: (r.state, r.rows_in, r.rows_out, r.lag) == ("running", 9, 9, 0),
        what="resumed",
    )
    await drop_pipeline(sink_gateway, name)


# --- 3. DDL: CREATE / SHOW / EXPLAIN / DROP, and connections in use ----------------------------------
async def test_create_twice_show_explain_and_drop(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    endpoint = sink_gateway.endpoint
    src, src_topic = await source(sink_gateway, kafka_broker)
    out, out_topic = await sink(sink_gateway, kafka_broker, "key_field = 'user_id'")
    name = unique("ddl").replace("-", "_")
    body = f"INSERT INTO {out} SELECT id, user_id FROM {src} WHERE amount > 1"
    await create_pipeline(sink_gateway, name, body)

    error = await sql_error(endpoint, f"CREATE PIPELINE {name} AS {body}")
    assert error.sqlstate == "42710"
    again = await run_sql(endpoint, f"CREATE PIPELINE IF NOT EXISTS {name} AS {body}")
    assert again.status == "CREATE PIPELINE"
    assert again.notices == [f'pipeline "{name}" already exists, skipping']
    assert (await shown_pipelines(endpoint))[name] == ("running", src, out, None)

    plan = await explained(sink_gateway, f"EXPLAIN PIPELINE {name}")
    assert plan[0] == f"Pipeline {name}"
    assert plan[1] == "  Delivery: at-least-once (offsets committed after the sinks acknowledged the records)"
    assert plan[2].startswith(
        f'  Source: {src} (Kafka topic "{src_topic}", format json, start_offset earliest'
    )
    assert f"consumer group laminar-pipeline-{name}-" in plan[2]
    assert f"  Output 1: sink {out} (Kafka topic {out_topic}, format json, key_field user_id)" in plan
    assert "    Columns: id int8, user_id text" in plan
    assert f"    DuckDB: SELECT id, user_id FROM {src} WHERE amount > 1" in plan

    assert (await run_sql(endpoint, f"DROP PIPELINE {name}")).status == "DROP PIPELINE"
    assert (await sql_error(endpoint, f"ALTER PIPELINE {name} PAUSE")).sqlstate == "42704"
    assert name not in await shown_pipelines(endpoint)
    assert await pipeline_row(endpoint, name) is None
    assert (await sql_error(endpoint, f"DROP PIPELINE {name}")).sqlstate == "42704"
    gone = await run_sql(endpoint, f"DROP PIPELINE IF EXISTS {name}")
    assert (gone.status, gone.notices) == ("DROP PIPELINE", [f'pipeline "{name}" does not exist, skipping'])
    # Dropped means stopped: records produced now are read by a witness, not by the dropped pipeline.
    await produce_json(kafka_broker.bootstrap_servers, src_topic, events(0, 6), PARTITIONS)
    await witness_reads(sink_gateway, kafka_broker, src, 6)
    assert await read_records(kafka_broker.bootstrap_servers, out_topic) == []


async def test_explain_create_pipeline_creates_nothing(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    endpoint = sink_gateway.endpoint
    src, _ = await source(sink_gateway, kafka_broker)
    out, out_topic = await sink(sink_gateway, kafka_broker, f"'transactional.id' = '{unique('explain')}'")
    name = unique("explained").replace("-", "_")
    plan = await explained(
        sink_gateway,
        f"EXPLAIN CREATE PIPELINE {name} WITH (batch_rows = 500, group_id = 'g-{name}') AS "
        f"INSERT INTO {out} SELECT id, amount * 2 AS doubled FROM {src}",
    )
    assert plan[0] == f"Pipeline {name}"
    assert plan[1] == (
        f"  Delivery: exactly-once (Kafka transactions of sink {out}, offsets committed in them)"
    )
    assert plan[2].endswith(f"consumer group g-{name})")
    assert "  Micro-batches: up to 500 records or 100 ms; commit every 1000 ms" in plan
    assert f"  Output 1: sink {out} (Kafka topic {out_topic}, format json)" in plan
    assert "    Columns: id int8, doubled float8" in plan
    assert f"    DuckDB: SELECT id, amount * 2 AS doubled FROM {src}" in plan
    assert name not in await shown_pipelines(endpoint)
    assert (await sql_error(endpoint, f"EXPLAIN PIPELINE {name}")).sqlstate == "42704"


async def test_connection_in_use_is_dropped_only_with_cascade(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    endpoint = sink_gateway.endpoint
    bootstrap = kafka_broker.bootstrap_servers
    src, src_topic = await source(sink_gateway, kafka_broker)
    out, out_topic = await sink(sink_gateway, kafka_broker)
    name = unique("cascade").replace("-", "_")
    await create_pipeline(sink_gateway, name, f"INSERT INTO {out} SELECT id FROM {src}")
    await produce_json(bootstrap, src_topic, events(0, 6), PARTITIONS)
    await poll_records(bootstrap, out_topic, 6)

    for connection in (src, out):
        assert (await sql_error(endpoint, f"DROP CONNECTION {connection}")).sqlstate == "2BP01"
    assert (await shown_pipelines(endpoint))[name] == ("running", src, out, None)

    dropped = await run_sql(endpoint, f"DROP CONNECTION {src} CASCADE")
    assert dropped.status == "DROP CONNECTION"
    assert dropped.notices == [f'drop cascades to pipeline "{name}"']
    assert name not in await shown_pipelines(endpoint)
    assert await pipeline_row(endpoint, name) is None
    # Stopped: a witness on a new source over the same topic reads the new records; the output stays.
    await produce_json(bootstrap, src_topic, events(6, 6), PARTITIONS)
    again, _ = await json_source(endpoint, bootstrap, prefix="plsrc", columns=EVENT_COLUMNS, topic=src_topic)
    await witness_reads(sink_gateway, kafka_broker, again, 12)
    assert len(await read_records(bootstrap, out_topic)) == 6


# --- 4. errors at CREATE ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
async def error_connections(sink_gateway: CatalogGateway, kafka_broker: KafkaBroker) -> dict[str, str]:
    """Connections the CREATE errors refer to, by role."""
    bootstrap = kafka_broker.bootstrap_servers
    src, _ = await source(sink_gateway, kafka_broker)
    other, _ = await source(sink_gateway, kafka_broker)
    out, _ = await sink(sink_gateway, kafka_broker)
    keyed, _ = await sink(sink_gateway, kafka_broker, "key_field = 'user_id'")
    tx_a, _ = await sink(sink_gateway, kafka_broker, f"'transactional.id' = '{unique('tx-a')}'")
    tx_b, _ = await sink(sink_gateway, kafka_broker, f"'transactional.id' = '{unique('tx-b')}'")
    missing, missing_topic = await json_source(
        sink_gateway.endpoint,
        bootstrap,
        prefix="plnotopic",
        columns="id BIGINT",
        topic=unique("no-such-topic"),
    )
    return {
        "src": src,
        "other": other,
        "out": out,
        "keyed": keyed,
        "tx_a": tx_a,
        "tx_b": tx_b,
        "missing": missing,
        "missing_topic": missing_topic,
    }


@dataclass(frozen=True)
class CreateError:
    """A CREATE PIPELINE that must fail: its body (and WITH clause), SQLSTATE and a fragment of the message;
    ``{role}`` placeholders name the connections of ``error_connections``."""

    sqlstate: str
    body: str
    fragment: str
    with_: str = ""


SELECT_ID = "INSERT INTO {out} SELECT id FROM {src}"
CREATE_ERRORS = {
    "unknown column": CreateError("42703", "INSERT INTO {out} SELECT id, nope FROM {src}", '"nope"'),
    "unknown connection": CreateError(
        "42P01",
        "INSERT INTO {out} SELECT id FROM no_such_connection",
        'relation "no_such_connection" does not exist',
    ),
    "reads a sink": CreateError(
        "42809", "INSERT INTO {out} SELECT * FROM {keyed}", 'connection "{keyed}" is a sink'
    ),
    "inserts into a source": CreateError(
        "42809", "INSERT INTO {other} SELECT id FROM {src}", 'connection "{other}" is a source'
    ),
    "GROUP BY": CreateError(
        "0A000",
        "INSERT INTO {out} SELECT kind, count(*) AS n FROM {src} GROUP BY kind",
        "GROUP BY in a continuous pipeline is not supported",
    ),
    "count(*)": CreateError(
        "0A000",
        "INSERT INTO {out} SELECT count(*) AS n FROM {src}",
        "aggregate functions in a continuous pipeline",
    ),
    "join of two sources": CreateError(
        "0A000",
        "INSERT INTO {out} SELECT a.id FROM {src} a JOIN {other} b ON a.id = b.id",
        "JOIN in a continuous pipeline",
    ),
    "union of two sources": CreateError(
        "0A000",
        "INSERT INTO {out} SELECT id FROM {src} UNION ALL SELECT id FROM {other}",
        "a pipeline reads one source connection, this one reads 2",
    ),
    "key_field not produced": CreateError(
        "42703", "INSERT INTO {keyed} SELECT id, kind FROM {src}", 'takes key_field "user_id"'
    ),
    "unknown WITH option": CreateError("42704", SELECT_ID, "batch_rowz", "WITH (batch_rowz = 5)"),
    "batch_rows 0": CreateError("22023", SELECT_ID, "batch_rows", "WITH (batch_rows = 0)"),
    "batch_ms not a duration": CreateError("22023", SELECT_ID, "batch_ms", "WITH (batch_ms = 'soon')"),
    "source topic missing": CreateError(
        "42704",
        "INSERT INTO {out} SELECT id FROM {missing}",
        'Kafka topic "{missing_topic}" of source "{missing}" does not exist',
    ),
    "two transactional sinks": CreateError(
        "0A000",
        "INSERT INTO {tx_a} SELECT id FROM {src} UNION ALL INSERT INTO {tx_b} SELECT id FROM {src}",
        "can write exactly-once to one transactional sink",
    ),
}


@pytest.mark.parametrize("case", list(CREATE_ERRORS.values()), ids=list(CREATE_ERRORS))
async def test_create_errors_leave_nothing(
    sink_gateway: CatalogGateway, error_connections: dict[str, str], case: CreateError
) -> None:
    endpoint = sink_gateway.endpoint
    name = unique("bad").replace("-", "_")
    body = case.body.format(**error_connections)
    error = await sql_error(endpoint, f"CREATE PIPELINE {name} {case.with_} AS {body}")
    assert error.sqlstate == case.sqlstate, error
    assert case.fragment.format(**error_connections) in str(error.diag.message_primary)
    assert name not in await shown_pipelines(endpoint)
    assert await pipeline_row(endpoint, name) is None


# --- 5. restart --------------------------------------------------------------------------------------
async def test_pipeline_resumes_after_gateway_restart(
    tmp_path_factory: pytest.TempPathFactory, kafka_broker: KafkaBroker
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    data_dir = tmp_path_factory.mktemp("gw-pipeline-restart")
    store = CatalogStoreTarget("sqlite")
    name = unique("restart").replace("-", "_")
    group = unique("pl-restart")
    with gateway_on(data_dir, store) as first:
        src, src_topic = await source(first, kafka_broker)
        out, out_topic = await sink(first, kafka_broker)
        await create_pipeline(
            first,
            name,
            f"INSERT INTO {out} " + TRACED_SELECT.format(source=src),
            f"WITH (group_id = '{group}', commit_interval_ms = '100 ms', batch_ms = '20 ms')",
        )
        await produce_json(bootstrap, src_topic, events(0, 12), PARTITIONS)
        await poll_records(bootstrap, out_topic, 12)
    # SIGTERM: the pipeline committed what its sink acknowledged before the gateway exited.
    assert await committed_offsets(bootstrap, group, src_topic, PARTITIONS) == {0: 4, 1: 4, 2: 4}
    await produce_json(bootstrap, src_topic, events(12, 9), PARTITIONS)  # while no gateway runs

    with gateway_on(data_dir, store) as second:
        got = values(await poll_records(bootstrap, out_topic, 21))
        assert offsets_per_partition(got) == every_offset(21)  # every record exactly once, in order
        row = await wait_for_pipeline(
            second.endpoint,
            name,
            lambda r: (r.state, r.rows_in, r.rows_out, r.lag) == ("running", 9, 9, 0),
            what="resumed from the committed offsets",
        )
        assert (row.source, row.sinks, row.error) == (src, [out], None)
        await drop_pipeline(second, name)


# --- 6. the source's error policies -------------------------------------------------------------------
async def test_error_policy_fail_stops_at_the_record(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    endpoint = sink_gateway.endpoint
    src, src_topic = await source(sink_gateway, kafka_broker, "error_policy = 'fail'")
    out, out_topic = await sink(sink_gateway, kafka_broker)
    name = unique("failing").replace("-", "_")
    group = unique("pl-fail")
    await create_pipeline(
        sink_gateway,
        name,
        f"INSERT INTO {out} SELECT id FROM {src}",
        f"WITH (group_id = '{group}', commit_interval_ms = '100 ms', batch_ms = '20 ms')",
    )
    await produce_json(bootstrap, src_topic, events(0, 6), PARTITIONS)
    await poll_records(bootstrap, out_topic, 6)
    await wait_for(
        lambda: committed_offsets(bootstrap, group, src_topic, PARTITIONS),
        lambda offsets: offsets == {0: 2, 1: 2, 2: 2},
        what="the first records committed",
    )
    # Partition 1, offset 2 does not decode; good records follow it in the same partition.
    await produce_raw(bootstrap, src_topic, [(1, b"bad", b"{not json")])
    await produce_json(bootstrap, src_topic, [{"id": 7}, {"id": 10}], PARTITIONS)

    failed = await wait_for_pipeline(endpoint, name, lambda r: r.state == "failed", what="failed")
    assert failed.error is not None
    assert failed.error.startswith(
        f'22P02: could not decode the record at partition 1, offset 2 of Kafka topic "{src_topic}" '
        f'(connection "{src}")'
    ), failed.error
    assert (await shown_pipelines(endpoint))[name] == ("failed", src, out, failed.error)
    assert sorted(int(str(v["id"])) for v in values(await read_records(bootstrap, out_topic))) == list(
        range(6)
    )

    # RESUME retries from the committed offsets: the same record fails it again, nothing is written.
    assert (await run_sql(endpoint, f"ALTER PIPELINE {name} RESUME")).status == "ALTER PIPELINE"
    retried = await wait_for_pipeline(endpoint, name, lambda r: r.state == "failed", what="failed again")
    assert retried.error == failed.error
    assert retried.rows_in >= 1  # a new attempt, which read the bad record
    assert retried.rows_out == 0
    assert len(await read_records(bootstrap, out_topic)) == 6
    await drop_pipeline(sink_gateway, name)


async def test_error_policy_fail_delivers_what_precedes_the_record_in_its_micro_batch(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    """Good records and a bad one in one micro-batch: the good records before it are written and
    committed, so the pipeline stops exactly at the bad record (its offset is the committed one)."""
    bootstrap = kafka_broker.bootstrap_servers
    src, src_topic = await source(sink_gateway, kafka_broker, "error_policy = 'fail'")
    out, out_topic = await sink(sink_gateway, kafka_broker)
    await produce_raw(
        bootstrap,
        src_topic,
        [
            *[(0, None, b'{"id": 0}'), (0, None, b'{"id": 3}'), (0, None, b"{bad"), (0, None, b'{"id": 6}')],
            *[(1, None, b'{"id": 1}'), (2, None, b'{"id": 2}')],
        ],
    )
    name = unique("failing_batch").replace("-", "_")
    group = unique("pl-fail-batch")
    await run_sql(
        sink_gateway.endpoint,
        f"CREATE PIPELINE {name} WITH (group_id = '{group}') AS INSERT INTO {out} SELECT id FROM {src}",
    )
    failed = await wait_for_pipeline(
        sink_gateway.endpoint, name, lambda r: r.state == "failed", what="failed"
    )
    assert failed.error is not None
    assert "partition 0, offset 2" in failed.error
    assert sorted(int(str(v["id"])) for v in values(await read_records(bootstrap, out_topic))) == [0, 3]
    # The bad record is the next one to read; partitions after it in the micro-batch were not
    # processed and stay at their start.
    assert await committed_offsets(bootstrap, group, src_topic, PARTITIONS) == {0: 2, 1: 0, 2: 0}
    await drop_pipeline(sink_gateway, name)


async def test_a_sources_dead_letter_sink_is_a_dependency_of_its_pipelines(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    dlq, _ = await sink(sink_gateway, kafka_broker)
    src, _ = await source(sink_gateway, kafka_broker, f"error_policy = 'dlq', dlq_connection = '{dlq}'")
    out, _ = await sink(sink_gateway, kafka_broker)
    name = unique("dlq_dependency").replace("-", "_")
    await create_pipeline(sink_gateway, name, f"INSERT INTO {out} SELECT id FROM {src}")
    error = await sql_error(sink_gateway.endpoint, f"DROP CONNECTION {dlq}")
    assert error.sqlstate == "2BP01"
    row = await pipeline_row(sink_gateway.endpoint, name)
    assert row is not None
    assert row.sinks == [out, dlq]
    await drop_pipeline(sink_gateway, name)
    assert (await run_sql(sink_gateway.endpoint, f"DROP CONNECTION {dlq}")).status == "DROP CONNECTION"


async def test_error_policy_skip_counts_and_goes_on(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    src, src_topic = await source(sink_gateway, kafka_broker, "error_policy = 'skip'")
    out, out_topic = await sink(sink_gateway, kafka_broker)
    await produce_json(bootstrap, src_topic, events(0, 3), PARTITIONS)
    await produce_raw(bootstrap, src_topic, [(0, None, b"{not json"), (2, None, b'{"id": "seven"}')])
    await produce_json(bootstrap, src_topic, events(3, 3), PARTITIONS)
    name = unique("skipping").replace("-", "_")
    await create_pipeline(sink_gateway, name, f"INSERT INTO {out} SELECT id FROM {src}")
    got = values(await poll_records(bootstrap, out_topic, 6))
    assert sorted(int(str(v["id"])) for v in got) == list(range(6))
    row = await wait_for_pipeline(
        sink_gateway.endpoint,
        name,
        lambda r: (r.rows_in, r.rows_out, r.rows_dropped, r.lag) == (8, 6, 2, 0),
        what="8 in, 6 out, 2 dropped",
    )
    assert (row.state, row.error, row.rows_dead_lettered) == ("running", None, 0)
    await drop_pipeline(sink_gateway, name)


async def test_error_policy_dlq_sends_the_raw_record(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    dlq, dlq_topic = await sink(sink_gateway, kafka_broker)
    src, src_topic = await source(
        sink_gateway, kafka_broker, f"error_policy = 'dlq', dlq_connection = '{dlq}'"
    )
    out, out_topic = await sink(sink_gateway, kafka_broker)
    await produce_json(bootstrap, src_topic, events(0, 3), PARTITIONS)
    raw = b'{"id": "seven", "user_id": "x"}'
    await produce_raw(bootstrap, src_topic, [(2, b"the-key", raw)], headers=[("origin", b"test")])
    await produce_json(bootstrap, src_topic, events(3, 3), PARTITIONS)
    name = unique("deadletter").replace("-", "_")
    await create_pipeline(sink_gateway, name, f"INSERT INTO {out} SELECT id FROM {src}")

    got = values(await poll_records(bootstrap, out_topic, 6))
    assert sorted(int(str(v["id"])) for v in got) == list(range(6))
    (letter,) = await poll_records(bootstrap, dlq_topic, 1)
    assert (letter.key, letter.value) == (b"the-key", raw)
    headers = dict(letter.headers)
    assert headers["origin"] == b"test"
    assert headers["laminar.source.topic"] == src_topic.encode()
    assert headers["laminar.source.partition"] == b"2"
    assert headers["laminar.source.offset"] == b"1"  # after event 2 in partition 2
    assert headers["laminar.pipeline"] == name.encode()
    assert headers["laminar.sqlstate"] == b"22P02"
    assert headers["laminar.error"]
    assert [h for h, _ in letter.headers].count("laminar.error") == 1
    row = await wait_for_pipeline(
        sink_gateway.endpoint,
        name,
        lambda r: (r.rows_in, r.rows_out, r.rows_dead_lettered, r.lag) == (7, 6, 1, 0),
        what="7 in, 6 out, 1 dead-lettered",
    )
    assert (row.state, row.error, row.rows_dropped) == ("running", None, 0)
    await drop_pipeline(sink_gateway, name)


# --- 7. fan-out ---------------------------------------------------------------------------------------
async def test_fan_out_with_a_cte_feeds_each_sink(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    src, src_topic = await source(sink_gateway, kafka_broker)
    big, big_topic = await sink(sink_gateway, kafka_broker)
    small, small_topic = await sink(sink_gateway, kafka_broker)
    produced = events(0, 24)
    await produce_json(bootstrap, src_topic, produced, PARTITIONS)
    name = unique("fanout").replace("-", "_")
    await create_pipeline(
        sink_gateway,
        name,
        f"""WITH processed AS (
                SELECT id, amount, CASE WHEN amount >= 10 THEN 'big' ELSE 'small' END AS size
                FROM {src} WHERE kind = 'purchase'
            )
            INSERT INTO {big} SELECT id, amount FROM processed WHERE size = 'big'
            UNION ALL
            INSERT INTO {small} SELECT id, size FROM processed WHERE size = 'small'""",
    )
    purchases = [e for e in produced if e["kind"] == "purchase"]
    want_big = [{"id": e["id"], "amount": e["amount"]} for e in purchases if float(str(e["amount"])) >= 10]
    want_small = [{"id": e["id"], "size": "small"} for e in purchases if float(str(e["amount"])) < 10]
    assert (len(want_big), len(want_small)) == (11, 5)
    got_big = values(await poll_records(bootstrap, big_topic, len(want_big)))
    got_small = values(await poll_records(bootstrap, small_topic, len(want_small)))
    assert sorted(got_big, key=lambda v: int(str(v["id"]))) == want_big
    assert sorted(got_small, key=lambda v: int(str(v["id"]))) == want_small
    row = await wait_for_pipeline(
        sink_gateway.endpoint,
        name,
        lambda r: (r.rows_in, r.rows_out, r.lag) == (24, 16, 0),
        what="24 in, 16 out",
    )
    assert (row.source, row.sinks) == (src, [big, small])
    assert (await shown_pipelines(sink_gateway.endpoint))[name] == ("running", src, f"{big}, {small}", None)
    await drop_pipeline(sink_gateway, name)


# --- 8. exactly-once -----------------------------------------------------------------------------------
def committed_transactions(batches: Sequence[StoredBatch]) -> int:
    """How many transactions the batches hold; asserts every data batch is transactional and every
    transaction ends with a COMMIT marker (none aborted, none left open)."""
    transactions, open_ = 0, False
    for batch in batches:
        assert batch.transactional, batch
        if batch.control:
            assert batch.control_type == COMMIT, batch
            assert open_, f"a marker without data before it at offset {batch.base_offset}"
            transactions, open_ = transactions + 1, False
        else:
            open_ = True
    assert not open_, "the last transaction has no COMMIT marker"
    return transactions


async def test_exactly_once_pipeline_commits_transactions(
    sink_gateway: CatalogGateway, kafka_broker: KafkaBroker
) -> None:
    bootstrap = kafka_broker.bootstrap_servers
    src, src_topic = await source(sink_gateway, kafka_broker)
    out, out_topic = await sink(sink_gateway, kafka_broker, f"'transactional.id' = '{unique('pl-eos')}'")
    name = unique("eos").replace("-", "_")
    body = f"INSERT INTO {out} " + TRACED_SELECT.format(source=src)
    await create_pipeline(sink_gateway, name, body)
    await produce_json(bootstrap, src_topic, events(0, 15), PARTITIONS)

    def closed(count: int) -> Callable[[list[StoredBatch]], bool]:
        def done(batches: list[StoredBatch]) -> bool:
            data = sum(len(b.records) for b in batches if not b.control)
            return data >= count and bool(batches) and batches[-1].control

        return done

    batches = await wait_for(
        lambda: read_batches(bootstrap, out_topic), closed(15), what="15 records committed"
    )
    first = committed_transactions(batches)
    await produce_json(bootstrap, src_topic, events(15, 15), PARTITIONS)  # a later transaction
    batches = await wait_for(
        lambda: read_batches(bootstrap, out_topic), closed(30), what="30 records committed"
    )
    assert committed_transactions(batches) > first
    got = values([r for b in batches if not b.control for r in b.records])
    assert offsets_per_partition(got) == every_offset(30)  # exactly once, in order per partition
    assert len({(b.producer_id, b.producer_epoch) for b in batches}) == 1
    row = await wait_for_pipeline(
        sink_gateway.endpoint,
        name,
        lambda r: (r.rows_in, r.rows_out, r.lag) == (30, 30, 0),
        what="30 in, 30 out",
    )
    assert (row.delivery, row.state, row.error) == ("exactly-once", "running", None)
    await drop_pipeline(sink_gateway, name)


# --- 9. retries -----------------------------------------------------------------------------------------
@pytest.fixture
def doomed_broker(tmp_path: Path) -> Iterator[tuple[KafkaBroker, Callable[[], None]]]:
    """A second broker, and the function that kills it (SIGKILL) in the middle of a test."""
    with contextlib.ExitStack() as stack:
        yield stack.enter_context(running_kafka_broker(tmp_path / "doomed-broker")), stack.close


async def test_an_unreachable_sink_broker_is_retried_then_the_pipeline_fails(
    sink_gateway: CatalogGateway,
    kafka_broker: KafkaBroker,
    doomed_broker: tuple[KafkaBroker, Callable[[], None]],
) -> None:
    """The sink's broker goes away: the pipeline retries with back-off from its committed offsets,
    then, after max_retries attempts in a row, is left failed with the broker error visible and
    nothing committed past what was delivered."""
    bootstrap = kafka_broker.bootstrap_servers
    sink_broker, kill_sink_broker = doomed_broker
    src, src_topic = await source(sink_gateway, kafka_broker)
    name = unique("retrying").replace("-", "_")
    group = unique("pl-retry")
    out, out_topic = await create_sink(
        sink_gateway.endpoint,
        sink_broker.bootstrap_servers,
        prefix="plout",
        options="'delivery.timeout.ms' = '1500', 'request.timeout.ms' = '500'",
    )
    await create_pipeline(
        sink_gateway,
        name,
        f"INSERT INTO {out} SELECT id FROM {src}",
        f"WITH (group_id = '{group}', max_retries = 2, retry_backoff_ms = '50 ms', "
        "commit_interval_ms = '100 ms', batch_ms = '20 ms')",
    )
    await produce_json(bootstrap, src_topic, events(0, 6), PARTITIONS)
    assert len(await poll_records(sink_broker.bootstrap_servers, out_topic, 6)) == 6
    await wait_for(
        lambda: committed_offsets(bootstrap, group, src_topic, PARTITIONS),
        lambda offsets: offsets == {0: 2, 1: 2, 2: 2},
        what="the delivered records committed",
    )
    kill_sink_broker()
    await produce_json(bootstrap, src_topic, events(6, 3), PARTITIONS)  # records keep arriving
    failed = await wait_for_pipeline(
        sink_gateway.endpoint, name, lambda r: r.state == "failed", what="failed", deadline_s=60
    )
    assert failed.error is not None
    assert failed.error.startswith("08006"), failed.error
    assert await committed_offsets(bootstrap, group, src_topic, PARTITIONS) == {0: 2, 1: 2, 2: 2}
    await drop_pipeline(sink_gateway, name)
