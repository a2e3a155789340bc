def delete_item(conn, item_id):
    cur = conn.cursor()
    cur.execute("DELETE FROM items WHERE id = %s" % item_id)
    conn.commit()
