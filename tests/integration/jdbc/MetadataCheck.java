/*
 * MetadataCheck: what a JDBC-based BI tool (DBeaver, Metabase, Tableau's JDBC connector...) sees when it
 * browses a server through pgjdbc's DatabaseMetaData, printed as stable lines so
 * tests/integration/test_bi_jdbc.py can assert them against both Laminar and a real PostgreSQL.
 *
 * Usage: java -cp postgresql.jar:CLASSES_DIR MetadataCheck <jdbc-url> <user> <password-or-empty>
 *            <source-table>
 *
 * Every step prints "name=value" lines; lists whose order JDBC does not define are sorted here. A
 * step that throws prints "ERROR <step> <SQLState> <message>" (message on one line) and the program
 * goes on with the next step, so one missing catalog feature does not hide the others. A failed
 * connection prints "CONNECTION FAILED: SQLSTATE=<state> MESSAGE=<message>" on stderr and exits 1.
 */

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.JDBCType;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

public final class MetadataCheck {

    /** The types a BI tool's type mapping needs; getTypeInfo must list each. */
    private static final String[] TYPE_INFO_NAMES = {
        "int4", "int8", "text", "varchar", "float8", "bool", "timestamptz", "bytea"
    };

    private static final PrintStream OUT =
            new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);

    private MetadataCheck() {}

    /** One step: prints its lines, or throws and is reported as an ERROR line. */
    @FunctionalInterface
    private interface Step {
        void run() throws SQLException;
    }

    private static void step(String name, Step body) {
        try {
            body.run();
        } catch (SQLException e) {
            String message = String.valueOf(e.getMessage()).replace('\n', ' ').replace('\r', ' ');
            OUT.println("ERROR " + name + " " + e.getSQLState() + " " + message);
        } catch (RuntimeException e) {
            // pgjdbc turns some protocol surprises into unchecked exceptions: report them the same way.
            String message = String.valueOf(e.getMessage()).replace('\n', ' ').replace('\r', ' ');
            OUT.println("ERROR " + name + " " + e.getClass().getName() + " " + message);
        }
    }

    /** "BIGINT" for -5; the number itself for a vendor type JDBCType does not know. */
    private static String jdbcTypeName(int type) {
        try {
            return JDBCType.valueOf(type).getName();
        } catch (IllegalArgumentException e) {
            return Integer.toString(type);
        }
    }

    private static void printSorted(List<String> lines) {
        Collections.sort(lines);
        for (String line : lines) {
            OUT.println(line);
        }
    }

    public static void main(String[] args) {
        if (args.length != 4) {
            System.err.println(
                    "usage: MetadataCheck <jdbc-url> <user> <password-or-empty> <source-table>");
            System.exit(2);
        }
        String url = args[0];
        String sourceTable = args[3];
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        if (!args[2].isEmpty()) {
            props.setProperty("password", args[2]);
        }
        Connection conn;
        try {
            conn = DriverManager.getConnection(url, props);
        } catch (SQLException e) {
            System.err.println("CONNECTION FAILED: SQLSTATE=" + e.getSQLState() + " MESSAGE=" + e.getMessage());
            System.exit(1);
            return;
        }
        try (conn) {
            run(conn, sourceTable);
        } catch (SQLException e) {
            OUT.println("ERROR close " + e.getSQLState() + " " + e.getMessage());
        }
    }

    private static void run(Connection conn, String sourceTable) {
        DatabaseMetaData meta;
        try {
            meta = conn.getMetaData();
        } catch (SQLException e) {
            OUT.println("ERROR getMetaData " + e.getSQLState() + " " + e.getMessage());
            return;
        }

        step("product", () -> {
            OUT.println("product_name=" + meta.getDatabaseProductName());
            OUT.println("product_version=" + meta.getDatabaseProductVersion());
        });

        step("getSchemas", () -> {
            List<String> lines = new ArrayList<>();
            try (ResultSet rs = meta.getSchemas()) {
                while (rs.next()) {
                    lines.add("schema=" + rs.getString("TABLE_SCHEM"));
                }
            }
            printSorted(lines);
        });

        step("getTables_public", () -> {
            List<String> lines = new ArrayList<>();
            try (ResultSet rs = meta.getTables(null, "public", "%", new String[] {"TABLE", "VIEW"})) {
                while (rs.next()) {
                    lines.add("public_table=" + rs.getString("TABLE_NAME") + " " + rs.getString("TABLE_TYPE"));
                }
            }
            printSorted(lines);
        });

        step("getTables_system", () -> {
            List<String> lines = new ArrayList<>();
            try (ResultSet rs = meta.getTables(null, "system", "%", null)) {
                while (rs.next()) {
                    lines.add("system_table=" + rs.getString("TABLE_NAME") + " " + rs.getString("TABLE_TYPE"));
                }
            }
            printSorted(lines);
        });

        step("getColumns", () -> {
            // Ordered by ORDINAL_POSITION, the declared order a BI tool shows.
            try (ResultSet rs = meta.getColumns(null, "public", sourceTable, "%")) {
                int count = 0;
                while (rs.next()) {
                    count++;
                    int dataType = rs.getInt("DATA_TYPE");
                    OUT.println("column=" + rs.getString("COLUMN_NAME") + " " + rs.getString("TYPE_NAME") + " "
                            + jdbcTypeName(dataType) + " " + rs.getInt("ORDINAL_POSITION") + " "
                            + rs.getString("IS_NULLABLE"));
                }
                OUT.println("columns=" + count);
            }
        });

        step("getPrimaryKeys", () -> {
            int count = 0;
            try (ResultSet rs = meta.getPrimaryKeys(null, "public", sourceTable)) {
                while (rs.next()) {
                    count++;
                }
            }
            OUT.println("primary_keys=" + count);
        });

        step("getTypeInfo", () -> {
            Set<String> names = new TreeSet<>();
            try (ResultSet rs = meta.getTypeInfo()) {
                while (rs.next()) {
                    names.add(rs.getString("TYPE_NAME"));
                }
            }
            for (String name : TYPE_INFO_NAMES) {
                OUT.println("type_info " + name + "=" + names.contains(name));
            }
        });

        String query = "SELECT id, customer, amount, ts FROM " + sourceTable;
        step("query", () -> {
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(query)) {
                ResultSetMetaData md = rs.getMetaData();
                OUT.println("result_columns=" + md.getColumnCount());
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    OUT.println("result_column=" + md.getColumnLabel(i) + " " + md.getColumnTypeName(i) + " "
                            + jdbcTypeName(md.getColumnType(i)));
                }
                int rows = 0;
                while (rs.next()) {
                    rows++;
                }
                OUT.println("result_rows=" + rows);
            }
        });
    }
}
