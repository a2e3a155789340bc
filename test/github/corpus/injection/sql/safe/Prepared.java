import java.sql.*;

class Repo {
    ResultSet find(Connection conn, String user) throws SQLException {
        PreparedStatement ps = conn.prepareStatement("SELECT * FROM users WHERE name = ?");
        ps.setString(1, user);
        return ps.executeQuery();
    }
}
