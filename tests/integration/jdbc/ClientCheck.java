/*
 * ClientCheck: drives the PostgreSQL JDBC driver (pgjdbc) against a PostgreSQL-compatible server
 * and prints what the driver sees, so tests/integration/test_jdbc.py can assert exact strings.
 *
 * Usage: java -cp postgresql.jar:CLASSES_DIR ClientCheck <jdbc-url> <user> <password-or-empty>
 *
 * Every checked value is printed on stdout as one "name=value" line, formatted by Java itself
 * (toString of the object the driver returns). Checks that need no printed value (a repeated
 * statement returning the same row, rows fetched through a cursor, the SQLSTATE of an error)
 * are also verified here: the first mismatch prints "CHECK FAILED: ..." on stderr and exits 1.
 * A failed connection prints "CONNECTION FAILED: SQLSTATE=<state> MESSAGE=<message>" and exits 1.
 */

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.JDBCType;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.TimeZone;
import java.util.UUID;

import org.postgresql.PGStatement;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

public final class ClientCheck {

    /** pgjdbc's default prepareThreshold is 5: the 5th execution onwards uses a named statement. */
    private static final int EXECUTIONS = 6;

    private static final String TYPED_PARAMETERS_SQL = "SELECT ?::int4 AS p_int4, ?::int8 AS p_int8, "
            + "?::text AS p_text, ?::numeric AS p_numeric, ?::bool AS p_bool, ?::float8 AS p_float8, "
            + "?::date AS p_date, ?::timestamp AS p_timestamp, ?::uuid AS p_uuid, ?::int4 AS p_null";

    private static final String RESULT_TYPES_SQL = "SELECT true AS v_bool, 32767::int2 AS v_int2, "
            + "2147483647::int4 AS v_int4, 9223372036854775807::int8 AS v_int8, 0.1::float4 AS v_float4, "
            + "0.1::float8 AS v_float8, 12345.6789::numeric AS v_numeric, 'plain text'::text AS v_text, "
            + "'varchar text'::varchar AS v_varchar, '\\xdeadbeef'::bytea AS v_bytea, "
            + "DATE '2024-02-29' AS v_date, TIME '12:34:56.789' AS v_time, "
            + "TIMESTAMP '2024-02-29 12:34:56.789' AS v_timestamp, "
            + "TIMESTAMPTZ '2024-02-29 12:34:56.789+00' AS v_timestamptz, "
            + "INTERVAL '1 day 02:03:04' AS v_interval, "
            + "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS v_uuid, "
            + "'{\"a\": 1, \"b\": [true, null]}'::json AS v_json, "
            + "ARRAY[1, 2, 3]::int4[] AS v_int4_array, ARRAY['x', 'y z']::text[] AS v_text_array, "
            + "NULL::text AS v_null";

    private static final String METADATA_SQL = "SELECT 1::int4 AS id, 'x'::text AS label, "
            + "2.50::numeric AS amount, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS created_at, "
            + "true AS flag, 'b1ffc999-9c0b-4ef8-bb6d-6bb9bd380a22'::uuid AS row_id, now()";

    private static final PrintStream OUT =
            new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);

    private ClientCheck() {}

    /** Raised by a check whose observed value differs from the expected one. */
    private static final class CheckFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CheckFailure(String message) {
            super(message);
        }
    }

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: ClientCheck <jdbc-url> <user> <password-or-empty>");
            System.exit(2);
        }
        // Makes timestamptz rendering deterministic: pgjdbc sends the JVM zone as the session TimeZone.
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        if (!args[2].isEmpty()) {
            props.setProperty("password", args[2]);
        }
        Connection conn;
        try {
            conn = DriverManager.getConnection(args[0], props);
        } catch (SQLException e) {
            System.err.println("CONNECTION FAILED: SQLSTATE=" + e.getSQLState() + " MESSAGE=" + e.getMessage());
            System.exit(1);
            return;
        }
        try (conn) {
            checkTypedParameters(conn);
            checkResultTypes(conn);
            checkCursorFetch(conn);
            checkErrors(conn);
            checkMetadata(conn);
        } catch (CheckFailure e) {
            System.err.println("CHECK FAILED: " + e.getMessage());
            System.exit(1);
        } catch (SQLException e) {
            System.err.println("UNEXPECTED SQLException: SQLSTATE=" + e.getSQLState() + " MESSAGE=" + e.getMessage());
            e.printStackTrace();
            System.exit(1);
        }
    }

    private static void print(String name, Object value) {
        OUT.println(name + "=" + value);
    }

    private static void expect(String what, Object expected, Object actual) {
        if (!expected.equals(actual)) {
            throw new CheckFailure(what + ": expected <" + expected + "> but got <" + actual + ">");
        }
    }

    /**
     * Binds one parameter of each common type and reads it back, EXECUTIONS times on one
     * PreparedStatement: the later executions run as a server-side named statement (and pgjdbc
     * may switch to binary transfer), and must return exactly what the first one returned.
     */
    private static void checkTypedParameters(Connection conn) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(TYPED_PARAMETERS_SQL)) {
            List<String> first = null;
            for (int execution = 1; execution <= EXECUTIONS; execution++) {
                ps.setInt(1, Integer.MIN_VALUE);
                ps.setLong(2, Long.MAX_VALUE);
                ps.setString(3, "héllo, wörld ✓ 'quoted'");
                ps.setBigDecimal(4, new BigDecimal("12345.6789"));
                ps.setBoolean(5, true);
                ps.setDouble(6, Math.PI);
                ps.setDate(7, Date.valueOf("2024-02-29"));
                ps.setTimestamp(8, Timestamp.valueOf("2024-02-29 12:34:56.789"));
                ps.setObject(9, UUID.fromString("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
                ps.setNull(10, Types.INTEGER);
                List<String> lines = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    expect("typed parameters: has a row", true, rs.next());
                    lines.add("p_int4=" + rs.getInt("p_int4"));
                    lines.add("p_int8=" + rs.getLong("p_int8"));
                    lines.add("p_text=" + rs.getString("p_text"));
                    lines.add("p_numeric=" + rs.getBigDecimal("p_numeric"));
                    lines.add("p_bool=" + rs.getBoolean("p_bool"));
                    lines.add("p_float8=" + rs.getDouble("p_float8"));
                    lines.add("p_date=" + rs.getDate("p_date"));
                    lines.add("p_timestamp=" + rs.getTimestamp("p_timestamp"));
                    lines.add("p_uuid=" + rs.getObject("p_uuid", UUID.class));
                    lines.add("p_null=" + rs.getObject("p_null") + " wasNull=" + rs.wasNull());
                    expect("typed parameters: exactly one row", false, rs.next());
                }
                first = sameAsFirst("typed parameters", execution, first, lines);
            }
            first.forEach(OUT::println);
            boolean serverPrepared = ps.unwrap(PGStatement.class).isUseServerPrepare();
            expect("typed parameters: server-side prepared after " + EXECUTIONS + " executions", true,
                    serverPrepared);
            print("typed_parameters_executions", EXECUTIONS);
            print("typed_parameters_server_prepared", serverPrepared);
        }
    }

    /** Reads one column of each supported result type, EXECUTIONS times on one PreparedStatement. */
    private static void checkResultTypes(Connection conn) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(RESULT_TYPES_SQL)) {
            List<String> first = null;
            for (int execution = 1; execution <= EXECUTIONS; execution++) {
                List<String> lines = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    expect("result types: has a row", true, rs.next());
                    readResultTypes(rs, lines);
                    expect("result types: exactly one row", false, rs.next());
                }
                first = sameAsFirst("result types", execution, first, lines);
            }
            first.forEach(OUT::println);
            print("result_types_server_prepared", ps.unwrap(PGStatement.class).isUseServerPrepare());
        }
    }

    private static void readResultTypes(ResultSet rs, List<String> lines) throws SQLException {
        lines.add("v_bool=" + rs.getBoolean("v_bool"));
        lines.add("v_int2=" + rs.getShort("v_int2"));
        lines.add("v_int4=" + rs.getInt("v_int4"));
        lines.add("v_int8=" + rs.getLong("v_int8"));
        lines.add("v_float4=" + rs.getFloat("v_float4"));
        lines.add("v_float8=" + rs.getDouble("v_float8"));
        lines.add("v_numeric=" + rs.getBigDecimal("v_numeric"));
        lines.add("v_text=" + rs.getString("v_text"));
        lines.add("v_varchar=" + rs.getString("v_varchar"));
        lines.add("v_bytea=" + HexFormat.of().formatHex(rs.getBytes("v_bytea")));
        lines.add("v_date=" + rs.getDate("v_date"));
        lines.add("v_time=" + rs.getObject("v_time", LocalTime.class));
        lines.add("v_timestamp=" + rs.getTimestamp("v_timestamp"));
        lines.add("v_timestamptz=" + rs.getObject("v_timestamptz", OffsetDateTime.class));
        lines.add("v_interval=" + rs.getString("v_interval"));
        lines.add("v_uuid=" + rs.getObject("v_uuid", UUID.class));
        lines.add("v_json=" + rs.getString("v_json"));
        Array ints = rs.getArray("v_int4_array");
        lines.add("v_int4_array=" + Arrays.toString((Object[]) ints.getArray()) + " base=" + ints.getBaseTypeName());
        Array texts = rs.getArray("v_text_array");
        lines.add("v_text_array=" + Arrays.toString((Object[]) texts.getArray()) + " base=" + texts.getBaseTypeName());
        lines.add("v_null=" + rs.getString("v_null") + " wasNull=" + rs.wasNull());
        // The Java class pgjdbc picks for getObject follows the type OID the server announced. Not for
        // interval: pgjdbc 42.5 has no built-in entry for OID 1186 and would query pg_type about it.
        ResultSetMetaData meta = rs.getMetaData();
        for (int column = 1; column <= meta.getColumnCount(); column++) {
            if ("v_interval".equals(meta.getColumnLabel(column))) {
                continue;
            }
            Object value = rs.getObject(column);
            String javaClass = value == null ? "null" : value.getClass().getTypeName();
            lines.add(meta.getColumnLabel(column) + ".class=" + javaClass);
        }
    }

    private static List<String> sameAsFirst(String what, int execution, List<String> first, List<String> lines) {
        if (first == null) {
            return lines;
        }
        expect(what + ": execution " + execution + " returns what execution 1 returned", first, lines);
        return first;
    }

    /**
     * With autocommit off and a fetch size, pgjdbc reads through a named portal in chunks of 10
     * rows (Execute with a row limit, answered by PortalSuspended until the last chunk).
     */
    private static void checkCursorFetch(Connection conn) throws SQLException {
        conn.setAutoCommit(false);
        long rows = 0;
        long sum = 0;
        try (Statement st = conn.createStatement()) {
            st.setFetchSize(10);
            try (ResultSet rs = st.executeQuery("SELECT * FROM generate_series(1, 100)")) {
                expect("cursor fetch: fetch size", 10, rs.getFetchSize());
                while (rs.next()) {
                    rows++;
                    sum += rs.getLong(1);
                }
            }
        }
        conn.commit();
        conn.setAutoCommit(true);
        expect("cursor fetch: rows", 100L, rows);
        expect("cursor fetch: sum", 5050L, sum);
        print("cursor_fetch_rows", rows);
        print("cursor_fetch_sum", sum);
    }

    /** A failing statement reports its SQLSTATE and leaves the connection usable. */
    private static void checkErrors(Connection conn) throws SQLException {
        try (Statement st = conn.createStatement()) {
            SQLException error = expectFailure(() -> st.executeQuery("SELECT 1/0").close());
            expect("statement error: SQLSTATE", "22012", error.getSQLState());
            printServerError("statement_error", error);
            try (ResultSet rs = st.executeQuery("SELECT 2")) {
                expect("statement error: next query has a row", true, rs.next());
                print("statement_error_then", rs.getInt(1));
            }
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT 10 / ?::int4")) {
            ps.setInt(1, 0);
            SQLException error = expectFailure(() -> ps.executeQuery().close());
            expect("prepared error: SQLSTATE", "22012", error.getSQLState());
            printServerError("prepared_error", error);
            ps.setInt(1, 5);
            try (ResultSet rs = ps.executeQuery()) {
                expect("prepared error: next execution has a row", true, rs.next());
                print("prepared_error_then", rs.getInt(1));
            }
        }
    }

    private interface SqlAction {
        void run() throws SQLException;
    }

    private static SQLException expectFailure(SqlAction action) {
        try {
            action.run();
        } catch (SQLException e) {
            return e;
        }
        throw new CheckFailure("expected an SQLException, the statement succeeded");
    }

    private static void printServerError(String prefix, SQLException error) {
        print(prefix + "_sqlstate", error.getSQLState());
        if (!(error instanceof PSQLException)) {
            throw new CheckFailure(prefix + ": not a PSQLException: " + error.getClass().getName());
        }
        ServerErrorMessage server = ((PSQLException) error).getServerErrorMessage();
        if (server == null) {
            throw new CheckFailure(prefix + ": no server ErrorResponse attached: " + error.getMessage());
        }
        print(prefix + "_severity", server.getSeverity());
        print(prefix + "_message", server.getMessage());
    }

    /** Column labels, PostgreSQL type names and JDBC types as pgjdbc derives them from RowDescription. */
    private static void checkMetadata(Connection conn) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(METADATA_SQL)) {
            ResultSetMetaData meta = rs.getMetaData();
            print("metadata_columns", meta.getColumnCount());
            for (int column = 1; column <= meta.getColumnCount(); column++) {
                print("metadata_" + column, meta.getColumnLabel(column) + " " + meta.getColumnTypeName(column)
                        + " " + JDBCType.valueOf(meta.getColumnType(column)).getName());
            }
            expect("metadata: has a row", true, rs.next());
        }
    }
}
