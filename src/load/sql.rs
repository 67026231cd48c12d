//! The SQL text of load steps, built from names and types the catalog
//! already quoted (`target`, `plan`): pure string building, unit-tested
//! without a database. Every statement runs as the owner under the pinned
//! `search_path` (`postgres::as_role_pinned`), and every value reaches it as
//! an array argument, never as text.

/// `$1::t1, $2::t2, …` for `types`, numbered from `first`.
pub fn params(first: usize, types: &[&str]) -> Vec<String> {
    types.iter().enumerate().map(|(n, t)| format!("${}::{t}", first + n)).collect()
}

/// `ROWS FROM (unnest(p1), unnest(p2), …)`: arrays side by side as columns
/// (the schema-qualified spelling of multi-argument `unnest`).
pub fn rows_from(params: &[String]) -> String {
    let parts: Vec<String> = params.iter().map(|p| format!("pg_catalog.unnest({p})")).collect();
    format!("ROWS FROM ({})", parts.join(", "))
}

/// A related table, and the column a relationship looks rows up by.
#[derive(Debug, Clone, Copy)]
pub struct Related<'a> {
    pub table: &'a str,
    pub pk: &'a str,
    pub column: &'a str,
    pub column_type: &'a str,
}

/// For every distinct key of `$1::text[]`: (key, rows with it, smallest id,
/// false). With an index on the column, each key is probed through it
/// (counts stay exact for the message); without one, a grouped join.
pub fn lookup(r: Related<'_>, indexed: bool) -> String {
    let Related { table, pk, column, column_type } = r;
    if indexed {
        format!(
            "SELECT u.k, m.n, m.id, false FROM pg_catalog.unnest($1::text[]) AS u(k)
             CROSS JOIN LATERAL (SELECT pg_catalog.count(l.{pk}) AS n, pg_catalog.min(l.{pk}::text) AS id
                                 FROM {table} l WHERE l.{column} = (u.k)::{column_type}) m"
        )
    } else {
        format!(
            "SELECT u.k, pg_catalog.count(l.{pk}), pg_catalog.min(l.{pk}::text), false
             FROM pg_catalog.unnest($1::text[]) AS u(k) LEFT JOIN {table} l ON l.{column} = (u.k)::{column_type}
             GROUP BY u.k"
        )
    }
}

/// The archived column of a step (quoted) and whether it is boolean (else
/// a date: archived when set).
pub type Archived<'a> = Option<(&'a str, bool)>;

/// "Is this record archived", aggregated over the matched rows `t`.
pub fn archived_flag(archived: Archived<'_>) -> String {
    match archived {
        Some((a, true)) => format!("coalesce(pg_catalog.bool_or(t.{a} IS TRUE), false)"),
        Some((a, false)) => format!("coalesce(pg_catalog.bool_or(t.{a} IS NOT NULL), false)"),
        None => "false".into(),
    }
}

/// The entity table of a step.
#[derive(Debug, Clone, Copy)]
pub struct Entity<'a> {
    pub table: &'a str,
    pub pk: &'a str,
    pub pk_type: &'a str,
    pub archived: Archived<'a>,
}

/// One matching rule for rows `$1::bigint[]` with key columns `$2…` (text
/// arrays): (row, matches, smallest id, archived) for the rows that match.
/// `keys` are (quoted column, type). With an index each row's key is probed
/// through it, a nested loop the planner cannot turn into a scan of the
/// whole table per chunk; without one, a grouped join.
pub fn matching(e: Entity<'_>, keys: &[(&str, &str)], indexed: bool) -> String {
    let mut cols = vec!["rn".to_string()];
    let mut types = vec!["bigint[]"];
    let mut on = Vec::new();
    for (k, (col, ty)) in keys.iter().enumerate() {
        cols.push(format!("k{k}"));
        types.push("text[]");
        on.push(format!("t.{col} = (c.k{k})::{ty}"));
    }
    let (from, cols, on) = (rows_from(&params(1, &types)), cols.join(", "), on.join(" AND "));
    let (table, pk, archived) = (e.table, e.pk, archived_flag(e.archived));
    if indexed {
        format!(
            "SELECT c.rn::text, m.n, m.id, m.archived FROM {from} AS c({cols})
             CROSS JOIN LATERAL (SELECT pg_catalog.count(t.{pk}) AS n, pg_catalog.min(t.{pk}::text) AS id,
                                        {archived} AS archived
                                 FROM {table} t WHERE {on}) m
             WHERE m.n > 0"
        )
    } else {
        format!(
            "SELECT c.rn::text, pg_catalog.count(t.{pk}), pg_catalog.min(t.{pk}::text), {archived}
             FROM {from} AS c({cols}) JOIN {table} t ON {on} GROUP BY c.rn"
        )
    }
}

/// `INSERT … SELECT … ORDER BY rn RETURNING pk` for rows `$1::bigint[]` and
/// one text array per column (`$2…`), each turned into the column's value by
/// `values[i]` (an expression over `c.v{i}`). PostgreSQL returns the rows in
/// insertion order, which pairs ids with rows.
pub fn insert(e: Entity<'_>, columns: &[&str], values: &[String]) -> String {
    let n = columns.len();
    let cols: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    let types: Vec<&str> = std::iter::once("bigint[]").chain(std::iter::repeat_n("text[]", n)).collect();
    format!(
        "INSERT INTO {table} ({targets}) SELECT {values} FROM {from} AS c(rn, {cols}) ORDER BY c.rn RETURNING {pk}::text",
        table = e.table,
        targets = columns.join(", "),
        values = values.join(", "),
        from = rows_from(&params(1, &types)),
        cols = cols.join(", "),
        pk = e.pk,
    )
}

/// `UPDATE … RETURNING pk` of the records `$1::text[]` (ids), with flags
/// `$2::boolean[]` (unarchive) and `$3::boolean[]` (unarchive only) and one
/// text array per value (`$4…`). `sets` are (quoted column, new value
/// expression over `t.*` and `c.*`); only records whose values change are
/// written and returned.
pub fn update(e: Entity<'_>, values: usize, sets: &[(String, String)]) -> String {
    let cols: Vec<String> = (0..values).map(|i| format!("v{i}")).collect();
    let types: Vec<&str> =
        ["text[]", "boolean[]", "boolean[]"].into_iter().chain(std::iter::repeat_n("text[]", values)).collect();
    let assignments: Vec<String> = sets.iter().map(|(c, new)| format!("{c} = {new}")).collect();
    let olds: Vec<String> = sets.iter().map(|(c, _)| format!("t.{c}")).collect();
    let news: Vec<&str> = sets.iter().map(|(_, new)| new.as_str()).collect();
    format!(
        "UPDATE {table} t SET {assignments} FROM {from} AS c(id, unarchive, unarchive_only, {cols})
         WHERE t.{pk} = (c.id)::{pk_type} AND ROW({olds}) IS DISTINCT FROM ROW({news}) RETURNING t.{pk}::text",
        table = e.table,
        assignments = assignments.join(", "),
        from = rows_from(&params(1, &types)),
        cols = cols.join(", "),
        pk = e.pk,
        pk_type = e.pk_type,
        olds = olds.join(", "),
        news = news.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn squash(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    const ENTITY: Entity<'static> =
        Entity { table: "public.things", pk: "\"id\"", pk_type: "bigint", archived: Some(("\"archived\"", true)) };

    #[test]
    fn arrays_side_by_side() {
        assert_eq!(params(2, &["text[]", "bigint[]"]), ["$2::text[]", "$3::bigint[]"]);
        assert_eq!(
            rows_from(&params(1, &["bigint[]", "text[]"])),
            "ROWS FROM (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::text[]))"
        );
    }

    #[test]
    fn lookups_both_ways() {
        let r = Related { table: "public.v", pk: "\"id\"", column: "\"code\"", column_type: "text" };
        assert_eq!(
            squash(&lookup(r, true)),
            "SELECT u.k, m.n, m.id, false FROM pg_catalog.unnest($1::text[]) AS u(k) CROSS JOIN LATERAL \
             (SELECT pg_catalog.count(l.\"id\") AS n, pg_catalog.min(l.\"id\"::text) AS id FROM public.v l \
             WHERE l.\"code\" = (u.k)::text) m"
        );
        assert_eq!(
            squash(&lookup(r, false)),
            "SELECT u.k, pg_catalog.count(l.\"id\"), pg_catalog.min(l.\"id\"::text), false FROM \
             pg_catalog.unnest($1::text[]) AS u(k) LEFT JOIN public.v l ON l.\"code\" = (u.k)::text GROUP BY u.k"
        );
    }

    #[test]
    fn archived_flags() {
        assert_eq!(archived_flag(None), "false");
        assert_eq!(archived_flag(Some(("\"a\"", true))), "coalesce(pg_catalog.bool_or(t.\"a\" IS TRUE), false)");
        assert_eq!(archived_flag(Some(("\"d\"", false))), "coalesce(pg_catalog.bool_or(t.\"d\" IS NOT NULL), false)");
    }

    #[test]
    fn matching_both_ways() {
        let keys = [("\"code\"", "text"), ("\"region\"", "character varying")];
        assert_eq!(
            squash(&matching(ENTITY, &keys, false)),
            "SELECT c.rn::text, pg_catalog.count(t.\"id\"), pg_catalog.min(t.\"id\"::text), \
             coalesce(pg_catalog.bool_or(t.\"archived\" IS TRUE), false) FROM ROWS FROM \
             (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[])) \
             AS c(rn, k0, k1) JOIN public.things t ON t.\"code\" = (c.k0)::text AND \
             t.\"region\" = (c.k1)::character varying GROUP BY c.rn"
        );
        let indexed = squash(&matching(ENTITY, &keys[..1], true));
        assert!(indexed.starts_with("SELECT c.rn::text, m.n, m.id, m.archived FROM ROWS FROM"), "{indexed}");
        assert!(
            indexed.ends_with("FROM public.things t WHERE t.\"code\" = (c.k0)::text) m WHERE m.n > 0"),
            "{indexed}"
        );
    }

    #[test]
    fn inserts_and_updates() {
        assert_eq!(
            squash(&insert(ENTITY, &["\"code\"", "\"n\""], &["(c.v0)::text".into(), "(c.v1)::integer".into()])),
            "INSERT INTO public.things (\"code\", \"n\") SELECT (c.v0)::text, (c.v1)::integer FROM ROWS FROM \
             (pg_catalog.unnest($1::bigint[]), pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[])) \
             AS c(rn, v0, v1) ORDER BY c.rn RETURNING \"id\"::text"
        );
        let sets = [("\"n\"".to_string(), "(c.v0)::integer".to_string())];
        assert_eq!(
            squash(&update(ENTITY, 1, &sets)),
            "UPDATE public.things t SET \"n\" = (c.v0)::integer FROM ROWS FROM (pg_catalog.unnest($1::text[]), \
             pg_catalog.unnest($2::boolean[]), pg_catalog.unnest($3::boolean[]), pg_catalog.unnest($4::text[])) \
             AS c(id, unarchive, unarchive_only, v0) WHERE t.\"id\" = (c.id)::bigint AND ROW(t.\"n\") IS DISTINCT \
             FROM ROW((c.v0)::integer) RETURNING t.\"id\"::text"
        );
    }
}
