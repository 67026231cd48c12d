//! Running the load steps' statements through SPI: arguments go as arrays,
//! answers come back as text or as what a lookup or matching query found.
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;

/// A `text[]` argument, built in one allocation: each value is copied once,
/// straight into the array. (pgrx's `Vec<String>` conversion makes a text
/// datum of every value, copies it into an array builder and copies the
/// whole again: three allocations and copies per cell, for every cell the
/// load steps send.)
pub fn text_arg<'a>(values: impl Iterator<Item = Option<&'a str>> + Clone) -> DatumWithOid<'static> {
    // The layout of a one-dimensional array (utils/array.h): the header
    // (varlena length, ndim, data offset, element type), the dimension and
    // its lower bound, a null bitmap when any element is NULL, then the
    // elements from a MAXALIGN'ed offset, each a varlena with a 4-byte header
    // padded to its type's int alignment.
    const HEADER: usize = 16 + 8;
    let (mut n, mut nulls, mut data) = (0usize, false, 0usize);
    for v in values.clone() {
        n += 1;
        match v {
            Some(s) => data += int_align(VARHDRSZ + s.len()),
            None => nulls = true,
        }
    }
    // SAFETY: the allocation is `total` bytes, the sizes counted above from
    // the same values; every write below stays inside it (the header and
    // bitmap before `offset`, each value at `at`, which ends at `total`).
    unsafe {
        if n == 0 {
            let empty = pg_sys::construct_empty_array(pg_sys::TEXTOID);
            return DatumWithOid::new(pg_sys::Datum::from(empty), pg_sys::TEXTARRAYOID);
        }
        let offset = if nulls { max_align(HEADER + n.div_ceil(8)) } else { max_align(HEADER) };
        let total = offset + data;
        // palloc0: padding and the null bitmap start as zeros.
        let p = pg_sys::palloc0(total) as *mut u8;
        let put = |at: usize, v: u32| std::ptr::write_unaligned(p.add(at) as *mut u32, v);
        put(0, varsize_4b(total));
        put(4, 1); // ndim
        put(8, if nulls { offset as u32 } else { 0 });
        put(12, pg_sys::TEXTOID.to_u32());
        put(16, n as u32); // dims[0]
        put(20, 1); // lbound[0]
        let mut at = offset;
        for (i, v) in values.enumerate() {
            let Some(s) = v else { continue };
            if nulls {
                *p.add(HEADER + i / 8) |= 1 << (i % 8);
            }
            put(at, varsize_4b(VARHDRSZ + s.len()));
            std::ptr::copy_nonoverlapping(s.as_ptr(), p.add(at + VARHDRSZ), s.len());
            at += int_align(VARHDRSZ + s.len());
        }
        debug_assert_eq!(at, total);
        DatumWithOid::new(pg_sys::Datum::from(p), pg_sys::TEXTARRAYOID)
    }
}

const VARHDRSZ: usize = 4;

/// A 4-byte varlena header for `len` bytes in all (little-endian layout).
fn varsize_4b(len: usize) -> u32 {
    const { assert!(cfg!(target_endian = "little"), "the varlena header below is the little-endian one") };
    assert!(len < 0x3FFF_FFFF, "a text array of {len} bytes is over PostgreSQL's 1 GB limit");
    (len as u32) << 2
}

fn int_align(n: usize) -> usize {
    n.next_multiple_of(4)
}

fn max_align(n: usize) -> usize {
    n.next_multiple_of(8)
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
