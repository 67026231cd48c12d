//! The per-connector settings that parsing values depends on.
use std::str::FromStr;

/// Per-connector settings that parsing depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Zone of datetimes written without an offset (and of Excel serials).
    pub timezone: chrono_tz::Tz,
    /// Default region for phone numbers without a `+` country code.
    pub phone_region: String,
}

impl Default for Context {
    fn default() -> Self {
        Context { timezone: chrono_tz::Tz::UTC, phone_region: "US".to_owned() }
    }
}

impl Context {
    /// The context of a connector's settings; unset keys keep the defaults.
    pub fn from_settings(settings: &crate::document::Settings) -> Result<Context, String> {
        let mut ctx = Context::default();
        if let Some(tz) = &settings.timezone {
            ctx.timezone = tz.parse().map_err(|_| format!("`{tz}` is not a known time zone"))?;
        }
        if let Some(region) = &settings.phone_region {
            check_phone_region(region)?;
            ctx.phone_region = region.clone();
        }
        Ok(ctx)
    }
}

/// Checks that `region` is a region the phone metadata knows (`US`, `DE`).
pub fn check_phone_region(region: &str) -> Result<(), String> {
    phonenumber::country::Id::from_str(region).map(|_| ()).map_err(|_| format!("`{region}` is not a phone region"))
}
