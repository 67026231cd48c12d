//! What the load stage needs to know about an entity table, read from the
//! catalog as the connector's owner: its quoted name, primary key and the
//! type of every column a step touches. Every identifier that reaches SQL
//! text comes from here (PostgreSQL's own quoting) or from [`quote_ident`].
use crate::error::{ScError, ScResult};
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
    pub fn load(name: &str) -> ScResult<Table> {
        // The document's name is resolved as the owner would (configured
        // search_path); everything after uses the fully qualified name.
        let oid = crate::runner::owner_names(|| {
            Spi::get_one_with_args::<pg_sys::Oid>("SELECT pg_catalog.to_regclass($1)::oid", &[name.into()])
        })
        .ok()
        .flatten()
        .ok_or_else(|| ScError::Internal(format!("table {name} does not exist")))?;
        let sql_name = Spi::get_one_with_args::<String>(
            "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
            &[oid.into()],
        )?
        .ok_or_else(|| ScError::Internal(format!("table {name} does not exist")))?;
        let mut columns = HashMap::new();
        Spi::connect(|client| -> ScResult<()> {
            let rows = client.select(
                "SELECT a.attname::text, pg_catalog.format_type(a.atttypid, NULL),
                        t.typcategory = 'A', a.atttypid IN ('json'::regtype, 'jsonb'::regtype)
                 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
                 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped",
                None,
                &[oid.into()],
            )?;
            for row in rows {
                let name = row.get::<String>(1)?.unwrap_or_default();
                columns.insert(
                    name,
                    ColumnType {
                        sql: row.get::<String>(2)?.unwrap_or_default(),
                        is_array: row.get::<bool>(3)?.unwrap_or(false),
                        is_json: row.get::<bool>(4)?.unwrap_or(false),
                    },
                );
            }
            Ok(())
        })?;
        let pk = crate::catalog::checks::primary_key_columns(oid)?;
        let [pk] = pk.as_slice() else {
            return Err(ScError::Internal(format!(
                "table {name} needs a single-column primary key (record ids are its values)"
            )));
        };
        let pk_type = columns.get(pk).map(|c| c.sql.clone()).unwrap_or_else(|| "text".into());
        Ok(Table { name: name.to_owned(), sql_name, oid, pk: quote_ident(pk), pk_name: pk.clone(), pk_type, columns })
    }

    /// A column's type; an error names the table and column.
    pub fn column(&self, name: &str) -> Result<&ColumnType, String> {
        self.columns.get(name).ok_or_else(|| format!("table {} has no column \"{name}\"", self.name))
    }

    /// Whether a valid, non-partial plain index has one of `columns` as its first key.
    pub fn index_leads_with(&self, columns: &[String]) -> ScResult<bool> {
        Ok(Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a
                              ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                            WHERE i.indrelid = $1 AND i.indisvalid AND i.indpred IS NULL
                              AND a.attname::text = ANY($2))",
            &[self.oid.into(), columns.to_vec().into()],
        )?
        .unwrap_or(false))
    }

    /// Whether `role` holds `privilege` (INSERT, UPDATE, SELECT) on the table.
    pub fn allowed(&self, role: pg_sys::Oid, privilege: &str) -> ScResult<bool> {
        Ok(Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.has_table_privilege($1, $2, $3)",
            &[role.into(), self.oid.into(), privilege.into()],
        )?
        .unwrap_or(false))
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
