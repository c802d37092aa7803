//! How a message id is stored: 16 bytes (PostgreSQL's `uuid`, a SQLite blob) rather
//! than its 36 characters of text. Every keyset index ends in the id, so the text
//! form cost ~20 bytes in each of ~20 index entries a message (README, Performance,
//! stop 29). The rest of the code keeps the id as the `String` the API shows: the
//! conversion happens here, at bind and read time, so diesel queries are unchanged.
//!
//! Ids are UUIDs that sentlog generates (`Uuid::now_v7`), written in their canonical
//! lower-case hyphenated form. A string that is not in that form (a caller's typo, an
//! upper-case copy) was never a stored id: it binds as the nil UUID, which sentlog
//! never generates, so a lookup finds nothing, exactly as the text comparison did.
//! Byte order equals the canonical text's order (hex digits and fixed hyphens), so
//! pages and page tokens order as before.
use std::io::Write;

use diesel::deserialize::{self, FromSql};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::SqlType;
use diesel::sqlite::{Sqlite, SqliteValue};
use uuid::Uuid;

use super::Backend;

/// The SQL type of a message id column.
#[derive(Debug, Clone, Copy, Default, SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 2950, array_oid = 2951))]
#[diesel(sqlite_type(name = "Binary"))]
pub struct MessageKey;

/// The 16 bytes stored for an id: the UUID of its canonical text, or the nil UUID for
/// any other string (which matches no stored message).
pub fn key_bytes(id: &str) -> [u8; 16] {
    let mut canonical = [0u8; 36];
    match Uuid::try_parse(id) {
        Ok(uuid) if uuid.hyphenated().encode_lower(&mut canonical).as_bytes() == id.as_bytes() => {
            *uuid.as_bytes()
        }
        _ => [0u8; 16],
    }
}

/// A message id as a literal of hand-written SQL (an operator's statement, the
/// benchmark's plain SQL, a test acting behind the service's back): the value a bound
/// id becomes. Equivalent by hand: `'…'::uuid` on PostgreSQL,
/// `unhex(replace('…', '-', ''))` on SQLite.
pub fn id_literal(backend: Backend, id: &str) -> String {
    let bytes = key_bytes(id);
    match backend {
        Backend::Postgres => format!("'{}'::uuid", Uuid::from_bytes(bytes)),
        Backend::Sqlite => format!("X'{}'", Uuid::from_bytes(bytes).simple()),
    }
}

/// The id's text from its stored bytes. Anything but 16 bytes is read as text: a value
/// stored before the migration that made ids binary, should one remain.
fn id_text(bytes: &[u8]) -> deserialize::Result<String> {
    match Uuid::from_slice(bytes) {
        Ok(uuid) => Ok(uuid.hyphenated().to_string()),
        Err(_) => Ok(std::str::from_utf8(bytes)?.to_string()),
    }
}

impl ToSql<MessageKey, Pg> for str {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(&key_bytes(self))?;
        Ok(IsNull::No)
    }
}

impl ToSql<MessageKey, Sqlite> for str {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(key_bytes(self).to_vec());
        Ok(IsNull::No)
    }
}

impl FromSql<MessageKey, Pg> for String {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        id_text(value.as_bytes())
    }
}

impl FromSql<MessageKey, Sqlite> for String {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        id_text(value.read_blob())
    }
}

/// A message id to bind as a `MessageKey` (diesel's blanket impls keep a `String`
/// itself from binding as a type of ours). Rows that write ids say
/// `#[diesel(serialize_as = Key)]`; filters write `messages::id.eq(id_key(id))`.
#[derive(Debug, Clone, PartialEq, Eq, AsExpression)]
#[diesel(sql_type = MessageKey)]
pub struct Key(pub String);

/// `id` ready to bind as a `MessageKey`.
pub fn id_key(id: impl Into<String>) -> Key {
    Key(id.into())
}

/// Every id of `ids`, ready to bind as `MessageKey`s (`eq_any`).
pub fn id_keys<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Vec<Key> {
    ids.into_iter().map(id_key).collect()
}

impl From<String> for Key {
    fn from(id: String) -> Self {
        Key(id)
    }
}

impl ToSql<MessageKey, Pg> for Key {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<MessageKey, Pg>>::to_sql(self.0.as_str(), out)
    }
}

impl ToSql<MessageKey, Sqlite> for Key {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        <str as ToSql<MessageKey, Sqlite>>::to_sql(self.0.as_str(), out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A generated id survives the trip through its stored bytes, and the bytes
        /// order like the text (pages keep their order).
        #[test]
        fn ids_round_trip_and_keep_their_order(a in any::<u128>(), b in any::<u128>()) {
            let (ta, tb) = (Uuid::from_u128(a).to_string(), Uuid::from_u128(b).to_string());
            prop_assert_eq!(id_text(&key_bytes(&ta)).unwrap(), ta.clone());
            prop_assert_eq!(key_bytes(&ta).cmp(&key_bytes(&tb)), ta.cmp(&tb));
        }

        /// No string but an id's canonical text names a stored message.
        #[test]
        fn other_strings_bind_as_the_nil_uuid(s in "\\PC{0,40}") {
            let canonical = Uuid::try_parse(&s).map(|u| u.to_string() == s).unwrap_or(false);
            prop_assert_eq!(key_bytes(&s) == [0u8; 16], !canonical || s == Uuid::nil().to_string());
        }
    }

    #[test]
    fn upper_case_and_simple_forms_are_not_ids() {
        let id = Uuid::now_v7();
        assert_ne!(key_bytes(&id.to_string()), [0u8; 16]);
        assert_eq!(key_bytes(&id.to_string().to_uppercase()), [0u8; 16]);
        assert_eq!(key_bytes(&id.simple().to_string()), [0u8; 16]);
        assert_eq!(key_bytes(""), [0u8; 16]);
    }
}
