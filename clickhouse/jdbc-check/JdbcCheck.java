// Runs statements and Metabase's sync calls through the ClickHouse JDBC driver (jdbc-v2).
//
// java -cp 'libs/*' JdbcCheck.java URL USER PASSWORD < statements
//
// stdin: statements separated by lines holding only ";;". For each one, stdout gets
//   "#columns" name<TAB>type ... then the rows (tab-separated, NULL as \N), then "#end <rows>",
//   or "#error <message on one line>".
// A statement "!metadata" lists, as Metabase's sync does through DatabaseMetaData, the
// schemas, the tables of the connection's database and the columns of each table.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

public class JdbcCheck {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        props.setProperty("password", args[2]);
        List<String> statements = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.equals(";;")) {
                statements.add(current.toString());
                current.setLength(0);
            } else {
                current.append(line).append('\n');
            }
        }
        if (current.toString().strip().length() > 0) {
            statements.add(current.toString());
        }
        try (Connection conn = DriverManager.getConnection(args[0], props)) {
            System.out.println("#connected " + conn.getMetaData().getDatabaseProductVersion()
                + " " + conn.getMetaData().getDriverVersion() + " schema=" + conn.getSchema());
            for (String sql : statements) {
                try {
                    if (sql.strip().equals("!metadata")) {
                        metadata(conn.getMetaData(), conn.getSchema());
                    } else {
                        run(conn, sql);
                    }
                } catch (SQLException e) {
                    System.out.println("#error " + String.valueOf(e.getMessage()).replace('\n', ' '));
                }
            }
        }
    }

    static void run(Connection conn, String sql) throws SQLException {
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            print(rs);
        }
    }

    static void print(ResultSet rs) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        StringBuilder head = new StringBuilder("#columns");
        for (int i = 1; i <= md.getColumnCount(); i++) {
            head.append(i == 1 ? " " : "\t").append(md.getColumnLabel(i)).append(' ').append(md.getColumnTypeName(i));
        }
        System.out.println(head);
        int rows = 0;
        while (rs.next()) {
            StringBuilder row = new StringBuilder();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                String value = rs.getString(i);
                row.append(i == 1 ? "" : "\t").append(value == null ? "\\N" : value.replace("\t", "\\t").replace("\n", "\\n"));
            }
            System.out.println(row);
            rows++;
        }
        System.out.println("#end " + rows);
    }

    static void metadata(DatabaseMetaData meta, String schema) throws SQLException {
        try (ResultSet rs = meta.getSchemas()) {
            int n = 0;
            while (rs.next()) n++;
            System.out.println("#schemas " + n);
        }
        List<String> tables = new ArrayList<>();
        try (ResultSet rs = meta.getTables(null, schema, "%", null)) {
            while (rs.next()) tables.add(rs.getString("TABLE_NAME"));
        }
        System.out.println("#tables " + String.join(",", tables));
        for (String table : tables) {
            int n = 0;
            try (ResultSet rs = meta.getColumns(null, schema, table, "%")) {
                while (rs.next()) n++;
            }
            System.out.println("#columns-of " + table + " " + n);
        }
        System.out.println("#end-metadata");
    }
}
