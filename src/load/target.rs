//! What the load stage needs to know about an entity table, read from the
//! catalog as the connector's owner: its quoted name, primary key and the
//! type of every column a step touches. Every identifier that reaches SQL
//! text comes from here (PostgreSQL's own quoting) or from [`quote_ident`].
use crate::error::{ScError, ScResult};
use crate::postgres::tables;
use pgrx::prelude::*;
use std::collections::HashMap;

/// A column's SQL type without its modifier (`character varying`, not
/// `character varying(3)`: an explicit cast to the latter would silently cut
/// the text; storing into the column applies the modifier as an assignment,
/// which fails the row instead), and whether it is an array.
#[derive(Debug, Clone)]
pub struct ColumnType {
    pub sql: String,
    pub is_array: bool,
    /// `json` or `jsonb`.
    pub is_json: bool,
}

/// An entity (or lookup) table.
#[derive(Debug, Clone)]
pub struct Table {
    /// The name as the document wrote it (for messages).
    pub name: String,
    /// `schema.table`, always qualified and quoted by PostgreSQL.
    pub sql_name: String,
    pub oid: pg_sys::Oid,
    /// Primary key column (quoted) and its type.
    pub pk: String,
    /// The primary key column's name, unquoted.
    pub pk_name: String,
    pub pk_type: String,
    pub columns: HashMap<String, ColumnType>,
}

/// Quotes an identifier, always (so any name is safe in SQL text).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Table {
    /// Reads a table's metadata; errors name the table.
    pub fn read(name: &str) -> ScResult<Table> {
        // The document's name is resolved as the owner would (configured
        // search_path); everything after uses the fully qualified name.
        let oid = crate::postgres::owner_names(|| tables::resolve(name))
            .ok()
            .flatten()
            .ok_or_else(|| ScError::Internal(format!("table {name} does not exist")))?;
        let info = tables::describe(oid)?;
        let columns: HashMap<String, ColumnType> = info
            .columns
            .into_iter()
            .map(|c| (c.name, ColumnType { sql: c.type_sql, is_array: c.is_array, is_json: c.is_json }))
            .collect();
        let [pk] = info.primary_key.as_slice() else {
            return Err(ScError::Internal(format!(
                "table {name} needs a single-column primary key (record ids are its values)"
            )));
        };
        let pk_type = columns.get(pk).map(|c| c.sql.clone()).unwrap_or_else(|| "text".into());
        Ok(Table {
            name: name.to_owned(),
            sql_name: info.qualified,
            oid,
            pk: quote_ident(pk),
            pk_name: pk.clone(),
            pk_type,
            columns,
        })
    }

    /// A column's type; an error names the table and column.
    pub fn column(&self, name: &str) -> Result<&ColumnType, String> {
        self.columns.get(name).ok_or_else(|| format!("table {} has no column \"{name}\"", self.name))
    }

    /// Whether a valid, non-partial plain index has one of `columns` as its first key.
    pub fn index_leads_with(&self, columns: &[String]) -> ScResult<bool> {
        tables::index_leads_with(self.oid, columns)
    }

    /// Whether `role` holds `privilege` (INSERT, UPDATE, SELECT) on the table.
    pub fn allowed(&self, role: &str, privilege: &str) -> ScResult<bool> {
        tables::role_may(role, self.oid, privilege)
    }
}

/// The SQL expression turning text expression `text` into a value of `col`:
/// a cast for plain columns, a JSON array (an array variable's canonical
/// text) or a one-item array for array columns, JSON for json columns.
pub fn cast(text: &str, col: &ColumnType, from_array_variable: bool, json_text: bool) -> String {
    if col.is_array {
        if from_array_variable {
            format!(
                "(CASE WHEN {text} IS NULL THEN NULL ELSE ARRAY(SELECT pg_catalog.jsonb_array_elements_text(({text})::jsonb)) END)::{}",
                col.sql
            )
        } else {
            format!("(CASE WHEN {text} IS NULL THEN NULL ELSE ARRAY[{text}] END)::{}", col.sql)
        }
    } else if col.is_json && !json_text {
        format!("pg_catalog.to_jsonb({text})::{}", col.sql)
    } else {
        format!("({text})::{}", col.sql)
    }
}
