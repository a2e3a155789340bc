from sqlalchemy import text

def count_for(session, tenant):
    return session.execute(text("SELECT count(*) FROM events WHERE tenant = :t"), {"t": tenant}).scalar()
