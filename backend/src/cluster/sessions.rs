//! Nicknames and resumable sessions, cluster-wide, in Redis.
//!
//! - `parley:node:ID` exists while node ID beats (it expires
//!   `--cluster-node-timeout` after its last beat): what makes a node's
//!   claims count.
//! - `parley:nick:KEY` = `NODE TOKEN NICK` for each key of a held nickname
//!   (its own, and what looks like it): a claim holds while its node
//!   lives, so a node that dies frees its nicknames within the node
//!   timeout. Claims are made and checked in one Lua script, so two nodes
//!   racing for one nickname cannot both win.
//! - `parley:reserved:KEY` = the nickname of an account just registered,
//!   for each of its keys: guests' claims are refused it, in the same
//!   script that makes them, so no guest slips in while the other nodes
//!   hear of the account (they then keep its nickname from guests
//!   themselves, as every node does with the accounts it read).
//! - `parley:session:TOKEN` = the session's record (nickname, account,
//!   rooms), which any node can take back with the token.
//!
//! Every key carries a TTL (claims [`HELD_TTL`], records the resume grace
//! plus the node timeout) that this node renews for what it holds, so
//! nothing a dead node leaves behind stays in Redis for long.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;

use crate::broker::{LinkError, NickClaim, SessionRecord};

/// How long a claim outlives its last renewal. Renewed every third of it.
pub(super) const HELD_TTL: Duration = Duration::from_secs(600);

/// Checks every key of a claim, then takes them all (or none).
/// KEYS: the nickname's keys, its own first. ARGV: the value to set
/// (`NODE TOKEN NICK`), the token whose claims may be replaced (or ""),
/// "1" for an account's claim, which replaces whoever holds the nickname
/// itself (else a guest's, which a reservation refuses), the TTL in ms.
/// Returns `{"ok", previous token of the nickname's own key or ""}`,
/// `{"held", "exact"|"like", nick}` or `{"reserved", account's nick}`.
const CLAIM: &str = r#"
local over, force, ttl = ARGV[2], ARGV[3] == "1", ARGV[4]
if not force then
  for _, key in ipairs(KEYS) do
    local account = redis.call("GET", "parley:reserved:" .. string.sub(key, 13))
    if account then return {"reserved", account} end
  end
end
local own = redis.call("GET", KEYS[1])
local previous = ""
if own then
  previous = string.match(own, "^%S+ (%S+) ")
  if force then over = previous end
end
for i, key in ipairs(KEYS) do
  local held = redis.call("GET", key)
  if held then
    local node, token, nick = string.match(held, "^(%S+) (%S+) (.*)$")
    if token ~= over and redis.call("EXISTS", "parley:node:" .. node) == 1 then
      return {"held", i == 1 and "exact" or "like", nick}
    end
  end
end
for _, key in ipairs(KEYS) do
  redis.call("SET", key, ARGV[1], "PX", ttl)
end
return {"ok", previous}
"#;

/// Renews the claims still holding ARGV[1] (ARGV[2] ms) and, if it is
/// there, the record KEYS[#KEYS] (ARGV[3] ms).
const RENEW: &str = r#"
for i, key in ipairs(KEYS) do
  if i == #KEYS then
    redis.call("PEXPIRE", key, ARGV[3])
  elseif redis.call("GET", key) == ARGV[1] then
    redis.call("PEXPIRE", key, ARGV[2])
  end
end
return 0
"#;

/// The members of room KEYS[1] on live nodes, flat (nick, node, …); the
/// entries of dead nodes are deleted.
const MEMBERS: &str = r#"
local all = redis.call("HGETALL", KEYS[1])
local live, alive = {}, {}
for i = 1, #all, 2 do
  local nick, node = all[i], all[i + 1]
  if alive[node] == nil then
    alive[node] = redis.call("EXISTS", "parley:node:" .. node) == 1
  end
  if alive[node] then
    table.insert(live, nick)
    table.insert(live, node)
  else
    redis.call("HDEL", KEYS[1], nick)
  end
end
return live
"#;

/// Applies a node's presence changes to room KEYS[1] (listed in the set
/// KEYS[2]): ARGV[1] the node, ARGV[2] the room, then pairs of (nick, "1"
/// joined | "0" left); a leave only deletes the node's own entry.
const PRESENCE: &str = r#"
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == "1" then
    redis.call("HSET", KEYS[1], ARGV[i], ARGV[1])
    redis.call("SADD", KEYS[2], ARGV[2])
  elseif redis.call("HGET", KEYS[1], ARGV[i]) == ARGV[1] then
    redis.call("HDEL", KEYS[1], ARGV[i])
  end
end
return 0
"#;

/// The set of rooms that may have members.
const ROOMS_KEY: &str = "parley:rooms";

/// Every room in the set KEYS[1] with members on live nodes, flat (room,
/// count, …); dead nodes' entries and empty rooms are cleared on the way.
const ROOMS: &str = r#"
local found, alive = {}, {}
for _, room in ipairs(redis.call("SMEMBERS", KEYS[1])) do
  local key = "parley:members:" .. room
  local all = redis.call("HGETALL", key)
  local count = 0
  for i = 1, #all, 2 do
    local node = all[i + 1]
    if alive[node] == nil then
      alive[node] = redis.call("EXISTS", "parley:node:" .. node) == 1
    end
    if alive[node] then
      count = count + 1
    else
      redis.call("HDEL", key, all[i])
    end
  end
  if count == 0 then
    redis.call("SREM", KEYS[1], room)
  else
    table.insert(found, room)
    table.insert(found, tostring(count))
  end
end
return found
"#;

/// Every room with members on a live node, and how many.
pub(super) async fn rooms(
    mut conn: MultiplexedConnection,
) -> Result<Vec<(String, usize)>, LinkError> {
    let flat: Vec<String> = redis::cmd("EVAL")
        .arg(ROOMS)
        .arg(1)
        .arg(ROOMS_KEY)
        .query_async(&mut conn)
        .await
        .map_err(down)?;
    Ok(flat
        .chunks_exact(2)
        .map(|pair| (pair[0].clone(), pair[1].parse().unwrap_or(0)))
        .collect())
}

/// The key of room `room`'s members.
fn members_key(room: &str) -> String {
    format!("parley:members:{room}")
}

/// The command that records `node`'s presence `changes` in `room`.
pub(super) fn presence(room: &str, node: &str, changes: &[(String, bool)]) -> redis::Cmd {
    let mut command = redis::cmd("EVAL");
    command
        .arg(PRESENCE)
        .arg(2)
        .arg(members_key(room))
        .arg(ROOMS_KEY)
        .arg(node)
        .arg(room);
    for (nick, joined) in changes {
        command.arg(nick).arg(if *joined { "1" } else { "0" });
    }
    command
}

/// The members of `room` on live nodes.
pub(super) async fn members(
    mut conn: MultiplexedConnection,
    room: String,
) -> Result<Vec<(String, String)>, LinkError> {
    let flat: Vec<String> = redis::cmd("EVAL")
        .arg(MEMBERS)
        .arg(1)
        .arg(members_key(&room))
        .query_async(&mut conn)
        .await
        .map_err(down)?;
    Ok(flat
        .chunks_exact(2)
        .map(|pair| (pair[0].clone(), pair[1].clone()))
        .collect())
}

/// How long an account's nickname stays reserved in Redis after its
/// registration: far longer than every node needs to hear of the account
/// (a node whose link was down reads the accounts again when it is back).
const RESERVED_TTL: Duration = Duration::from_secs(600);

/// Reserves a nickname for an account being registered, unless a live node
/// holds one of its keys. KEYS: the nickname's keys; their reservation
/// keys are built as the claim script builds them. ARGV: the nickname, the
/// TTL in ms. Returns `{}`, or `{"exact"|"like", nick}` if held.
const RESERVE: &str = r#"
for i, key in ipairs(KEYS) do
  local held = redis.call("GET", key)
  if held then
    local node, nick = string.match(held, "^(%S+) %S+ (.*)$")
    if redis.call("EXISTS", "parley:node:" .. node) == 1 then
      return {i == 1 and "exact" or "like", nick}
    end
  end
end
for _, key in ipairs(KEYS) do
  redis.call("SET", "parley:reserved:" .. string.sub(key, 13), ARGV[1], "PX", ARGV[2])
end
return {}
"#;

/// Reserves `nick` (whose keys are `keys`, its own first) for an account
/// being registered: from now on no guest on any node may claim it, and
/// no guest holds it now.
pub(super) async fn reserve(
    mut conn: MultiplexedConnection,
    nick: String,
    keys: Vec<String>,
) -> Result<(), LinkError> {
    let keys: Vec<String> = keys.iter().map(|k| nick_key(k)).collect();
    let mut script = redis::cmd("EVAL");
    script.arg(RESERVE).arg(keys.len()).arg(&keys);
    let answer: Vec<String> = script
        .arg(&nick)
        .arg(RESERVED_TTL.as_millis() as u64)
        .query_async(&mut conn)
        .await
        .map_err(down)?;
    match answer.as_slice() {
        [] => Ok(()),
        [how, nick] => Err(LinkError::Held {
            nick: nick.clone(),
            exact: how == "exact",
        }),
        other => Err(LinkError::Down(format!("an odd answer: {other:?}"))),
    }
}

/// The command that lifts the reservation of `keys` (the account was not
/// registered after all, or is deleted).
pub(super) fn unreserve(keys: &[String]) -> redis::Cmd {
    let mut forget = redis::cmd("DEL");
    for key in keys {
        forget.arg(reserved_key(key));
    }
    forget
}

/// Deletes each key still holding ARGV[1].
const RELEASE: &str = r#"
for _, key in ipairs(KEYS) do
  if redis.call("GET", key) == ARGV[1] then redis.call("DEL", key) end
end
return 0
"#;

/// What this node holds, to renew and to release.
#[derive(Debug)]
pub(super) struct Held {
    /// The claim's keys (`parley:nick:…`).
    keys: Vec<String>,
    /// Their value.
    value: String,
    /// The session's record, JSON.
    record: String,
}

/// This node's claims and records, by token.
#[derive(Debug, Default)]
pub(super) struct Holdings {
    held: Mutex<HashMap<String, Held>>,
}

fn nick_key(key: &str) -> String {
    format!("parley:nick:{key}")
}

/// Must match the prefix the claim and reserve scripts build reservation
/// keys with.
fn reserved_key(key: &str) -> String {
    format!("parley:reserved:{key}")
}

fn session_key(token: &str) -> String {
    format!("parley:session:{token}")
}

/// The key that says node `node` is alive.
pub(super) fn node_key(node: &str) -> String {
    format!("parley:node:{node}")
}

fn down(e: impl std::fmt::Display) -> LinkError {
    LinkError::Down(e.to_string())
}

impl Holdings {
    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims `claim` for `node`, and records its session.
    pub(super) async fn claim(
        self: Arc<Self>,
        mut conn: MultiplexedConnection,
        node: String,
        claim: NickClaim,
        record_ttl: Duration,
    ) -> Result<Option<String>, LinkError> {
        let keys: Vec<String> = claim.keys.iter().map(|k| nick_key(k)).collect();
        let value = format!("{node} {} {}", claim.token, claim.record.nick);
        let mut script = redis::cmd("EVAL");
        script.arg(CLAIM).arg(keys.len()).arg(&keys);
        script
            .arg(&value)
            .arg(claim.replaces.as_deref().unwrap_or(""))
            .arg(if claim.force { "1" } else { "0" })
            .arg(HELD_TTL.as_millis() as u64);
        let answer: Vec<String> = script.query_async(&mut conn).await.map_err(down)?;
        match answer.as_slice() {
            [ok, previous] if ok == "ok" => {
                let record = serde_json::to_string(&claim.record).expect("a record serialises");
                let mut pipe = redis::pipe();
                pipe.cmd("SET")
                    .arg(session_key(&claim.token))
                    .arg(&record)
                    .arg("PX")
                    .arg(record_ttl.as_millis() as u64)
                    .ignore();
                // The session taken back is spent: its token takes nothing
                // back any more.
                if let Some(replaced) = &claim.replaces {
                    pipe.cmd("DEL").arg(session_key(replaced)).ignore();
                }
                let _: () = pipe.query_async(&mut conn).await.map_err(down)?;
                self.held().insert(
                    claim.token,
                    Held {
                        keys,
                        value,
                        record,
                    },
                );
                Ok((!previous.is_empty()).then(|| previous.clone()))
            }
            [held, how, nick] if held == "held" => Err(LinkError::Held {
                nick: nick.clone(),
                exact: how == "exact",
            }),
            // The only other answer of two: `{"reserved", nick}`.
            [_, nick] => Err(LinkError::Reserved { nick: nick.clone() }),
            other => Err(LinkError::Down(format!("an odd answer: {other:?}"))),
        }
    }

    /// The record of `token`'s session, if Redis still has it.
    pub(super) async fn session(
        mut conn: MultiplexedConnection,
        token: String,
    ) -> Result<Option<SessionRecord>, LinkError> {
        let record: Option<String> = redis::cmd("GET")
            .arg(session_key(&token))
            .query_async(&mut conn)
            .await
            .map_err(down)?;
        Ok(record.and_then(|r| serde_json::from_str(&r).ok()))
    }

    /// The new record of `token`'s session, to write; `None` if this node
    /// does not hold it.
    pub(super) fn update(&self, token: &str, record: &SessionRecord) -> Option<redis::Cmd> {
        let mut held = self.held();
        let held = held.get_mut(token)?;
        held.record = serde_json::to_string(record).expect("a record serialises");
        Some(
            redis::cmd("SET")
                .arg(session_key(token))
                .arg(&held.record)
                .arg("KEEPTTL")
                .to_owned(),
        )
    }

    /// The commands that free `token`'s nickname and forget its record;
    /// `None` if this node does not hold it.
    pub(super) fn release(&self, token: &str) -> Option<Vec<redis::Cmd>> {
        let held = self.held().remove(token)?;
        let mut free = redis::cmd("EVAL");
        free.arg(RELEASE).arg(held.keys.len());
        for key in &held.keys {
            free.arg(key);
        }
        free.arg(&held.value);
        let mut forget = redis::cmd("DEL");
        forget.arg(session_key(token));
        Some(vec![free, forget])
    }

    /// Renews every claim and record this node holds.
    pub(super) async fn renew(
        &self,
        conn: &mut MultiplexedConnection,
        record_ttl: Duration,
    ) -> redis::RedisResult<()> {
        let mut pipe = redis::pipe();
        for (token, held) in self.held().iter() {
            pipe.cmd("EVAL").arg(RENEW).arg(held.keys.len() + 1);
            for key in &held.keys {
                pipe.arg(key);
            }
            pipe.arg(session_key(token))
                .arg(&held.value)
                .arg(HELD_TTL.as_millis() as u64)
                .arg(record_ttl.as_millis() as u64)
                .ignore();
        }
        pipe.query_async(conn).await
    }
}
