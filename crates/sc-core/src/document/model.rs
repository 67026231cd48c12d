//! The connector document (SPEC §8.1) as serde types: the export format, key for key.
//!
//! Every struct denies unknown keys. Optional keys and keys with a default
//! are kept as given: an omitted key is `None` (or an empty list) and is
//! omitted again when the document is written back, so parse → serialize →
//! parse → serialize is a fixed point and a default is never written out on
//! the user's behalf. Methods with the field's name (`MatchRule::no_match()`,
//! `MapRule::conflict()`, …) return the effective value with the default of
//! SPEC §6 applied.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// One connector, as exported and imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorDocument {
    /// Stable unique identifier, `^[a-z][a-z0-9_]{0,62}$`.
    pub api_name: String,
    /// Display name.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub connector_type: ConnectorType,
    /// As given; see [`ConnectorDocument::status`] for the effective value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// ClickHouse SQL; `None` means pass-through (not allowed for webhooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// SQL parameters: name → scalar value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Reference data visible to the SQL as `pg.<name>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_steps: Vec<LoadStep>,
    #[serde(default, skip_serializing_if = "Settings::is_empty")]
    pub settings: Settings,
}

impl ConnectorDocument {
    /// The effective status: `setup` when the document does not say.
    pub fn status(&self) -> Status {
        self.status.unwrap_or_default()
    }

    /// The variable with this exact name.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// The load step with this exact name.
    pub fn step(&self, name: &str) -> Option<&LoadStep> {
        self.load_steps.iter().find(|s| s.name == name)
    }
}

/// Where a connector's input comes from (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorType {
    Spreadsheet,
    Webhook,
    Scheduler,
}

/// Connector status (SPEC §8). Only `operational` and `needs_attention` run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Setup,
    Operational,
    NeedsAttention,
    Inactive,
}

/// A reference table: exactly one of `table` and `query` (checked by validation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// An execution variable (SPEC §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    pub name: String,
    /// Output column; `None` means the column called `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Output table; `None` means the only one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(rename = "type")]
    pub var_type: VariableType,
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub array: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
    /// A static value instead of a column (a JSON scalar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

impl Variable {
    /// The output column this variable reads (`source`, else `name`);
    /// `None` for a static `value`.
    pub fn source_column(&self) -> Option<&str> {
        if self.value.is_some() {
            return None;
        }
        Some(self.source.as_deref().unwrap_or(&self.name))
    }
}

/// The type of an execution variable (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableType {
    String,
    Number,
    Boolean,
    Date,
    Datetime,
    Email,
    Phone,
    Uuid,
}

/// One load step: a scope written into one entity table (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadStep {
    pub name: String,
    /// Output table the step reads; `None` means the only one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Entity table, `table` or `schema.table` (identifiers may be double-quoted).
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_column: Option<String>,
    /// Matching rules in order; none means every row is created.
    #[serde(rename = "match", default, skip_serializing_if = "Vec::is_empty")]
    pub match_rules: Vec<MatchRule>,
    #[serde(rename = "map", default, skip_serializing_if = "Vec::is_empty")]
    pub map_rules: Vec<MapRule>,
    /// Function called once per chunk, `name` or `schema.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_load: Option<String>,
}

/// A matching rule: `columns` or `primary_key` (exactly one, checked by
/// validation), with the action for each outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRule {
    /// Table column → variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<BTreeMap<String, String>>,
    /// Variable holding the table's primary key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_match: Option<NoMatchAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_match: Option<OneMatchAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub many_matches: Option<ManyMatchesAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<ArchivedAction>,
}

/// What a matching rule compares, once the document is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKey<'a> {
    Columns(&'a BTreeMap<String, String>),
    PrimaryKey(&'a str),
}

impl MatchRule {
    /// `None` when the rule names both or neither (a validation problem).
    pub fn key(&self) -> Option<MatchKey<'_>> {
        match (&self.columns, &self.primary_key) {
            (Some(c), None) => Some(MatchKey::Columns(c)),
            (None, Some(p)) => Some(MatchKey::PrimaryKey(p)),
            _ => None,
        }
    }

    pub fn no_match(&self) -> NoMatchAction {
        self.no_match.unwrap_or_default()
    }

    pub fn one_match(&self) -> OneMatchAction {
        self.one_match.unwrap_or_default()
    }

    pub fn many_matches(&self) -> ManyMatchesAction {
        self.many_matches.unwrap_or_default()
    }

    pub fn archived(&self) -> ArchivedAction {
        self.archived.unwrap_or_default()
    }
}

/// Action when no row matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoMatchAction {
    #[default]
    Create,
    NextRule,
    Skip,
}

/// Action when exactly one row matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OneMatchAction {
    #[default]
    Update,
    NextRule,
    Skip,
}

/// Action when several rows match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManyMatchesAction {
    #[default]
    Skip,
    NextRule,
}

/// Action when the match is archived (the step has an `archived_column`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchivedAction {
    #[default]
    Create,
    UnarchiveAndUpdate,
    UnarchiveOnly,
    NextRule,
    Skip,
}

/// A mapping rule: `column` filled from exactly one of `variable`,
/// `variables` (joined) or `lookup` (checked by validation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapRule {
    pub column: String,
    /// A variable name, or an entity variable `<step>.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// Variables joined with `separator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<Lookup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Conflict>,
}

/// Where a mapping rule's value comes from, once the document is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapSource<'a> {
    Variable(&'a str),
    Joined { variables: &'a [String], separator: &'a str },
    Lookup(&'a Lookup),
}

/// Separator of joined variables when the rule does not say.
pub const DEFAULT_SEPARATOR: &str = " ";

impl MapRule {
    /// `None` when the rule names more than one source or none.
    pub fn source(&self) -> Option<MapSource<'_>> {
        match (&self.variable, &self.variables, &self.lookup) {
            (Some(v), None, None) => Some(MapSource::Variable(v)),
            (None, Some(vs), None) => Some(MapSource::Joined { variables: vs, separator: self.separator() }),
            (None, None, Some(l)) => Some(MapSource::Lookup(l)),
            _ => None,
        }
    }

    pub fn separator(&self) -> &str {
        self.separator.as_deref().unwrap_or(DEFAULT_SEPARATOR)
    }

    pub fn conflict(&self) -> Conflict {
        self.conflict.unwrap_or_default()
    }
}

/// Fill a foreign key by looking the related row up by a column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    pub table: String,
    pub column: String,
    pub variable: String,
}

/// Conflict resolution for an existing row's column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conflict {
    #[default]
    OnlyUpdateBlank,
    Overwrite,
    OverwriteExceptNull,
    AddOptions,
}

/// Connector settings; every `None` takes the server default at run time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_check: Option<bool>,
    /// IANA zone for datetimes without an offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Default region for phone numbers, e.g. `US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_time_limit_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_memory_limit_mb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_threads: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_max_output_rows: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_channel: Option<String>,
    /// URL that receives the "execution ended" POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_webhook: Option<String>,
    /// The sc secret whose `key` (or only) value signs the "execution ended"
    /// POST (HMAC-SHA256, see `sc_core::ended`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_webhook_secret: Option<String>,
    /// Cron expression or pg_cron interval (`30 seconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Scheduler connectors: what a tick does while the previous run is
    /// still queued or running (`skip`, the default, or `queue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap: Option<Overlap>,
    /// Webhook connectors: how often pending calls become a batch
    /// (`30 seconds` to `3 hours`; default 5 minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cadence: Option<String>,
    /// Webhook connectors: most calls in one batch (default 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batch_calls: Option<u32>,
    /// Webhook connectors: the HMAC signature that lets senders post
    /// anonymously to the connector's own endpoint (`/rpc/<api_name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_signature: Option<WebhookSignature>,
}

/// How a signing sender (GitHub, Shopify, Stripe, …) signs its calls: an
/// HMAC over the raw body (with `scheme: stripe`, over `<t>.<body>`), keyed
/// by an sc secret, carried in one request header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSignature {
    /// The request header holding the signature, e.g. `X-Hub-Signature-256`.
    pub header: String,
    /// The sc secret whose `key` (or only) value is the HMAC key.
    pub secret: String,
    /// `sha256` (default), `sha1` or `sha512`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<HmacAlgorithm>,
    /// `hex` (default) or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<SignatureEncoding>,
    /// Text before the signature in the header, e.g. `sha256=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `plain` (default: the header holds the signature of the body) or
    /// `stripe` (`t=<unix time>,v1=<signature of "<t>.<body>">`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<SignatureScheme>,
    /// `stripe`: how old the signed time may be, in seconds (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_s: Option<u32>,
}

impl WebhookSignature {
    pub fn algorithm(&self) -> HmacAlgorithm {
        self.algorithm.unwrap_or(HmacAlgorithm::Sha256)
    }
    pub fn encoding(&self) -> SignatureEncoding {
        self.encoding.unwrap_or(SignatureEncoding::Hex)
    }
    pub fn scheme(&self) -> SignatureScheme {
        self.scheme.unwrap_or(SignatureScheme::Plain)
    }
    pub fn tolerance_s(&self) -> u32 {
        self.tolerance_s.unwrap_or(300)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    /// A tick that finds the previous run queued or running starts nothing.
    #[default]
    Skip,
    /// A tick queues a run behind a running one (never more than one waiting).
    Queue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HmacAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    Hex,
    Base64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureScheme {
    Plain,
    Stripe,
}

impl Settings {
    /// True when no setting is given (the whole object is then omitted).
    pub fn is_empty(&self) -> bool {
        *self == Settings::default()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `as_str` (the document spelling) and `Display` for unit-variant enums.
macro_rules! spelled {
    ($t:ty { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $t {
            /// The document spelling, e.g. `next_rule`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(<$t>::$variant => $text,)*
                }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

spelled!(Overlap { Skip => "skip", Queue => "queue" });
spelled!(ConnectorType { Spreadsheet => "spreadsheet", Webhook => "webhook", Scheduler => "scheduler" });
spelled!(Status {
    Setup => "setup",
    Operational => "operational",
    NeedsAttention => "needs_attention",
    Inactive => "inactive",
});
spelled!(VariableType {
    String => "string",
    Number => "number",
    Boolean => "boolean",
    Date => "date",
    Datetime => "datetime",
    Email => "email",
    Phone => "phone",
    Uuid => "uuid",
});
spelled!(NoMatchAction { Create => "create", NextRule => "next_rule", Skip => "skip" });
spelled!(OneMatchAction { Update => "update", NextRule => "next_rule", Skip => "skip" });
spelled!(ManyMatchesAction { Skip => "skip", NextRule => "next_rule" });
spelled!(ArchivedAction {
    Create => "create",
    UnarchiveAndUpdate => "unarchive_and_update",
    UnarchiveOnly => "unarchive_only",
    NextRule => "next_rule",
    Skip => "skip",
});
spelled!(Conflict {
    OnlyUpdateBlank => "only_update_blank",
    Overwrite => "overwrite",
    OverwriteExceptNull => "overwrite_except_null",
    AddOptions => "add_options",
});
