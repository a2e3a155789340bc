from sqlalchemy import text

def count_for(session, tenant):
    return session.execute(text(f"SELECT count(*) FROM events WHERE tenant = '{tenant}'")).scalar()
