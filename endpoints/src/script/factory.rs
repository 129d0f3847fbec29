//! A revision's module turned into a *factory*: the same source as the body of one function,
//! `export default async function __switchyard_factory() { …; return <the default export>; }`.
//!
//! Why: a request then runs in a context that is reused (its built-ins, natives and prelude set up
//! once and frozen, see [`super::warm`]) and still gets module scope of its own — each call of the
//! factory evaluates the revision's top level afresh, so a module-scope variable of one request is
//! never seen by the next. Loading a module per request would keep every loaded module in the
//! context until it is dropped.
//!
//! The rewrite is textual and conservative: a small JavaScript lexer (comments, strings, template
//! literals, regular expressions told from division by the token before) finds the top-level
//! `export` keywords and replaces each with text of the *same length*, so every line and column
//! but those of the first line stay where the author wrote them:
//! `export default function handle` → `               function handle` (+ `return handle;` at the
//! end), `export default <expr>` → `__sy_default = <expr>`, `export const` → `       const`,
//! `export { a, b }` → blanks. Anything else it does not recognise — re-exports, an `import`, the
//! name `__sy_default` in the source, a lexing surprise — gives `None`, and the revision runs the
//! slower way, in a fresh context per request, exactly as before.

/// The factory module of `source`, and how many characters it adds before the source's first line
/// (errors on that line are reported that much further right); `None` when the revision must run as
/// a plain module.
pub(crate) fn factory_source(source: &str) -> Option<(String, u32)> {
    if source.contains(DEFAULT_BINDING) || source.contains(FACTORY_NAME) {
        return None;
    }
    let tokens = lex(source)?;
    let mut body = source.as_bytes().to_vec();
    let mut default: Option<String> = None;
    let significant: Vec<&Token> = tokens.iter().collect();
    let mut i = 0;
    while i < significant.len() {
        let token = significant[i];
        let after_dot = i > 0 && matches!(significant[i - 1].kind, Kind::Punct(b'.'));
        if token.kind == Kind::Word && !after_dot && &source[token.start..token.end] == "import" {
            // `import(…)` and `import.meta` are expressions; a static import is not ours to rewrite.
            let next = significant.get(i + 1).map(|t| t.kind);
            if !matches!(next, Some(Kind::Punct(b'(')) | Some(Kind::Punct(b'.'))) {
                return None;
            }
        }
        if token.depth != 0 || after_dot || token.kind != Kind::Word || &source[token.start..token.end] != "export" {
            i += 1;
            continue;
        }
        let next = significant.get(i + 1)?;
        let next_text = &source[next.start..next.end];
        match (next.kind, next_text) {
            (Kind::Word, "default") => {
                if default.is_some() {
                    return None;
                }
                let declared = declared_name(source, &significant[i + 2..]);
                match declared {
                    Some(name) => {
                        blank(&mut body, token.start, next.end);
                        default = Some(name);
                    }
                    None => {
                        let span = next.end - token.start;
                        let replacement = format!("{DEFAULT_BINDING} =");
                        if replacement.len() != span {
                            // `export` and `default` were not separated by exactly one space.
                            let padded = format!("{replacement:<span$}");
                            body[token.start..next.end].copy_from_slice(padded.as_bytes());
                        } else {
                            body[token.start..next.end].copy_from_slice(replacement.as_bytes());
                        }
                        default = Some(DEFAULT_BINDING.to_owned());
                    }
                }
                i += 2;
            }
            (Kind::Word, "const" | "let" | "var" | "function" | "class" | "async") => {
                blank(&mut body, token.start, token.end);
                i += 1;
            }
            (Kind::Punct(b'{'), _) => {
                // `export { a, b as c };` — the names stay declared; the statement goes.
                let close =
                    i + 1 + significant[i + 1..].iter().position(|t| t.kind == Kind::Punct(b'}') && t.depth == 0)?;
                let mut end = significant[close].end;
                match significant.get(close + 1) {
                    Some(t) if t.kind == Kind::Word && &source[t.start..t.end] == "from" => return None,
                    Some(t) if t.kind == Kind::Punct(b';') => end = t.end,
                    _ => {}
                }
                blank(&mut body, token.start, end);
                i = significant.iter().position(|t| t.start >= end).unwrap_or(significant.len());
            }
            _ => return None,
        }
    }
    let default = default?;
    let body = String::from_utf8(body).ok()?;
    let declare = if default == DEFAULT_BINDING { format!("let {DEFAULT_BINDING}; ") } else { String::new() };
    let prefix = format!("export default async function {FACTORY_NAME}() {{ {declare}");
    let prefix_len = prefix.chars().count() as u32;
    Some((format!("{prefix}{body}\n;return {default};\n}}\n"), prefix_len))
}

/// The binding an anonymous default export is assigned to: as long as `export default`.
const DEFAULT_BINDING: &str = "__sy_default";
/// The factory's own name.
const FACTORY_NAME: &str = "__switchyard_factory";

/// The name a `function` / `async function` / `function*` / `class` declaration after
/// `export default` binds, or `None` for an expression (an anonymous function or class included).
fn declared_name(source: &str, rest: &[&Token]) -> Option<String> {
    let text = |t: &Token| &source[t.start..t.end];
    let mut k = 0;
    if rest.get(k).is_some_and(|t| text(t) == "async") {
        k += 1;
        if rest.get(k).is_none_or(|t| text(t) != "function") {
            return None;
        }
    }
    match rest.get(k).map(|t| text(t)) {
        Some("function") => {
            k += 1;
            if rest.get(k).is_some_and(|t| t.kind == Kind::Punct(b'*')) {
                k += 1;
            }
        }
        Some("class") => k += 1,
        _ => return None,
    }
    let name = rest.get(k)?;
    (name.kind == Kind::Word && text(name) != "extends").then(|| text(name).to_owned())
}

fn blank(body: &mut [u8], start: usize, end: usize) {
    for byte in &mut body[start..end] {
        if *byte != b'\n' && *byte != b'\r' {
            *byte = b' ';
        }
    }
}

/// What the rewrite needs to know of a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// An identifier, keyword or number.
    Word,
    /// One punctuation byte (multi-byte operators are several).
    Punct(u8),
    /// A string, template or regular expression literal.
    Literal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    /// Nesting of `{ ( [` (and template substitutions) around it.
    depth: u32,
}

/// Words after which a `/` starts a regular expression rather than a division.
const REGEX_AFTER_WORDS: [&str; 15] = [
    "return",
    "typeof",
    "instanceof",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
    "case",
    "do",
    "else",
    "yield",
    "await",
    "extends",
];

fn regex_allowed(source: &str, previous: Option<&Token>) -> bool {
    match previous {
        None => true,
        Some(t) => match t.kind {
            Kind::Word => REGEX_AFTER_WORDS.contains(&&source[t.start..t.end]),
            Kind::Literal => false,
            Kind::Punct(b')' | b']') => false,
            Kind::Punct(_) => true,
        },
    }
}

/// The tokens of `source`; `None` when it does not lex (an unterminated literal or comment,
/// unbalanced brackets): the caller then leaves the source alone.
fn lex(source: &str) -> Option<Vec<Token>> {
    let bytes = source.as_bytes();
    let mut tokens: Vec<Token> = Vec::new();
    let mut depth: u32 = 0;
    // Depths at which a template substitution `${` was opened: its `}` resumes the template.
    let mut templates: Vec<u32> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => i += 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let close = source[i + 2..].find("*/")?;
                i += 2 + close + 2;
            }
            b'/' if regex_allowed(source, tokens.last()) => {
                i = regex_end(bytes, i)?;
                tokens.push(Token { kind: Kind::Literal, start, end: i, depth });
            }
            b'\'' | b'"' => {
                i = string_end(bytes, i, c)?;
                tokens.push(Token { kind: Kind::Literal, start, end: i, depth });
            }
            b'`' => {
                i = template_part_end(bytes, i + 1, &mut templates, &mut depth)?;
                tokens.push(Token { kind: Kind::Literal, start, end: i, depth });
            }
            b'}' if templates.last() == Some(&depth) => {
                templates.pop();
                depth = depth.checked_sub(1)?;
                i = template_part_end(bytes, i + 1, &mut templates, &mut depth)?;
                tokens.push(Token { kind: Kind::Literal, start, end: i, depth });
            }
            b'{' | b'(' | b'[' => {
                tokens.push(Token { kind: Kind::Punct(c), start, end: i + 1, depth });
                depth += 1;
                i += 1;
            }
            b'}' | b')' | b']' => {
                depth = depth.checked_sub(1)?;
                tokens.push(Token { kind: Kind::Punct(c), start, end: i + 1, depth });
                i += 1;
            }
            _ if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b'\\' || c >= 0x80 => {
                while i < bytes.len() && {
                    let b = bytes[i];
                    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'\\' || b >= 0x80
                } {
                    i += 1;
                }
                // A number's fraction (`1.5`) is one word, not a `.` property access.
                if c.is_ascii_digit() && bytes.get(i) == Some(&b'.') {
                    i += 1;
                    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                        i += 1;
                    }
                }
                tokens.push(Token { kind: Kind::Word, start, end: i, depth });
            }
            _ => {
                tokens.push(Token { kind: Kind::Punct(c), start, end: i + 1, depth });
                i += 1;
            }
        }
    }
    (depth == 0 && templates.is_empty()).then_some(tokens)
}

fn string_end(bytes: &[u8], open: usize, quote: u8) -> Option<usize> {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' => return None,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// From just inside a template (after `` ` `` or a substitution's `}`) to just after its closing
/// `` ` `` — or after a `${`, which opens a substitution at the current depth.
fn template_part_end(bytes: &[u8], mut i: usize, templates: &mut Vec<u32>, depth: &mut u32) -> Option<usize> {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => return Some(i + 1),
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                *depth += 1;
                templates.push(*depth);
                return Some(i + 2);
            }
            _ => i += 1,
        }
    }
    None
}

fn regex_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    let mut in_class = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' => return None,
            b'[' => {
                in_class = true;
                i += 1;
            }
            b']' => {
                in_class = false;
                i += 1;
            }
            b'/' if !in_class => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                return Some(i);
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(factory: &str) -> &str {
        let start = factory.find("() { ").unwrap() + 5;
        &factory[start..]
    }

    #[test]
    fn a_named_default_function_keeps_its_declaration_and_is_returned() {
        let source =
            "export default async function handle(req) {\n  return helper(req);\n}\nfunction helper(r) { return r; }\n";
        let factory = factory_source(source).unwrap().0;
        assert!(factory.starts_with("export default async function __switchyard_factory() { "), "{factory}");
        assert_eq!(factory_source(source).unwrap().1, 55, "the first line moves right by the prefix");
        assert!(body(&factory).starts_with("               async function handle(req) {\n"), "{factory}");
        assert!(factory.ends_with("\n;return handle;\n}\n"), "{factory}");
        // Every line after the first is where the author wrote it.
        assert_eq!(factory.lines().nth(1), source.lines().nth(1));
    }

    #[test]
    fn an_anonymous_default_is_assigned_in_place() {
        let factory = factory_source("const k = 2;\nexport default (req) => k * 2;\n").unwrap().0;
        assert!(factory.contains("let __sy_default; const k = 2;\n__sy_default = (req) => k * 2;"), "{factory}");
        assert!(factory.ends_with(";return __sy_default;\n}\n"));
        let factory = factory_source("export default function (req) { return 1 }").unwrap().0;
        assert!(factory.contains("__sy_default = function (req)"), "{factory}");
        let factory = factory_source("export default class extends Base {}").unwrap().0;
        assert!(factory.contains("__sy_default = class extends"), "{factory}");
        let factory = factory_source("export default function* gen() {}").unwrap().0;
        assert!(factory.contains("return gen;"), "{factory}");
    }

    #[test]
    fn named_exports_lose_only_their_keyword() {
        let factory = factory_source(
            "export const a = 1;\nexport function b() {}\nlet c = 3;\nexport { c };\nexport default () => a;",
        )
        .unwrap()
        .0;
        assert!(
            factory.contains("       const a = 1;\n       function b() {}\nlet c = 3;\n             \n"),
            "{factory}"
        );
    }

    #[test]
    fn the_word_export_in_strings_comments_templates_regexes_and_properties_is_left_alone() {
        let source = concat!(
            "// export default nothing\n",
            "/* export { x } */\n",
            "const s = 'export default 1', t = \"export\", u = `export ${ {a: `export`}.a } default`;\n",
            "const r = /export default[/]/g, d = 4 / 2 / 1;\n",
            "const o = { export: 1 }; o.export = 2;\n",
            "export default () => [s, t, u, r, d, o];\n",
        );
        let factory = factory_source(source).unwrap().0;
        let rewritten = body(&factory);
        assert_eq!(rewritten.matches("__sy_default =").count(), 1, "{factory}");
        assert!(rewritten.contains("// export default nothing") && rewritten.contains("o.export = 2"), "{factory}");
        assert!(rewritten.contains("{a: `export`}") && rewritten.contains("/export default[/]/g"), "{factory}");
    }

    #[test]
    fn what_it_does_not_understand_runs_as_a_module() {
        for source in [
            "export * from 'x'; export default 1",
            "export { a } from 'x'; export default 1",
            "import x from 'x'; export default x",
            "const a = 1; export { a as default };",
            "const __sy_default = 1; export default 2",
            "export default 1; export default 2",
            "export default `unterminated",
            "export default () => { /* never closed",
            "export default () => 1; }",
            "const x = 1;",
        ] {
            assert_eq!(factory_source(source), None, "{source}");
        }
        // Dynamic import and import.meta are expressions: left to the engine to refuse or allow.
        assert!(factory_source("export default () => import.meta").is_some());
    }
}
