//! Reading configuration from the environment with documented defaults.

use std::str::FromStr;

/// A configuration error names the variable and what was wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

/// `name` from the environment, or `default` when it is unset or empty.
pub fn var_or(name: &'static str, default: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => default.to_string(),
    }
}

/// `name` parsed as `T`, or `default` when unset.
pub fn parse_or<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.parse().map_err(|e: T::Err| ConfigError {
            name,
            value: v,
            reason: e.to_string(),
        }),
        _ => Ok(default),
    }
}
