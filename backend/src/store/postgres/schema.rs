//! The PostgreSQL store's schema, and the migrations that bring a database
//! to it at start-up: the version is a row of `parley_schema`, and the
//! steps run under an advisory lock, so two servers starting together on a
//! new database apply each step once.

use postgres::Client;

/// Version 1: the whole schema the SQLite store reached in six steps.
/// Search needs no index table: `folded` holds the text lower-cased and
/// without accents, `search_id` orders hits (a new one for each edit).
const SCHEMA_V1: &str = "
    CREATE TABLE rooms (
        name     TEXT PRIMARY KEY,
        last_seq BIGINT NOT NULL
    );
    CREATE SEQUENCE search_ids;
    CREATE TABLE messages (
        room       TEXT NOT NULL,
        seq        BIGINT NOT NULL,
        nick       TEXT NOT NULL,
        text       TEXT NOT NULL,
        ts         BIGINT NOT NULL,
        cid        TEXT,
        reply_to   BIGINT,
        quote_nick TEXT,
        quote_text TEXT,
        mentions   TEXT NOT NULL DEFAULT '',
        edited_ts  BIGINT,
        deleted    BOOLEAN NOT NULL DEFAULT FALSE,
        search_id  BIGINT,
        folded     TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (room, seq)
    );
    CREATE INDEX messages_by_ts ON messages (ts);
    CREATE INDEX messages_by_search ON messages (search_id) WHERE search_id IS NOT NULL;
    CREATE TABLE changes (
        room     TEXT NOT NULL,
        seq      BIGINT NOT NULL,
        kind     TEXT NOT NULL,
        target   BIGINT NOT NULL,
        nick     TEXT NOT NULL,
        ts       BIGINT NOT NULL,
        text     TEXT,
        mentions TEXT,
        emoji    TEXT,
        on_      BOOLEAN,
        cid      TEXT,
        PRIMARY KEY (room, seq)
    );
    CREATE INDEX changes_by_target ON changes (room, target);
    CREATE INDEX changes_by_ts ON changes (ts);
    CREATE INDEX changes_by_kind ON changes (room, kind, seq);
    CREATE TABLE reactions (
        room   TEXT NOT NULL,
        target BIGINT NOT NULL,
        emoji  TEXT NOT NULL,
        nick   TEXT NOT NULL,
        seq    BIGINT NOT NULL,
        PRIMARY KEY (room, target, emoji, nick)
    );
    CREATE TABLE accounts (
        key        TEXT PRIMARY KEY,
        nick       TEXT NOT NULL,
        hash       TEXT NOT NULL,
        admin      BOOLEAN NOT NULL DEFAULT FALSE,
        created_ms BIGINT NOT NULL
    );
    CREATE TABLE account_looks (
        look TEXT PRIMARY KEY,
        key  TEXT NOT NULL
    );
    CREATE INDEX account_looks_by_key ON account_looks (key);
    CREATE TABLE tokens (
        digest     TEXT PRIMARY KEY,
        key        TEXT NOT NULL,
        expires_ms BIGINT NOT NULL
    );
    CREATE INDEX tokens_by_key ON tokens (key);
    CREATE TABLE room_control (
        room  TEXT PRIMARY KEY,
        state TEXT NOT NULL
    );
    CREATE TABLE dms (
        key  TEXT NOT NULL,
        room TEXT NOT NULL,
        PRIMARY KEY (key, room)
    );
";

/// Every schema version, in order; index + 1 is the version number.
const MIGRATIONS: [&str; 1] = [SCHEMA_V1];

/// The advisory lock that serialises migrations between servers.
const MIGRATION_LOCK: i64 = 0x7061_726c_6579;

/// Brings a database up to the newest schema, one step per transaction.
pub(super) fn migrate(client: &mut Client) -> Result<(), postgres::Error> {
    // Held until the end of this function, or until the connection closes.
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    client.batch_execute("CREATE TABLE IF NOT EXISTS parley_schema (version INTEGER NOT NULL)")?;
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let mut tx = client.transaction()?;
        let version: i32 = tx
            .query_opt("SELECT version FROM parley_schema", &[])?
            .map_or(0, |r| r.get(0));
        if version as usize > index {
            continue;
        }
        tx.batch_execute(sql)?;
        tx.execute("DELETE FROM parley_schema", &[])?;
        tx.execute(
            "INSERT INTO parley_schema (version) VALUES ($1)",
            &[&(index as i32 + 1)],
        )?;
        tx.commit()?;
    }
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
    Ok(())
}
