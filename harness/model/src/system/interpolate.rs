//! Compose variable interpolation on the parsed file: `$VAR`, `${VAR}`, `${VAR:-default}`
//! (unset or empty), `${VAR-default}` (unset), `${VAR:?message}` and `${VAR?message}`
//! (required), and `$$` for a literal `$`. As in Compose, it applies to string values
//! after YAML parsing (never to keys), so a value can never change the file's structure.

use serde_yaml_ng::Value;

/// Why a value's variables cannot be substituted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum InterpolationError {
    /// Defaults nest deeper than [`MAX_NESTING`].
    #[error(
        "variables nest more than {MAX_NESTING} deep (`${{A:-${{B:-...}}}}`): simplify the \
         default"
    )]
    TooDeep,
    /// A `${` with no `}`; `shown` is the value, at most 60 characters.
    #[error("unterminated \"${{\" in \"{shown}\"")]
    Unterminated { shown: String },
    /// `${...}` whose expression does not start with a name.
    #[error("\"${{{expr}}}\" does not start with a variable name")]
    NoName { expr: String },
    /// `${NAME:?message}` or `${NAME?message}` with `NAME` unset (or empty, for `:?`).
    #[error("{name} is required: {message}")]
    Required { name: String, message: String },
    /// After the name comes something other than `:-`, `-`, `:?` or `?`.
    #[error("\"${{{expr}}}\": after the name only :-, -, :? or ? may follow")]
    BadOperator { expr: String },
}

/// Substitutes variables in every string value of `value`, looking names up with `vars`.
/// The error names the value's path (`services.api.image`) and what was wrong.
pub(super) fn value(
    value: &mut Value,
    vars: &dyn Fn(&str) -> Option<String>,
    path: &str,
) -> Result<(), (String, InterpolationError)> {
    match value {
        Value::String(s) => {
            *s = string(s, vars).map_err(|e| (path.to_string(), e))?;
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                self::value(item, vars, &format!("{path}[{i}]"))?;
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let key = k.as_str().map_or_else(|| format!("{k:?}"), str::to_string);
                let path = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                self::value(v, vars, &path)?;
            }
        }
        Value::Tagged(t) => self::value(&mut t.value, vars, path)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// How deep defaults may nest (`${A:-${B:-${C}}}` is 3 deep).
pub(crate) const MAX_NESTING: usize = 16;

/// Substitutes variables in one string.
pub(super) fn string(
    s: &str,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolationError> {
    nested(s, vars, 0)
}

fn nested(
    s: &str,
    vars: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<String, InterpolationError> {
    if depth >= MAX_NESTING {
        return Err(InterpolationError::TooDeep);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(braced) = after.strip_prefix('{') {
            let end = closing_brace(braced).ok_or_else(|| InterpolationError::Unterminated {
                shown: crate::input::shorten(s, 60).to_string(),
            })?;
            out.push_str(&braced_expr(&braced[..end], vars, depth)?);
            rest = &braced[end + 1..];
        } else {
            let len = name_len(after);
            if len == 0 {
                // A lone `$` (as in a regular expression) stays as it is, as in Compose.
                out.push('$');
                rest = after;
            } else {
                out.push_str(&vars(&after[..len]).unwrap_or_default());
                rest = &after[len..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` that closes an expression whose `${` came just before `s`
/// (a default may hold `${...}` itself).
fn closing_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' if s[..i].ends_with('$') => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The length of the variable name at the start of `s` (`[A-Za-z_][A-Za-z0-9_]*`).
fn name_len(s: &str) -> usize {
    let mut len = 0;
    for (i, c) in s.char_indices() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if !ok {
            break;
        }
        len = i + c.len_utf8();
    }
    len
}

/// `NAME`, `NAME:-default`, `NAME-default`, `NAME:?message`, `NAME?message`.
fn braced_expr(
    expr: &str,
    vars: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<String, InterpolationError> {
    let len = name_len(expr);
    let (name, op) = expr.split_at(len);
    if name.is_empty() {
        return Err(InterpolationError::NoName {
            expr: expr.to_string(),
        });
    }
    let required = |message: &str| InterpolationError::Required {
        name: name.to_string(),
        message: message.to_string(),
    };
    let value = vars(name);
    let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
    let arg = |prefix: &str| op.strip_prefix(prefix);
    if op.is_empty() {
        Ok(value.unwrap_or_default())
    } else if let Some(default) = arg(":-") {
        Ok(if set_nonempty {
            value.unwrap_or_default()
        } else {
            nested(default, vars, depth + 1)?
        })
    } else if let Some(default) = arg("-") {
        Ok(match value {
            Some(v) => v,
            None => nested(default, vars, depth + 1)?,
        })
    } else if let Some(message) = arg(":?") {
        match value {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(required(message)),
        }
    } else if let Some(message) = arg("?") {
        value.ok_or_else(|| required(message))
    } else {
        Err(InterpolationError::BadOperator {
            expr: expr.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::string;

    fn vars(name: &str) -> Option<String> {
        match name {
            "IMAGE" => Some("qalens-base:1".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_like_compose() {
        let s = |t: &str| string(t, &vars);
        assert_eq!(s("${IMAGE}").unwrap(), "qalens-base:1");
        assert_eq!(s("$IMAGE/x").unwrap(), "qalens-base:1/x");
        assert_eq!(s("${UNSET:-redis:7}").unwrap(), "redis:7");
        assert_eq!(s("${EMPTY:-fallback}").unwrap(), "fallback");
        assert_eq!(s("${EMPTY-fallback}").unwrap(), "");
        assert_eq!(s("${UNSET-${IMAGE}}").unwrap(), "qalens-base:1");
        assert_eq!(s("${UNSET}").unwrap(), "");
        assert_eq!(s("cost $$5 and ^a$").unwrap(), "cost $5 and ^a$");
        assert_eq!(s("${EMPTY?set}").unwrap(), "");
    }

    #[test]
    fn malformed_and_required_variables_are_errors() {
        let s = |t: &str| string(t, &vars);
        assert_eq!(
            s("${IMAGE").unwrap_err().to_string(),
            r#"unterminated "${" in "${IMAGE""#
        );
        assert_eq!(
            s("${:-x}").unwrap_err().to_string(),
            r#""${:-x}" does not start with a variable name"#
        );
        assert_eq!(
            s("${IMAGE/x}").unwrap_err().to_string(),
            r#""${IMAGE/x}": after the name only :-, -, :? or ? may follow"#
        );
        let e = s("${UNSET:?build refsys first}").unwrap_err();
        assert_eq!(e.to_string(), "UNSET is required: build refsys first");
        assert!(s("${EMPTY:?no}").is_err());
    }

    #[test]
    fn defaults_nested_beyond_the_limit_are_an_error_not_a_stack_overflow() {
        let deep = |n: usize| format!("{}x{}", "${U:-".repeat(n), "}".repeat(n));
        assert_eq!(string(&deep(super::MAX_NESTING - 1), &vars).unwrap(), "x");
        let e = string(&deep(5_000), &vars).unwrap_err();
        assert_eq!(
            e.to_string(),
            "variables nest more than 16 deep (`${A:-${B:-...}}`): simplify the default"
        );
    }
}
