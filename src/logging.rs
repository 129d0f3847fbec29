//! Where log lines go and how they look: `[log]` in the config (level, `text` or `json`, whether
//! the access log is on), `-v` and `RUST_LOG` on the command line. Lines go to stderr, so stdout
//! carries only a command's result. The access log is the target `switchyard::access`
//! ([`crate::public::access`]): one line per device request, in the chosen format.

use serde::{Deserialize, Serialize};

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line (for log shippers).
    Json,
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `RUST_LOG`-style directives (`info`, `warn,switchyard=debug` …); empty: the built-in
    /// default (`warn`, and `info` for the server's own state changes and the access log).
    pub level: String,
    /// `text` or `json`.
    pub format: LogFormat,
    /// One line per device request under the target `switchyard::access`.
    pub access: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: String::new(), format: LogFormat::Text, access: true }
    }
}

/// The filter directives in force: `RUST_LOG` first, then `-v`, then the config, then the default.
pub fn directives(config: &LogConfig, verbose: u8, serving: bool, rust_log: Option<&str>) -> String {
    let base = match (rust_log, verbose, serving) {
        (Some(env), _, _) if !env.trim().is_empty() => return env.to_owned(),
        (_, 1, _) => "info".to_owned(),
        (_, 2, _) => "debug".to_owned(),
        (_, 3.., _) => "trace".to_owned(),
        _ if !config.level.trim().is_empty() => config.level.clone(),
        (_, _, true) => "warn,switchyard=info,switchyard_actors=info".to_owned(),
        _ => "warn".to_owned(),
    };
    if config.access { base } else { format!("{base},switchyard::access=off") }
}

/// Installs the subscriber writing to stderr (once per process; later calls do nothing).
pub fn init(config: &LogConfig, verbose: u8, serving: bool) {
    let rust_log = std::env::var("RUST_LOG").ok();
    install(config, &directives(config, verbose, serving, rust_log.as_deref()), std::io::stderr);
}

/// Installs the subscriber for `directives` in `config`'s format, writing to `writer`; whether it
/// was installed (a process has one, the first).
pub fn install<W>(config: &LogConfig, directives: &str, writer: W) -> bool
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_new(directives).unwrap_or_else(|e| {
        eprintln!("warning: log level `{directives}` not understood ({e}); using warn");
        tracing_subscriber::EnvFilter::new("warn")
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match config.format {
        LogFormat::Text => builder.try_init().is_ok(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init().is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_wins_then_verbosity_then_the_config_then_the_default() {
        let mut config = LogConfig::default();
        assert_eq!(directives(&config, 0, true, None), "warn,switchyard=info,switchyard_actors=info");
        assert_eq!(directives(&config, 0, false, None), "warn");
        config.level = "debug".into();
        assert_eq!(directives(&config, 0, true, None), "debug");
        assert_eq!(directives(&config, 1, true, None), "info");
        assert_eq!(directives(&config, 1, true, Some("trace")), "trace");
        config.access = false;
        assert_eq!(directives(&config, 0, true, None), "debug,switchyard::access=off");
    }
}
