//! The admin commands (design §10): each one request (or two: `routing` reads, changes, writes) to
//! a running server's admin API, printed for people — or as the server's JSON with `--json`. Every
//! write says which environment it went to.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Value, json};

use super::client::{Body, Client, Target};

/// The admin subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Publish FILE as a new revision of NS/NAME (the first one becomes active).
    Push {
        /// `namespace/name`.
        endpoint: String,
        /// The script.
        file: PathBuf,
        /// Notes for the audit log.
        #[arg(long, default_value = "")]
        notes: String,
        /// Server and token.
        #[command(flatten)]
        target: Target,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the endpoints with their routing.
    List {
        /// Server and token.
        #[command(flatten)]
        target: Target,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show an endpoint (routing and revisions), one revision, or its source.
    Show {
        /// `namespace/name`.
        endpoint: String,
        /// This revision.
        #[arg(long)]
        revision: Option<u32>,
        /// Print only the source (of `--revision`, else of the active revision).
        #[arg(long)]
        source: bool,
        /// Server and token.
        #[command(flatten)]
        target: Target,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show or change routing: the active revision, a canary share, A/B variants.
    Routing {
        /// `namespace/name`.
        endpoint: String,
        /// Make this revision active.
        #[arg(long)]
        active: Option<u32>,
        /// `REV:PCT`: give revision REV a canary share of PCT %.
        #[arg(long, value_parser = parse_canary)]
        canary: Option<(u32, f64)>,
        /// `NAME:REV:PCT` (repeatable): the variants, replacing the current ones.
        #[arg(long = "variant", value_parser = parse_variant)]
        variants: Vec<(String, u32, f64)>,
        /// Remove the canary and every variant (applied before the other flags).
        #[arg(long)]
        clear: bool,
        /// Server and token.
        #[command(flatten)]
        target: Target,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make the previously active revision active again (and clear the canary).
    Rollback {
        /// `namespace/name`.
        endpoint: String,
        /// Server and token.
        #[command(flatten)]
        target: Target,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop serving an endpoint (its revisions are kept).
    Delete {
        /// `namespace/name`.
        endpoint: String,
        /// Server and token.
        #[command(flatten)]
        target: Target,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// The change log.
    Audit {
        /// Entries after this sequence number.
        #[arg(long)]
        after: Option<u64>,
        /// At most this many.
        #[arg(long)]
        limit: Option<usize>,
        /// Server and token.
        #[command(flatten)]
        target: Target,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// The live state of every dependency.
    Deps {
        /// Server and token.
        #[command(flatten)]
        target: Target,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the fan-out the server kept for a request sent with `X-Switchyard-Trace: 1`.
    Trace {
        /// The request's `X-Request-Id`.
        request_id: String,
        /// Server and token.
        #[command(flatten)]
        target: Target,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Inject chaos into a dependency (latency monkey), or clear it.
    Chaos {
        /// The dependency.
        dependency: String,
        /// Added latency.
        #[arg(long)]
        latency_ms: Option<u64>,
        /// Share of calls that fail, 0-100.
        #[arg(long)]
        error_percent: Option<u8>,
        /// Calls never answer.
        #[arg(long)]
        hang: bool,
        /// Seconds until it lapses by itself.
        #[arg(long = "for")]
        for_s: Option<u64>,
        /// Remove it.
        #[arg(long, conflicts_with_all = ["latency_ms", "error_percent", "hang", "for_s"])]
        clear: bool,
        /// Server and token.
        #[command(flatten)]
        target: Target,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_canary(text: &str) -> Result<(u32, f64), String> {
    let (rev, pct) = text.split_once(':').ok_or_else(|| format!("`{text}` is not REV:PCT"))?;
    Ok((
        rev.parse().map_err(|_| format!("`{rev}` is not a revision"))?,
        pct.parse().map_err(|_| format!("`{pct}` is not a percent"))?,
    ))
}

fn parse_variant(text: &str) -> Result<(String, u32, f64), String> {
    let mut parts = text.splitn(3, ':');
    let (Some(name), Some(rev), Some(pct)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("`{text}` is not NAME:REV:PCT"));
    };
    let (rev, pct) = parse_canary(&format!("{rev}:{pct}"))?;
    Ok((name.to_owned(), rev, pct))
}

/// `ns/name` → `/endpoints/ns/name`.
fn endpoint_path(endpoint: &str) -> anyhow::Result<String> {
    match endpoint.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(format!("/endpoints/{ns}/{name}"))
        }
        _ => anyhow::bail!("`{endpoint}` is not NAMESPACE/NAME (for example tv/home)"),
    }
}

/// Runs one admin command.
pub fn run(command: AdminCommand) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(execute(command))
}

async fn execute(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Push { endpoint, file, notes, target, json } => {
            let source =
                std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let body = if notes.is_empty() {
                Body::Script(source)
            } else {
                Body::Json(json!({"source": source, "notes": notes}))
            };
            let client = Client::new(&target)?;
            let answer =
                client.send(Method::POST, &format!("{}/revisions", endpoint_path(&endpoint)?), Some(body)).await?;
            print(json, &answer, || {
                let next = if answer["activated"] == true {
                    "it is active".to_owned()
                } else {
                    format!(
                        "it gets no traffic yet: `switchyard routing {endpoint} --canary {}:10` or `--active {}`",
                        answer["revision"], answer["revision"]
                    )
                };
                format!(
                    "published {endpoint} revision {} to {} (sha256 {}); {next}\n",
                    answer["revision"],
                    text(&answer["environment"]),
                    &text(&answer["sha256"]).chars().take(12).collect::<String>()
                )
            });
        }
        AdminCommand::List { target, json } => {
            let answer = Client::new(&target)?.send(Method::GET, "/endpoints", None).await?;
            print(json, &answer, || {
                let mut out =
                    format!("{:<28} {:>6} {:>9}  {}\n", "ENDPOINT", "ACTIVE", "REVISIONS", "CANARY / VARIANTS");
                for e in answer.as_array().into_iter().flatten() {
                    out.push_str(&format!(
                        "{:<28} {:>6} {:>9}  {}\n",
                        text(&e["endpoint"]),
                        text(&e["routing"]["active"]),
                        text(&e["revisions"]),
                        shares(&e["routing"])
                    ));
                }
                out
            });
        }
        AdminCommand::Show { endpoint, revision, source, target, json } => {
            let client = Client::new(&target)?;
            let path = endpoint_path(&endpoint)?;
            let number = match (revision, source) {
                (Some(n), _) => Some(n),
                (None, true) => {
                    client.send(Method::GET, &path, None).await?["routing"]["active"].as_u64().map(|n| n as u32)
                }
                (None, false) => None,
            };
            match number {
                Some(n) => {
                    let answer = client.send(Method::GET, &format!("{path}/revisions/{n}"), None).await?;
                    print(json, &answer, || {
                        if source {
                            text(&answer["source"])
                        } else {
                            format!(
                                "{endpoint} revision {n}\n  sha256  {}\n  author  {}\n  at      {} ms\n  notes   {}\n  size    {} bytes\n",
                                text(&answer["sha256"]),
                                text(&answer["author"]),
                                answer["at_ms"],
                                text(&answer["notes"]),
                                answer["source"].as_str().map_or(0, str::len)
                            )
                        }
                    });
                }
                None => {
                    let answer = client.send(Method::GET, &path, None).await?;
                    print(json, &answer, || {
                        let mut out = format!(
                            "{endpoint}: active {}  {}\nrollback goes to: {}\n{:>4}  {:<12} {:<12} {:>8}  NOTES\n",
                            answer["routing"]["active"],
                            shares(&answer["routing"]),
                            answer["active_history"]
                                .as_array()
                                .and_then(|h| h.last())
                                .map_or("nothing".into(), Value::to_string),
                            "REV",
                            "SHA256",
                            "AUTHOR",
                            "BYTES"
                        );
                        for r in answer["revision_list"].as_array().into_iter().flatten() {
                            out.push_str(&format!(
                                "{:>4}  {:<12} {:<12} {:>8}  {}\n",
                                text(&r["number"]),
                                text(&r["sha256"]).chars().take(12).collect::<String>(),
                                text(&r["author"]),
                                text(&r["source_bytes"]),
                                text(&r["notes"])
                            ));
                        }
                        out
                    });
                }
            }
        }
        AdminCommand::Routing { endpoint, active, canary, variants, clear, target, json } => {
            let client = Client::new(&target)?;
            let path = endpoint_path(&endpoint)?;
            let current = client.send(Method::GET, &path, None).await?;
            let mut routing = current["routing"].clone();
            let changing = clear || active.is_some() || canary.is_some() || !variants.is_empty();
            if !changing {
                print(json, &routing, || format!("{endpoint}: active {}  {}\n", routing["active"], shares(&routing)));
                return Ok(());
            }
            if clear {
                routing["canary"] = Value::Null;
                routing["variants"] = json!([]);
            }
            if let Some(active) = active {
                routing["active"] = json!(active);
            }
            if let Some((revision, percent)) = canary {
                routing["canary"] = json!({"revision": revision, "percent": percent});
            }
            if !variants.is_empty() {
                routing["variants"] = variants
                    .iter()
                    .map(|(name, revision, percent)| json!({"name": name, "revision": revision, "percent": percent}))
                    .collect();
            }
            let answer = client.send(Method::PUT, &format!("{path}/routing"), Some(Body::Json(routing))).await?;
            print(json, &answer, || {
                let set = &answer["outcome"]["routing_set"]["routing"];
                format!("{endpoint} in {}: active {}  {}\n", text(&answer["environment"]), set["active"], shares(set))
            });
        }
        AdminCommand::Rollback { endpoint, target, json } => {
            let path = format!("{}/rollback", endpoint_path(&endpoint)?);
            let answer = Client::new(&target)?.send(Method::POST, &path, None).await?;
            print(json, &answer, || {
                let back = &answer["outcome"]["rolled_back"];
                format!(
                    "{endpoint} in {}: rolled back from revision {} to {}\n",
                    text(&answer["environment"]),
                    back["from"],
                    back["to"]
                )
            });
        }
        AdminCommand::Delete { endpoint, target, json } => {
            let answer = Client::new(&target)?.send(Method::DELETE, &endpoint_path(&endpoint)?, None).await?;
            print(json, &answer, || {
                format!("{endpoint} deleted in {} (its revisions are kept)\n", text(&answer["environment"]))
            });
        }
        AdminCommand::Trace { request_id, target, json } => {
            let answer = Client::new(&target)?.send(Method::GET, &format!("/traces/{request_id}"), None).await?;
            print(json, &answer, || {
                let variant = answer["variant"].as_str().map(|v| format!(" ({v})")).unwrap_or_default();
                let calls = answer["calls"].as_array().cloned().unwrap_or_default();
                let mut out = format!(
                    "{} {} revision {}{variant} → {} in {:.1} ms, {} calls\n",
                    text(&answer["request_id"]),
                    text(&answer["endpoint"]),
                    answer["revision"],
                    answer["status"],
                    answer["duration_ms"].as_f64().unwrap_or(0.0),
                    answer["call_count"],
                );
                if answer["calls_dropped"].as_u64().unwrap_or(0) > 0 {
                    out.push_str(&format!(
                        "({} calls beyond [observe] trace_calls not kept)\n",
                        answer["calls_dropped"]
                    ));
                }
                out.push_str(&crate::observe::trace_tree::render(&calls));
                out
            })
        }
        AdminCommand::Audit { after, limit, target, json } => {
            let mut query = Vec::new();
            if let Some(after) = after {
                query.push(format!("after={after}"));
            }
            if let Some(limit) = limit {
                query.push(format!("limit={limit}"));
            }
            let path = if query.is_empty() { "/audit".to_owned() } else { format!("/audit?{}", query.join("&")) };
            let answer = Client::new(&target)?.send(Method::GET, &path, None).await?;
            print(json, &answer, || {
                let mut out =
                    format!("{:>5}  {:>14}  {:<12} {:<24} {}\n", "SEQ", "AT MS", "AUTHOR", "ENDPOINT", "ACTION");
                for e in answer.as_array().into_iter().flatten() {
                    out.push_str(&format!(
                        "{:>5}  {:>14}  {:<12} {:<24} {}\n",
                        text(&e["seq"]),
                        text(&e["at_ms"]),
                        text(&e["author"]),
                        format!("{}/{}", text(&e["endpoint"]["namespace"]), text(&e["endpoint"]["name"])),
                        text(&e["action"])
                    ));
                }
                out
            });
        }
        AdminCommand::Deps { target, json } => {
            let answer = Client::new(&target)?.send(Method::GET, "/dependencies", None).await?;
            print(json, &answer, || {
                let mut out = format!(
                    "{:<12} {:<5} {:<9} {:>6} {:>8} {:>8} {:>9} {:>8}  {}\n",
                    "DEPENDENCY", "KIND", "BREAKER", "ERR %", "CALLS", "FALLBK", "P99 MS", "RUNNING", "CHAOS"
                );
                for d in answer.as_array().into_iter().flatten() {
                    let s = &d["snapshot"];
                    let r = &s["rolling"];
                    let calls = ["success", "failure", "timeout", "rejected"]
                        .iter()
                        .map(|k| r[k].as_u64().unwrap_or(0))
                        .sum::<u64>();
                    out.push_str(&format!(
                        "{:<12} {:<5} {:<9} {:>6} {:>8} {:>8} {:>9.1} {:>8}  {}\n",
                        text(&d["name"]),
                        text(&d["kind"]),
                        text(&s["breaker"]["state"]),
                        text(&s["error_percent"]),
                        calls,
                        text(&r["fallback_success"]),
                        s["latency_total"]["p99"].as_f64().unwrap_or(0.0),
                        text(&s["executing"]),
                        if d["chaos"].is_null() { "-".to_owned() } else { d["chaos"].to_string() }
                    ));
                }
                out
            });
        }
        AdminCommand::Chaos { dependency, latency_ms, error_percent, hang, for_s, clear, target, json } => {
            let client = Client::new(&target)?;
            let path = format!("/dependencies/{dependency}/chaos");
            let answer = if clear {
                client.send(Method::DELETE, &path, None).await?
            } else {
                let mut settings = json!({"hang": hang});
                if let Some(v) = latency_ms {
                    settings["latency_ms"] = json!(v);
                }
                if let Some(v) = error_percent {
                    settings["error_percent"] = json!(v);
                }
                if let Some(v) = for_s {
                    settings["duration_s"] = json!(v);
                }
                client.send(Method::PUT, &path, Some(Body::Json(settings))).await?
            };
            print(json, &answer, || {
                if clear {
                    format!("chaos cleared on {dependency}\n")
                } else {
                    format!("chaos on {dependency}: {}\n", answer["chaos"])
                }
            });
        }
    }
    Ok(())
}

/// `canary 4 10% · b→3 50%`, or `-`.
fn shares(routing: &Value) -> String {
    let mut parts = Vec::new();
    if routing["canary"].is_object() {
        parts.push(format!("canary {} {}%", routing["canary"]["revision"], percent(&routing["canary"]["percent"])));
    }
    for v in routing["variants"].as_array().into_iter().flatten() {
        parts.push(format!("{}→{} {}%", text(&v["name"]), v["revision"], percent(&v["percent"])));
    }
    if parts.is_empty() { "-".to_owned() } else { parts.join(" · ") }
}

/// `10` for 10.0, `2.5` for 2.5.
fn percent(value: &Value) -> String {
    value.as_f64().map_or_else(|| value.to_string(), |p| format!("{p}"))
}

pub(super) fn text(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

pub(super) fn print(json: bool, answer: &Value, human: impl FnOnce() -> String) {
    if json {
        super::emit(&format!("{}\n", serde_json::to_string_pretty(answer).unwrap_or_default()));
    } else {
        super::emit(&human());
    }
}
