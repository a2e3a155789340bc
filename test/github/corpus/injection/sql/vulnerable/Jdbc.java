import java.sql.*;

class Repo {
    ResultSet find(Connection conn, String user) throws SQLException {
        Statement st = conn.createStatement();
        return st.executeQuery("SELECT * FROM users WHERE name = '" + user + "'");
    }
}
