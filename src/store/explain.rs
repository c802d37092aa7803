//! `EXPLAIN` around any diesel query, so plans can be checked on the real queries.
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Integer, Text};
use diesel::{QueryResult, RunQueryDsl};

/// The plan of `query` instead of its rows.
pub struct Explain<Q, ST> {
    query: Q,
    prefix: &'static str,
    _rows: std::marker::PhantomData<ST>,
}

impl<Q> Explain<Q, Text> {
    /// PostgreSQL: one text line per plan node.
    pub fn postgres(query: Q) -> Self {
        Explain {
            query,
            prefix: "EXPLAIN ",
            _rows: std::marker::PhantomData,
        }
    }
}

impl<Q> Explain<Q, (Integer, Integer, Integer, Text)> {
    /// SQLite: (id, parent, unused, detail) rows.
    pub fn sqlite(query: Q) -> Self {
        Explain {
            query,
            prefix: "EXPLAIN QUERY PLAN ",
            _rows: std::marker::PhantomData,
        }
    }
}

impl<Q, ST> QueryId for Explain<Q, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, ST, DB> QueryFragment<DB> for Explain<Q, ST>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql(self.prefix);
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q, ST: 'static> Query for Explain<Q, ST>
where
    ST: diesel::sql_types::SqlType,
{
    type SqlType = ST;
}

impl<Q, ST, Conn> RunQueryDsl<Conn> for Explain<Q, ST> {}
