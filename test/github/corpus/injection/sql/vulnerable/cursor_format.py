def by_name(db, name):
    query = "SELECT * FROM people WHERE name = '{}'".format(name)
    return db.execute(query).fetchall()
