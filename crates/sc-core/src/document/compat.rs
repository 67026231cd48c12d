//! Whether a variable's values fit a PostgreSQL column, checked when a
//! connector is saved (SPEC §6) rather than discovered at run time.

use super::model::VariableType;

/// A column of an entity table, as the extension reads it from the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgColumn {
    pub name: String,
    /// `format_type` of the element type, e.g. `numeric`, `integer`, `text`,
    /// `character varying(20)`, `timestamp with time zone`, `uuid`, `jsonb`.
    pub type_name: String,
    /// The column is an array of `type_name`.
    pub is_array: bool,
    /// `type_name` is an enum type.
    pub is_enum: bool,
}

/// The kinds of element type the rules below tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Text,
    Enum,
    Jsonb,
    Number,
    Boolean,
    Date,
    Timestamp,
    TimestampTz,
    Uuid,
    Other,
}

/// `Ok` when values of a variable of `var_type` (a list when `var_is_array`)
/// can be written to `col`; otherwise a readable reason.
///
/// * every type fits the text family (`text`, `varchar`, `char`, `citext`);
/// * string fits enums and `jsonb`; number fits the numeric types and
///   `money`; boolean fits `boolean`; date fits `date` and both
///   timestamps; datetime fits both timestamps and `date`; uuid fits `uuid`;
///   email and phone fit only the text family;
/// * an array variable fits an array column of a fitting element type, a
///   text-family column (written as the JSON array text, `["a","b"]`) or `jsonb`;
/// * a single value fits an array column of a fitting element type (it is
///   written as a one-element array).
pub fn value_fits(var_type: VariableType, var_is_array: bool, col: &PgColumn) -> Result<(), String> {
    let (element, col_is_array) = element_type(col);
    let family = family_of(&element, col.is_enum);
    let fits = if var_is_array && !col_is_array {
        matches!(family, Family::Text | Family::Jsonb)
    } else {
        element_fits(var_type, family)
    };
    if fits {
        return Ok(());
    }
    let shown =
        if col_is_array { format!("{}[]", col.type_name.trim_end_matches("[]")) } else { col.type_name.clone() };
    let what = if var_is_array { "array variable of type" } else { "variable type" };
    Err(format!("{what} {var_type} does not fit column \"{}\" of type {shown}", col.name))
}

/// One value of `var_type` into one element of `family`.
fn element_fits(var_type: VariableType, family: Family) -> bool {
    if family == Family::Text {
        return true;
    }
    match var_type {
        VariableType::String => matches!(family, Family::Enum | Family::Jsonb),
        VariableType::Number => family == Family::Number,
        VariableType::Boolean => family == Family::Boolean,
        VariableType::Date | VariableType::Datetime => {
            matches!(family, Family::Date | Family::Timestamp | Family::TimestampTz)
        }
        VariableType::Uuid => family == Family::Uuid,
        VariableType::Email | VariableType::Phone => false,
    }
}

/// The normalised element type name and whether the column is an array
/// (from the flag, or a `[]` left on the type name).
fn element_type(col: &PgColumn) -> (String, bool) {
    let mut name = col.type_name.trim().to_ascii_lowercase();
    let mut is_array = col.is_array;
    while let Some(stripped) = name.strip_suffix("[]") {
        name = stripped.trim_end().to_string();
        is_array = true;
    }
    (strip_modifiers(&name), is_array)
}

/// Removes type modifiers and extra spaces:
/// `timestamp(3) with time zone` → `timestamp with time zone`,
/// `character varying(20)` → `character varying`.
fn strip_modifiers(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn family_of(element: &str, is_enum: bool) -> Family {
    if is_enum {
        return Family::Enum;
    }
    // Extension types may come schema-qualified (`public.citext`).
    let unqualified = element.rsplit('.').next().unwrap_or(element).trim_matches('"');
    match unqualified {
        "text" | "character varying" | "varchar" | "character" | "char" | "bpchar" | "citext" => Family::Text,
        "jsonb" => Family::Jsonb,
        "numeric" | "decimal" | "integer" | "int" | "int4" | "bigint" | "int8" | "smallint" | "int2" | "real"
        | "float4" | "double precision" | "float8" | "money" => Family::Number,
        "boolean" | "bool" => Family::Boolean,
        "date" => Family::Date,
        "timestamp without time zone" | "timestamp" => Family::Timestamp,
        "timestamp with time zone" | "timestamptz" => Family::TimestampTz,
        "uuid" => Family::Uuid,
        _ => Family::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use VariableType::*;

    fn col(type_name: &str, is_array: bool, is_enum: bool) -> PgColumn {
        PgColumn { name: "c".to_string(), type_name: type_name.to_string(), is_array, is_enum }
    }

    const ALL: [VariableType; 8] = [String, Number, Boolean, Date, Datetime, Email, Phone, Uuid];

    #[test]
    fn every_type_fits_the_text_family() {
        for t in
            ["text", "character varying(20)", "character varying", "character(1)", "citext", "public.citext", "TEXT"]
        {
            for v in ALL {
                assert_eq!(value_fits(v, false, &col(t, false, false)), Ok(()), "{v} into {t}");
            }
        }
    }

    /// (variable type, column type, is_enum, fits) for single values into
    /// single columns.
    const SCALAR_CASES: &[(VariableType, &str, bool, bool)] = &[
        (String, "my_enum", true, true),
        (String, "jsonb", false, true),
        (String, "integer", false, false),
        (String, "uuid", false, false),
        (Number, "numeric", false, true),
        (Number, "numeric(12,2)", false, true),
        (Number, "integer", false, true),
        (Number, "bigint", false, true),
        (Number, "smallint", false, true),
        (Number, "real", false, true),
        (Number, "double precision", false, true),
        (Number, "money", false, true),
        (Number, "boolean", false, false),
        (Number, "jsonb", false, false),
        (Number, "my_enum", true, false),
        (Boolean, "boolean", false, true),
        (Boolean, "integer", false, false),
        (Date, "date", false, true),
        (Date, "timestamp without time zone", false, true),
        (Date, "timestamp with time zone", false, true),
        (Date, "timestamp(3) with time zone", false, true),
        (Date, "uuid", false, false),
        (Datetime, "timestamp with time zone", false, true),
        (Datetime, "timestamp(6) without time zone", false, true),
        (Datetime, "date", false, true),
        (Datetime, "time without time zone", false, false),
        (Uuid, "uuid", false, true),
        (Uuid, "bigint", false, false),
        (Email, "my_enum", true, false),
        (Email, "jsonb", false, false),
        (Phone, "bigint", false, false),
        (Phone, "my_enum", true, false),
        (String, "bytea", false, false),
    ];

    #[test]
    fn single_values() {
        for &(v, t, is_enum, fits) in SCALAR_CASES {
            assert_eq!(value_fits(v, false, &col(t, false, is_enum)).is_ok(), fits, "{v} into {t}");
        }
    }

    #[test]
    fn single_value_into_array_column_of_fitting_element() {
        for &(v, t, is_enum, fits) in SCALAR_CASES {
            assert_eq!(value_fits(v, false, &col(t, true, is_enum)).is_ok(), fits, "{v} into {t}[]");
        }
        assert_eq!(value_fits(Number, false, &col("integer[]", false, false)), Ok(()));
    }

    #[test]
    fn arrays() {
        let cases: &[(VariableType, &str, bool, bool)] = &[
            (String, "text", true, true),
            (Number, "integer", true, true),
            (Number, "text", true, true),
            (Uuid, "uuid", true, true),
            (Number, "boolean", true, false),
            (String, "integer", true, false),
            // written into a text column as JSON array text, or a JSON array
            (Number, "text", false, true),
            (Email, "character varying(200)", false, true),
            (Date, "jsonb", false, true),
            (Phone, "jsonb", false, true),
            // a list never fits a single non-text value
            (Number, "integer", false, false),
            (String, "my_enum", false, false),
            (Uuid, "uuid", false, false),
        ];
        for &(v, t, col_is_array, fits) in cases {
            let c = col(t, col_is_array, t == "my_enum");
            assert_eq!(value_fits(v, true, &c).is_ok(), fits, "{v}[] into {t} (array: {col_is_array})");
        }
    }

    #[test]
    fn reasons_name_the_column_and_types() {
        let mut c = col("boolean", false, false);
        c.name = "name".to_string();
        assert_eq!(
            value_fits(Number, false, &c),
            Err("variable type number does not fit column \"name\" of type boolean".to_string())
        );
        let mut c = col("integer", true, false);
        c.name = "tags".to_string();
        assert_eq!(
            value_fits(String, true, &c),
            Err("array variable of type string does not fit column \"tags\" of type integer[]".to_string())
        );
    }
}
