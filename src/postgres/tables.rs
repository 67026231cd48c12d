//! The one reader of table metadata: resolving a table name, its columns
//! and their types, its primary key, its indexes and who may do what with it.
//! Used by the save-time checks and by the load stage alike.
use crate::error::{ScError, ScResult};
use pgrx::pg_sys::Oid;
use pgrx::prelude::*;

/// One column of a table.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub name: String,
    /// The column's type without its modifier (`character varying`, `text[]`);
    /// qualified when it is not visible in the current `search_path`.
    pub type_sql: String,
    /// For an array, its element type; else the same as `type_sql`.
    pub element_sql: String,
    pub is_array: bool,
    /// The (element) type is an enum.
    pub is_enum: bool,
    /// `json` or `jsonb`.
    pub is_json: bool,
    /// NOT NULL with no default, identity or generated value: an insert must set it.
    pub needs_value: bool,
}

/// A table, as the catalog describes it.
#[derive(Debug, Clone)]
pub struct TableInfo {
    /// The name for messages (`regclass` text: qualified only when needed).
    pub display: String,
    /// `schema.table`, always qualified and quoted by PostgreSQL: for SQL text.
    pub qualified: String,
    pub columns: Vec<ColumnInfo>,
    /// The primary key's columns, in key order (empty without one).
    pub primary_key: Vec<String>,
}

/// The table (ordinary or partitioned) a possibly qualified, possibly quoted
/// name denotes in the current `search_path`; `None` when there is none.
pub fn resolve(name: &str) -> ScResult<Option<Oid>> {
    Ok(Spi::get_one_with_args::<Oid>(
        "SELECT (SELECT c.oid FROM pg_catalog.pg_class c
                  WHERE c.oid = pg_catalog.to_regclass($1) AND c.relkind IN ('r', 'p'))",
        &[name.into()],
    )?)
}

/// Everything about table `oid` the checks and the load stage need.
pub fn describe(oid: Oid) -> ScResult<TableInfo> {
    let (display, qualified) = Spi::get_two_with_args::<String, String>(
        "SELECT c.oid::regclass::text, pg_catalog.format('%I.%I', n.nspname, c.relname)
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.oid = $1",
        &[oid.into()],
    )?;
    let (Some(display), Some(qualified)) = (display, qualified) else {
        return Err(ScError::Internal(format!("table with oid {oid:?} no longer exists")));
    };
    let columns = Spi::connect(|client| {
        let rows = client.select(
            "SELECT a.attname::text, pg_catalog.format_type(a.atttypid, NULL), pg_catalog.format_type(et.oid, NULL),
                    t.typcategory = 'A', et.typtype = 'e', a.atttypid IN ('json'::regtype, 'jsonb'::regtype),
                    a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = ''
               FROM pg_catalog.pg_attribute a
               JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
               JOIN pg_catalog.pg_type et ON et.oid = CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE a.atttypid END
              WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum",
            None,
            &[oid.into()],
        )?;
        let mut out = Vec::new();
        for row in rows {
            out.push(ColumnInfo {
                name: row.get(1)?.unwrap_or_default(),
                type_sql: row.get(2)?.unwrap_or_default(),
                element_sql: row.get(3)?.unwrap_or_default(),
                is_array: row.get(4)?.unwrap_or(false),
                is_enum: row.get(5)?.unwrap_or(false),
                is_json: row.get(6)?.unwrap_or(false),
                needs_value: row.get(7)?.unwrap_or(false),
            });
        }
        Ok::<_, ScError>(out)
    })?;
    let primary_key = Spi::connect(|client| {
        let rows = client.select(
            "SELECT a.attname::text
               FROM pg_catalog.pg_index i
               CROSS JOIN LATERAL pg_catalog.unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = $1 AND i.indisprimary
              ORDER BY k.position",
            None,
            &[oid.into()],
        )?;
        let mut out = Vec::new();
        for row in rows {
            out.extend(row.get::<String>(1)?);
        }
        Ok::<_, ScError>(out)
    })?;
    Ok(TableInfo { display, qualified, columns, primary_key })
}

/// Whether a valid, non-partial plain index of `oid` has one of `columns` as its first key.
pub fn index_leads_with(oid: Oid, columns: &[String]) -> ScResult<bool> {
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a
                          ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                        WHERE i.indrelid = $1 AND i.indisvalid AND i.indpred IS NULL
                          AND a.attname::text = ANY($2))",
        &[oid.into(), columns.to_vec().into()],
    )?
    .unwrap_or(false))
}

/// Whether role `role` (a name) holds `privilege` (SELECT, INSERT, UPDATE) on table `oid`.
pub fn role_may(role: &str, oid: Oid, privilege: &str) -> ScResult<bool> {
    Ok(Spi::get_one_with_args::<bool>(
        "SELECT pg_catalog.has_table_privilege($1::name, $2, $3)",
        &[role.into(), oid.into(), privilege.into()],
    )?
    .unwrap_or(false))
}
