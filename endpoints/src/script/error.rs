//! What a script did wrong, as data: the JavaScript exception (class, message, line, column) read
//! off the engine, and the error of a publish that does not compile.

use rquickjs::{Ctx, Object, Value};
use serde::Serialize;

/// A JavaScript exception, with where it was thrown when the engine says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct JsException {
    /// The error's class (`TypeError`, `SyntaxError`, `DependencyError` …), or `"Error"` when a
    /// non-Error value was thrown.
    pub name: String,
    /// Its message (or the thrown value as text).
    pub message: String,
    /// 1-based line in the revision's source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The engine's stack trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
}

impl std::fmt::Display for JsException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, " (line {line}, column {column})")?;
        }
        Ok(())
    }
}

impl JsException {
    /// Reads a thrown value. `module` is the revision's module name, whose frame in the stack gives
    /// the line and column when the error object has none of its own.
    pub(crate) fn from_value(value: &Value<'_>, module: &str) -> Self {
        let Some(object) = value.as_object() else {
            return Self { name: "Error".into(), message: display(value), ..Default::default() };
        };
        let text = |key: &str| object.get::<_, Option<rquickjs::Coerced<String>>>(key).ok().flatten().map(|c| c.0);
        let number = |key: &str| object.get::<_, Option<f64>>(key).ok().flatten().map(|n| n as u32);
        let stack = text("stack").filter(|s| !s.is_empty());
        let (mut line, mut column) = (number("lineNumber"), number("columnNumber"));
        if line.is_none()
            && let Some((l, c)) = stack.as_deref().and_then(|s| position_in_stack(s, module))
        {
            (line, column) = (Some(l), Some(c));
        }
        Self {
            name: text("name").unwrap_or_else(|| "Error".into()),
            message: text("message").unwrap_or_default(),
            line,
            column,
            stack,
        }
    }

    /// A string property of the thrown object (`dependency`, `kind` of a `DependencyError`).
    pub(crate) fn property(value: &Value<'_>, key: &str) -> Option<String> {
        let object: &Object = value.as_object()?;
        object.get::<_, Option<String>>(key).ok().flatten()
    }
}

fn display(value: &Value<'_>) -> String {
    value.get::<rquickjs::Coerced<String>>().map(|c| c.0).unwrap_or_else(|_| format!("{value:?}"))
}

/// `    at handle (tv/home:12:7)` → (12, 7), for the first frame in `module`.
fn position_in_stack(stack: &str, module: &str) -> Option<(u32, u32)> {
    stack.lines().find_map(|frame| {
        let at = frame.find(module)?;
        let rest = frame[at + module.len()..].strip_prefix(':')?;
        let mut parts = rest.split(|c: char| !c.is_ascii_digit());
        let line = parts.next()?.parse().ok()?;
        let column = parts.next()?.parse().ok()?;
        Some((line, column))
    })
}

/// Why a source could not be turned into a revision.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// The source does not compile (or imports a module); line and column point at the problem.
    #[error("{0}")]
    Compile(JsException),
    /// The engine itself failed (out of memory while compiling, …).
    #[error("script engine: {0}")]
    Engine(String),
}

impl ScriptError {
    pub(crate) fn engine(message: String) -> Self {
        Self::Engine(message)
    }
}

/// Turns an rquickjs error into a [`ScriptError`], reading the pending exception if there is one.
pub(crate) fn exception_of(ctx: &Ctx<'_>, error: rquickjs::Error, module: &str) -> ScriptError {
    if error.is_exception() {
        let thrown = ctx.catch();
        ScriptError::Compile(JsException::from_value(&thrown, module))
    } else {
        ScriptError::Engine(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_frames_give_line_and_column() {
        let stack = "    at tvRow (tv/home:31:12)\n    at handle (tv/home:9:3)\n";
        assert_eq!(position_in_stack(stack, "tv/home"), Some((31, 12)));
        assert_eq!(position_in_stack(stack, "ps3/home"), None);
        assert_eq!(position_in_stack("    at <anonymous> (tv/home:7)", "tv/home"), None);
    }
}
