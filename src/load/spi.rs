//! Running the load steps' statements through SPI: arguments go as arrays,
//! answers come back as text or as what a lookup or matching query found.
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;

/// A text array argument.
pub fn text_arg(v: Vec<Option<String>>) -> DatumWithOid<'static> {
    v.into()
}

/// Runs `sql` with arguments and collects the first column of every row as text.
pub fn query_texts(sql: &str, args: Vec<DatumWithOid<'static>>) -> Result<Vec<Option<String>>, String> {
    Spi::connect_mut(|client| {
        let rows = client.update(sql, None, &args).map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(row.get::<String>(1).map_err(|e| e.to_string())?);
        }
        Ok(out)
    })
}

/// What a lookup or matching query found for one key (or row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The key text (lookups) or the row number as text (matching).
    pub key: String,
    /// How many records have it.
    pub count: i64,
    /// The smallest of their ids, as text.
    pub id: Option<String>,
    /// Whether the (single) record is archived.
    pub archived: bool,
}

/// Runs a query answering (key text, count, smallest id text, archived) rows.
pub fn query_found(sql: &str, args: Vec<DatumWithOid<'static>>) -> Result<Vec<Found>, String> {
    Spi::connect_mut(|client| {
        let rows = client.update(sql, None, &args).map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let e = |e: pgrx::spi::Error| e.to_string();
            out.push(Found {
                key: row.get::<String>(1).map_err(e)?.unwrap_or_default(),
                count: row.get::<i64>(2).map_err(e)?.unwrap_or(0),
                id: row.get::<String>(3).map_err(e)?,
                archived: row.get::<bool>(4).map_err(e)?.unwrap_or(false),
            });
        }
        Ok(out)
    })
}
