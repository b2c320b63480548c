from tests.api.test_audit import story
from tests.conftest import settle


def test_explore(client, services, clock):
    story(client, services, clock)
    settle(services)
    db = services.database
    with db.transaction(commit=False) as cursor:
        if db.kind == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            cursor.execute("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'")
        print([r["name"] for r in cursor.fetchall()])
        if db.kind != "sqlite":
            cursor.execute("SELECT column_name, data_type, table_name FROM information_schema.columns WHERE table_name like '%%events%%'")
            print(cursor.fetchall())
            cursor.execute("SELECT tgname, tgrelid::regclass FROM pg_trigger WHERE NOT tgisinternal")
            print(cursor.fetchall())
            t = "accountlifecycle_events"
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name like '%%events%%'")
            print(cursor.fetchall())
            t = "stored_events"
        cursor.execute(f"SELECT {'rowid AS notification_id, *' if db.kind == 'sqlite' else '*'} FROM {t} ORDER BY notification_id")
        for r in cursor.fetchall():
            print(r["notification_id"], r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"])[:400])
    assert False
