//! SQL that diesel's DSL cannot say, written so that the statements holding it are
//! still prepared once per connection and reused.
//!
//! diesel's `sql()` literal marks every statement it appears in as never cached (its
//! text may be built at run time), so each next page of a list was parsed and planned
//! again on every call. These fragments hold only text fixed at compile time and
//! bound values: a statement's text then depends on the filter's shape alone, and
//! diesel's statement cache keys it by that text.
use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping,
    is_aggregate,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::sql_types::Bool;

/// SQL text known at compile time, of SQL type `ST`.
#[derive(Debug, Clone, Copy)]
pub struct StaticSql<ST> {
    sql: &'static str,
    _type: PhantomData<ST>,
}

/// `sql` as an expression of type `ST` whose statements can be cached.
pub fn static_sql<ST: TypedExpressionType>(sql: &'static str) -> StaticSql<ST> {
    StaticSql {
        sql,
        _type: PhantomData,
    }
}

impl<ST: TypedExpressionType> Expression for StaticSql<ST> {
    type SqlType = ST;
}

impl<ST, DB: Backend> QueryFragment<DB> for StaticSql<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.sql);
        Ok(())
    }
}

impl<ST> QueryId for StaticSql<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS, ST> SelectableExpression<QS> for StaticSql<ST> where Self: Expression {}
impl<QS, ST> AppearsOnTable<QS> for StaticSql<ST> where Self: Expression {}
impl<ST, GB> ValidGrouping<GB> for StaticSql<ST> {
    type IsAggregate = is_aggregate::Never;
}

/// `(columns) < (values)` or `(columns) > (values)`: a keyset cursor, one index range
/// on both backends. diesel has no row values.
#[derive(Debug, Clone)]
pub struct RowCompare<C, V> {
    columns: C,
    operator: &'static str,
    values: V,
}

/// Rows whose `columns` come before `values` in ascending order. `columns` is a tuple
/// of columns, `values` a tuple of bound values (`into_sql`) of the same types.
pub fn row_before<C, V>(columns: C, values: V) -> RowCompare<C, V> {
    RowCompare {
        columns,
        operator: " < ",
        values,
    }
}

/// Rows whose `columns` come after `values` in ascending order.
pub fn row_after<C, V>(columns: C, values: V) -> RowCompare<C, V> {
    RowCompare {
        columns,
        operator: " > ",
        values,
    }
}

impl<C, V> Expression for RowCompare<C, V> {
    type SqlType = Bool;
}

impl<C, V, DB> QueryFragment<DB> for RowCompare<C, V>
where
    DB: Backend,
    C: QueryFragment<DB>,
    V: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("(");
        self.columns.walk_ast(out.reborrow())?;
        out.push_sql(")");
        out.push_sql(self.operator);
        out.push_sql("(");
        self.values.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
    }
}

impl<C, V> QueryId for RowCompare<C, V> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS, C: AppearsOnTable<QS>, V> SelectableExpression<QS> for RowCompare<C, V> where
    Self: AppearsOnTable<QS>
{
}
impl<QS, C: AppearsOnTable<QS>, V> AppearsOnTable<QS> for RowCompare<C, V> where Self: Expression {}
impl<C, V, GB> ValidGrouping<GB> for RowCompare<C, V> {
    type IsAggregate = is_aggregate::Never;
}

/// `query` keeping rows whose `column` is one of `values` (a slice; empty: all rows):
/// an equality for one value, an `IN` list for more. One value is the common case and
/// gains twice: SQLite never caches a statement holding an `IN` list (its length is
/// in the text), and PostgreSQL (before 17) cannot walk an index in order past
/// `= ANY(array)`, so it would sort every match (a big hotel's SMS page: 27 ms
/// instead of 2 at 1,000,000 messages).
macro_rules! filter_in {
    ($query:expr, $column:expr, $values:expr) => {{
        let query = $query;
        match $values {
            [] => query,
            [one] => query.filter($column.eq(one.clone())),
            many => query.filter($column.eq_any(many.to_vec())),
        }
    }};
}
pub(crate) use filter_in;

/// `query` keeping rows whose `column` is one of the campaign names a name search
/// matched (`names`: an `Option<&Vec<String>>`, `None` when the filter searches no
/// name). Unlike `filter_in!`, an empty list keeps no row: the searched name is in no
/// campaign.
macro_rules! filter_matched_names {
    ($query:expr, $column:expr, $names:expr) => {{
        let query = $query;
        let names: Option<&Vec<String>> = $names;
        match names.map(Vec::as_slice) {
            None => query,
            Some([]) => query.filter($column.eq_any(Vec::<String>::new())),
            Some(some) => filter_in!(query, $column, some),
        }
    }};
}
pub(crate) use filter_matched_names;
