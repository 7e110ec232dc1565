//! The two SQL backends behind one tiny API: `exec` and `query` over portable SQL written with
//! `$1, $2…` placeholders, values as [`Val`].

use std::collections::HashMap;

use crate::StoreError;

/// A SQL value: Castellan's schema uses only text, integers and NULL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    /// NULL.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// Text.
    Text(String),
}

impl Val {
    /// Optional text.
    pub fn opt(v: Option<impl Into<String>>) -> Val {
        v.map_or(Val::Null, |s| Val::Text(s.into()))
    }

    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Owned text or `None`.
    pub fn into_text(self) -> Option<String> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_string())
    }
}

impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}

impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::Int(i)
    }
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

impl postgres::types::ToSql for Val {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::{IsNull, Type};
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Val::Int(i) => i.to_sql(ty, out),
            Val::Text(s) => s.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// Which engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// A borrowed SQL value, for streaming reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValRef<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

impl<'a> ValRef<'a> {
    pub(crate) fn to_owned_val(self) -> Val {
        match self {
            ValRef::Null => Val::Null,
            ValRef::Int(i) => Val::Int(i),
            ValRef::Text(s) => Val::Text(s.to_string()),
        }
    }

    pub(crate) fn int(self) -> Option<i64> {
        match self {
            ValRef::Int(i) => Some(i),
            _ => None,
        }
    }
    pub(crate) fn text(self) -> Option<&'a str> {
        match self {
            ValRef::Text(s) => Some(s),
            _ => None,
        }
    }
}

pub(crate) enum Conn {
    Sqlite {
        conn: rusqlite::Connection,
        /// `$N` SQL → `?N` SQL, memoised (hot statements run millions of times).
        translated: HashMap<String, String>,
    },
    Postgres {
        client: Box<postgres::Client>,
        statements: HashMap<String, postgres::Statement>,
    },
}

/// One statement in both dialects, translated once.
#[derive(Debug, Clone)]
pub(crate) struct Dual {
    pub(crate) pg: String,
    pub(crate) sqlite: String,
}

impl Dual {
    pub(crate) fn new(pg: String) -> Dual {
        Dual {
            sqlite: sqlite_sql(&pg),
            pg,
        }
    }
}

/// `$1` → `?1` for SQLite (whose `$name` parameters would be numbered by first appearance).
fn sqlite_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

impl Conn {
    pub(crate) fn engine(&self) -> Engine {
        match self {
            Conn::Sqlite { .. } => Engine::Sqlite,
            Conn::Postgres { .. } => Engine::Postgres,
        }
    }

    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite { conn, .. } => conn.execute_batch(sql).map_err(StoreError::sqlite),
            Conn::Postgres { client, .. } => {
                client.batch_execute(sql).map_err(StoreError::postgres)
            }
        }
    }

    pub(crate) fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError> {
        match self {
            Conn::Sqlite { conn, translated } => {
                let mut stmt = conn
                    .prepare_cached(memo(translated, sql))
                    .map_err(StoreError::sqlite)?;
                let n = stmt
                    .execute(rusqlite::params_from_iter(params.iter()))
                    .map_err(StoreError::sqlite)?;
                Ok(n as u64)
            }
            Conn::Postgres { client, statements } => {
                let stmt = pg_statement(client, statements, sql)?;
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                client.execute(&stmt, &refs).map_err(StoreError::postgres)
            }
        }
    }

    pub(crate) fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, StoreError> {
        match self {
            Conn::Sqlite { .. } => {
                let mut out = Vec::new();
                self.query_each(sql, params, &mut |row| {
                    out.push(row.iter().map(|v| v.to_owned_val()).collect());
                    Ok::<(), StoreError>(())
                })?;
                Ok(out)
            }
            Conn::Postgres { client, statements } => {
                use postgres::types::Type;
                let stmt = pg_statement(client, statements, sql)?;
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                let rows = client.query(&stmt, &refs).map_err(StoreError::postgres)?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut vals = Vec::with_capacity(row.len());
                    for (i, col) in row.columns().iter().enumerate() {
                        let t = col.type_();
                        let v = if *t == Type::INT8 {
                            row.try_get::<_, Option<i64>>(i)
                                .map_err(StoreError::postgres)?
                                .map(Val::Int)
                        } else if *t == Type::INT4 {
                            row.try_get::<_, Option<i32>>(i)
                                .map_err(StoreError::postgres)?
                                .map(|v| Val::Int(i64::from(v)))
                        } else if *t == Type::BOOL {
                            row.try_get::<_, Option<bool>>(i)
                                .map_err(StoreError::postgres)?
                                .map(|v| Val::Int(i64::from(v)))
                        } else {
                            row.try_get::<_, Option<String>>(i)
                                .map_err(StoreError::postgres)?
                                .map(Val::Text)
                        };
                        vals.push(v.unwrap_or(Val::Null));
                    }
                    out.push(vals);
                }
                Ok(out)
            }
        }
    }
}

fn memo<'m>(translated: &'m mut HashMap<String, String>, sql: &str) -> &'m str {
    if !translated.contains_key(sql) {
        translated.insert(sql.to_string(), sqlite_sql(sql));
    }
    translated.get(sql).map_or("", String::as_str)
}

impl Conn {
    /// Executes a pre-translated statement.
    pub(crate) fn exec_dual(&mut self, sql: &Dual, params: &[Val]) -> Result<u64, StoreError> {
        match self {
            Conn::Sqlite { conn, .. } => {
                let mut stmt = conn
                    .prepare_cached(&sql.sqlite)
                    .map_err(StoreError::sqlite)?;
                let n = stmt
                    .execute(rusqlite::params_from_iter(params.iter()))
                    .map_err(StoreError::sqlite)?;
                Ok(n as u64)
            }
            Conn::Postgres { .. } => self.exec(&sql.pg, params),
        }
    }

    /// Runs a pre-translated statement that returns one text column (e.g. `RETURNING id`).
    pub(crate) fn query_texts_dual(
        &mut self,
        sql: &Dual,
        params: &[Val],
    ) -> Result<Vec<String>, StoreError> {
        match self {
            Conn::Sqlite { conn, .. } => {
                let mut stmt = conn
                    .prepare_cached(&sql.sqlite)
                    .map_err(StoreError::sqlite)?;
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params.iter()))
                    .map_err(StoreError::sqlite)?;
                let mut out = Vec::new();
                while let Some(row) = rows.next().map_err(StoreError::sqlite)? {
                    out.push(row.get::<_, String>(0).map_err(StoreError::sqlite)?);
                }
                Ok(out)
            }
            Conn::Postgres { .. } => Ok(self
                .query(&sql.pg, params)?
                .into_iter()
                .filter_map(|r| r.into_iter().next().and_then(Val::into_text))
                .collect()),
        }
    }

    /// Streams the rows of a query to `f` without materialising them (SQLite borrows the text;
    /// PostgreSQL fetches the rows first).
    pub(crate) fn query_each<E: From<StoreError>>(
        &mut self,
        sql: &str,
        params: &[Val],
        f: &mut dyn FnMut(&[ValRef<'_>]) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Conn::Sqlite { conn, translated } => {
                let mut stmt = conn
                    .prepare_cached(memo(translated, sql))
                    .map_err(StoreError::sqlite)?;
                let ncols = stmt.column_count();
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params.iter()))
                    .map_err(StoreError::sqlite)?;
                while let Some(row) = rows.next().map_err(StoreError::sqlite)? {
                    let mut vals = Vec::with_capacity(ncols);
                    for i in 0..ncols {
                        use rusqlite::types::ValueRef as V;
                        vals.push(match row.get_ref(i).map_err(StoreError::sqlite)? {
                            V::Null => ValRef::Null,
                            V::Integer(i) => ValRef::Int(i),
                            V::Real(f) => ValRef::Int(f as i64),
                            V::Text(t) | V::Blob(t) => {
                                ValRef::Text(std::str::from_utf8(t).unwrap_or(""))
                            }
                        });
                    }
                    f(&vals)?;
                }
                Ok(())
            }
            Conn::Postgres { .. } => {
                for row in self.query(sql, params)? {
                    let vals: Vec<ValRef<'_>> = row
                        .iter()
                        .map(|v| match v {
                            Val::Null => ValRef::Null,
                            Val::Int(i) => ValRef::Int(*i),
                            Val::Text(s) => ValRef::Text(s),
                        })
                        .collect();
                    f(&vals)?;
                }
                Ok(())
            }
        }
    }
}

fn pg_statement(
    client: &mut postgres::Client,
    statements: &mut HashMap<String, postgres::Statement>,
    sql: &str,
) -> Result<postgres::Statement, StoreError> {
    if let Some(s) = statements.get(sql) {
        return Ok(s.clone());
    }
    let s = client.prepare(sql).map_err(StoreError::postgres)?;
    statements.insert(sql.to_string(), s.clone());
    Ok(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_for_sqlite() {
        assert_eq!(
            super::sqlite_sql("UPDATE t SET a=$2 WHERE id=$1 AND x='$'"),
            "UPDATE t SET a=?2 WHERE id=?1 AND x='$'"
        );
    }
}
