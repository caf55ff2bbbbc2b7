//! The STIX patterning language (STIX 2.1 §9): a tokenizer and a recursive-descent parser
//! over the grammar of the OASIS ANTLR grammar `STIXPattern.g4` (2.1), into an AST.
//!
//! Precedence, loosest first: `FOLLOWEDBY`, `OR`, `AND` between observation expressions;
//! qualifiers (`WITHIN`, `REPEATS`, `START … STOP`) are postfix on one observation expression;
//! `OR`, `AND` inside `[ … ]`. All binary operators associate to the left. Keywords are upper
//! case and `true`/`false` lower case, as in the 2.1 grammar.
//!
//! Beyond the grammar, the parser checks what the grammar leaves to the prose: `IN` takes a
//! set, `LIKE`/`MATCHES`/`ISSUBSET`/`ISSUPERSET` a string, `<`/`>`… no boolean, `WITHIN` a
//! positive number, `REPEATS` a positive integer, `h'…'` an even number of hex digits, `b'…'`
//! well-formed base64, `t'…'` a valid timestamp.

use std::fmt;

use crate::types::Timestamp;

/// A syntax error with the byte offset in the pattern where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {pos}: {message}")]
pub struct PatternError {
    /// Byte offset into the pattern (its length when the pattern ended too early).
    pub pos: usize,
    /// What was wrong.
    pub message: String,
}

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// The whole expression.
    pub expr: ObservationExpr,
}

/// An observation expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationExpr {
    /// `[ comparison ]`.
    Observation(ComparisonExpr),
    /// `a AND b`.
    And(Box<ObservationExpr>, Box<ObservationExpr>),
    /// `a OR b`.
    Or(Box<ObservationExpr>, Box<ObservationExpr>),
    /// `a FOLLOWEDBY b`.
    FollowedBy(Box<ObservationExpr>, Box<ObservationExpr>),
    /// An expression with a qualifier.
    Qualified(Box<ObservationExpr>, Qualifier),
}

/// An observation qualifier (§9.6).
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    /// `WITHIN n SECONDS` (n as written, positive).
    Within(f64),
    /// `REPEATS n TIMES` (n positive).
    Repeats(u64),
    /// `START t'…' STOP t'…'`.
    StartStop(String, String),
}

/// A comparison expression (inside brackets).
#[derive(Debug, Clone, PartialEq)]
pub enum ComparisonExpr {
    /// `a AND b`.
    And(Box<ComparisonExpr>, Box<ComparisonExpr>),
    /// `a OR b`.
    Or(Box<ComparisonExpr>, Box<ComparisonExpr>),
    /// One property test.
    Test(PropTest),
}

/// One property test: `path [NOT] op value`, or `[NOT] EXISTS path`.
#[derive(Debug, Clone, PartialEq)]
pub struct PropTest {
    /// The object path.
    pub path: ObjectPath,
    /// Whether `NOT` precedes the operator.
    pub negated: bool,
    /// The operator.
    pub op: Operator,
    /// The right-hand side (`None` for `EXISTS`).
    pub value: Option<Operand>,
}

/// Comparison operators (§9.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `=` (or `==`).
    Eq,
    /// `!=` (or `<>`).
    Ne,
    /// `>`.
    Gt,
    /// `<`.
    Lt,
    /// `>=`.
    Ge,
    /// `<=`.
    Le,
    /// `IN`.
    In,
    /// `LIKE`.
    Like,
    /// `MATCHES`.
    Matches,
    /// `ISSUBSET`.
    IsSubset,
    /// `ISSUPERSET`.
    IsSuperset,
    /// `EXISTS`.
    Exists,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// One literal.
    Literal(Literal),
    /// A set `( a, b, … )`.
    Set(Vec<Literal>),
}

/// A literal (§9.4 / the grammar's `primitiveLiteral`).
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string, unescaped.
    String(String),
    /// `true` / `false`.
    Bool(bool),
    /// `t'…'`, the timestamp text.
    Timestamp(String),
    /// `h'…'`, decoded.
    Hex(Vec<u8>),
    /// `b'…'`, the base64 text.
    Binary(String),
}

/// An object path: `file:hashes.'SHA-256'`, `email-message:to_refs[*].value`.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectPath {
    /// The object type before the colon.
    pub object_type: String,
    /// The steps after it (the first is always a property).
    pub steps: Vec<PathStep>,
}

/// One step of an object path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathStep {
    /// `.name` or `.'quoted-name'`.
    Property(String),
    /// `[n]`.
    Index(i64),
    /// `[*]`.
    AnyIndex,
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, s) in self.steps.iter().enumerate() {
            match s {
                PathStep::Property(p) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                        f.write_str(p)?;
                    } else {
                        write!(f, "'{}'", p.replace('\\', "\\\\").replace('\'', "\\'"))?;
                    }
                }
                PathStep::Index(n) => write!(f, "[{n}]")?,
                PathStep::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

/// Parses a STIX 2.1 pattern.
pub fn parse_pattern(s: &str) -> Result<Pattern, PatternError> {
    let toks = lex(s)?;
    let mut p = Parser {
        toks,
        i: 0,
        end: s.len(),
        depth: 0,
    };
    let expr = p.observation_exprs()?;
    match p.peek() {
        None => Ok(Pattern { expr }),
        Some(t) => Err(p.err_at(t.pos, format!("unexpected {}", t.kind))),
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Ident {
        text: String,
        hyphen: bool,
    },
    Keyword(&'static str),
    Lit(Literal),
    /// A string literal (kept apart: also used in paths).
    Str(String),
    Punct(&'static str),
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Ident { text, .. } => write!(f, "identifier {text:?}"),
            Kind::Keyword(k) => write!(f, "keyword {k}"),
            Kind::Lit(_) => f.write_str("literal"),
            Kind::Str(_) => f.write_str("string literal"),
            Kind::Punct(p) => write!(f, "'{p}'"),
        }
    }
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    pos: usize,
}

const KEYWORDS: [&str; 17] = [
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUPERSET",
    "ISSUBSET",
    "LAST",
    "IN",
    "START",
    "STOP",
    "SECONDS",
    "WITHIN",
    "REPEATS",
    "TIMES",
    "EXISTS",
];

fn err(pos: usize, message: impl Into<String>) -> PatternError {
    PatternError {
        pos,
        message: message.into(),
    }
}

/// Reads a quoted body starting at the opening quote `b[start]`; returns the unescaped text
/// and the index after the closing quote.
fn quoted(s: &str, start: usize) -> Result<(String, usize), PatternError> {
    let mut out = String::new();
    let mut chars = s[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        let at = start + 1 + off;
        match c {
            '\'' => return Ok((out, at + 1)),
            '\\' => match chars.next() {
                Some((_, '\'')) => out.push('\''),
                Some((_, '\\')) => out.push('\\'),
                _ => return Err(err(at, "only \\' and \\\\ may be escaped in a string")),
            },
            c => out.push(c),
        }
    }
    Err(err(start, "unterminated string literal"))
}

fn lex(s: &str) -> Result<Vec<Tok>, PatternError> {
    let b = s.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        // Whitespace (ASCII and the Unicode spaces of the grammar) and comments.
        if c.is_ascii_whitespace() || c == 0x0b {
            i += 1;
            continue;
        }
        if let Some(ch) = s[i..].chars().next()
            && !ch.is_ascii()
        {
            if ch.is_whitespace() {
                i += ch.len_utf8();
                continue;
            }
            return Err(err(i, format!("unexpected character {ch:?}")));
        }
        if b[i..].starts_with(b"/*") {
            match s[i + 2..].find("*/") {
                Some(n) => {
                    i += 2 + n + 2;
                    continue;
                }
                None => return Err(err(i, "unterminated comment")),
            }
        }
        if b[i..].starts_with(b"//") {
            i = s[i..].find(['\r', '\n']).map_or(b.len(), |n| i + n);
            continue;
        }
        let kind = match c {
            b'\'' => {
                let (text, next) = quoted(s, i)?;
                i = next;
                Kind::Str(text)
            }
            b't' | b'h' | b'b' if b.get(i + 1) == Some(&b'\'') => {
                let (text, next) = quoted(s, i + 1)?;
                i = next;
                Kind::Lit(prefixed_literal(c, text, start)?)
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let mut hyphen = false;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-')
                {
                    hyphen |= b[i] == b'-';
                    i += 1;
                }
                let text = &s[start..i];
                if text == "true" || text == "false" {
                    Kind::Lit(Literal::Bool(text == "true"))
                } else if let Some(k) = KEYWORDS.iter().find(|k| **k == text) {
                    Kind::Keyword(k)
                } else {
                    Kind::Ident {
                        text: text.to_owned(),
                        hyphen,
                    }
                }
            }
            b'0'..=b'9' | b'+' | b'-' => {
                let (lit, next) = number(s, i)?;
                i = next;
                Kind::Lit(lit)
            }
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let (lit, next) = number(s, i)?;
                i = next;
                Kind::Lit(lit)
            }
            _ => {
                const PUNCT: [&str; 16] = [
                    "==", "!=", "<>", "<=", ">=", "=", "<", ">", ":", ",", "(", ")", "[", "]", "*",
                    ".",
                ];
                match PUNCT.iter().find(|p| b[i..].starts_with(p.as_bytes())) {
                    Some(p) => {
                        i += p.len();
                        Kind::Punct(match *p {
                            "==" => "=",
                            "<>" => "!=",
                            p => p,
                        })
                    }
                    None => {
                        return Err(err(i, format!("unexpected character {:?}", c as char)));
                    }
                }
            }
        };
        toks.push(Tok { kind, pos: start });
    }
    Ok(toks)
}

/// `IntLiteral` / `FloatLiteral` of the grammar: `[+-]? ('0' | [1-9][0-9]*)` and
/// `[+-]? [0-9]* '.' [0-9]+`; a lone `.` is the path separator.
fn number(s: &str, start: usize) -> Result<(Literal, usize), PatternError> {
    let b = s.as_bytes();
    let mut i = start;
    if matches!(b[i], b'+' | b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        let frac_start = i + 1;
        let mut j = frac_start;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > frac_start {
            let f: f64 = s[start..j]
                .parse()
                .map_err(|_| err(start, "malformed float literal"))?;
            return Ok((Literal::Float(f), j));
        }
        if int_digits == 0 {
            // A lone '.', possibly after a sign.
            return Err(err(start, "unexpected '.'"));
        }
        return Err(err(i, "a float literal needs digits after '.'"));
    }
    if int_digits == 0 {
        return Err(err(start, format!("unexpected {:?}", b[start] as char)));
    }
    if int_digits > 1 && b[int_start] == b'0' {
        return Err(err(int_start, "integer literals have no leading zeros"));
    }
    let n: i64 = s[start..i]
        .trim_start_matches('+')
        .parse()
        .map_err(|_| err(start, "integer literal out of range"))?;
    Ok((Literal::Int(n), i))
}

fn prefixed_literal(prefix: u8, text: String, pos: usize) -> Result<Literal, PatternError> {
    match prefix {
        b't' => {
            if Timestamp::parse(&text).is_none() {
                return Err(err(
                    pos,
                    "a timestamp literal must be t'YYYY-MM-DDTHH:MM:SS[.s+]Z'",
                ));
            }
            Ok(Literal::Timestamp(text))
        }
        b'h' => {
            let t = text.as_bytes();
            if !t.len().is_multiple_of(2) || !t.iter().all(u8::is_ascii_hexdigit) {
                return Err(err(
                    pos,
                    "a hex literal must be h'…' with an even number of hex digits",
                ));
            }
            let bytes = t
                .chunks(2)
                .map(|p| {
                    let hi = (p[0] as char).to_digit(16).unwrap_or(0);
                    let lo = (p[1] as char).to_digit(16).unwrap_or(0);
                    (hi * 16 + lo) as u8
                })
                .collect();
            Ok(Literal::Hex(bytes))
        }
        _ => {
            if !is_base64(&text) {
                return Err(err(pos, "a binary literal must be b'…' with padded base64"));
            }
            Ok(Literal::Binary(text))
        }
    }
}

/// Padded base64 (RFC 4648 §4): groups of four, `=` only as the last one or two characters.
fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let body = b.len() - b.iter().rev().take_while(|&&c| c == b'=').count();
    b.len() - body <= 2
        && b[..body]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

// ---------------------------------------------------------------------------------------------
// Parser

/// Deeper nesting than this is refused (instead of risking the stack).
const MAX_DEPTH: usize = 64;

struct Parser {
    toks: Vec<Tok>,
    i: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn pos(&self) -> usize {
        self.peek().map_or(self.end, |t| t.pos)
    }

    fn err_at(&self, pos: usize, message: impl Into<String>) -> PatternError {
        err(pos, message)
    }

    fn unexpected(&self, wanted: &str) -> PatternError {
        match self.peek() {
            Some(t) => err(t.pos, format!("expected {wanted}, found {}", t.kind)),
            None => err(
                self.end,
                format!("expected {wanted}, found the end of the pattern"),
            ),
        }
    }

    fn is_keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok { kind: Kind::Keyword(x), .. }) if *x == k)
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok { kind: Kind::Punct(x), .. }) if *x == p)
    }

    fn eat_keyword(&mut self, k: &str) -> bool {
        let yes = self.is_keyword(k);
        if yes {
            self.i += 1;
        }
        yes
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        let yes = self.is_punct(p);
        if yes {
            self.i += 1;
        }
        yes
    }

    fn expect_punct(&mut self, p: &str) -> Result<(), PatternError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{p}'")))
        }
    }

    fn expect_keyword(&mut self, k: &str) -> Result<(), PatternError> {
        if self.eat_keyword(k) {
            Ok(())
        } else {
            Err(self.unexpected(k))
        }
    }

    fn enter(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(self.pos(), "nesting too deep"));
        }
        Ok(())
    }

    /// observationExpressions: or (FOLLOWEDBY or)*
    fn observation_exprs(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut left = self.observation_or()?;
        while self.eat_keyword("FOLLOWEDBY") {
            let right = self.observation_or()?;
            left = ObservationExpr::FollowedBy(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn observation_or(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut left = self.observation_and()?;
        while self.eat_keyword("OR") {
            let right = self.observation_and()?;
            left = ObservationExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn observation_and(&mut self) -> Result<ObservationExpr, PatternError> {
        let mut left = self.observation()?;
        while self.eat_keyword("AND") {
            let right = self.observation()?;
            left = ObservationExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// observationExpression: ('[' comparison ']' | '(' observationExpressions ')') qualifier*
    fn observation(&mut self) -> Result<ObservationExpr, PatternError> {
        self.enter()?;
        let mut e = if self.eat_punct("[") {
            let c = self.comparison_or()?;
            self.expect_punct("]")?;
            ObservationExpr::Observation(c)
        } else if self.eat_punct("(") {
            let e = self.observation_exprs()?;
            self.expect_punct(")")?;
            e
        } else {
            return Err(self.unexpected("'[' or '(' to start an observation expression"));
        };
        loop {
            let q = if self.eat_keyword("WITHIN") {
                let pos = self.pos();
                let n = match self.next_literal() {
                    Some(Literal::Int(n)) if n > 0 => n as f64,
                    Some(Literal::Float(f)) if f > 0.0 => f,
                    _ => return Err(err(pos, "WITHIN takes a positive number of seconds")),
                };
                self.expect_keyword("SECONDS")?;
                Qualifier::Within(n)
            } else if self.eat_keyword("REPEATS") {
                let pos = self.pos();
                let n = match self.next_literal() {
                    Some(Literal::Int(n)) if n > 0 => n as u64,
                    _ => return Err(err(pos, "REPEATS takes a positive integer")),
                };
                self.expect_keyword("TIMES")?;
                Qualifier::Repeats(n)
            } else if self.eat_keyword("START") {
                let start = self.timestamp("START")?;
                self.expect_keyword("STOP")?;
                let stop = self.timestamp("STOP")?;
                Qualifier::StartStop(start, stop)
            } else {
                break;
            };
            e = ObservationExpr::Qualified(Box::new(e), q);
        }
        self.depth -= 1;
        Ok(e)
    }

    fn timestamp(&mut self, after: &str) -> Result<String, PatternError> {
        let pos = self.pos();
        match self.next_literal() {
            Some(Literal::Timestamp(t)) => Ok(t),
            _ => Err(err(pos, format!("{after} takes a timestamp literal t'…'"))),
        }
    }

    /// The next token if it is a literal (strings included); advances only then.
    fn next_literal(&mut self) -> Option<Literal> {
        let lit = match &self.peek()?.kind {
            Kind::Lit(l) => l.clone(),
            Kind::Str(s) => Literal::String(s.clone()),
            _ => return None,
        };
        self.i += 1;
        Some(lit)
    }

    fn comparison_or(&mut self) -> Result<ComparisonExpr, PatternError> {
        let mut left = self.comparison_and()?;
        while self.eat_keyword("OR") {
            let right = self.comparison_and()?;
            left = ComparisonExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comparison_and(&mut self) -> Result<ComparisonExpr, PatternError> {
        let mut left = self.prop_test()?;
        while self.eat_keyword("AND") {
            let right = self.prop_test()?;
            left = ComparisonExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// propTest: '(' comparison ')' | [NOT] EXISTS path | path [NOT] op value
    fn prop_test(&mut self) -> Result<ComparisonExpr, PatternError> {
        self.enter()?;
        let r = self.prop_test_inner();
        self.depth -= 1;
        r
    }

    fn prop_test_inner(&mut self) -> Result<ComparisonExpr, PatternError> {
        if self.eat_punct("(") {
            let c = self.comparison_or()?;
            self.expect_punct(")")?;
            return Ok(c);
        }
        // `NOT EXISTS path` and `EXISTS path`.
        let save = self.i;
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("EXISTS") {
            let path = self.object_path()?;
            return Ok(ComparisonExpr::Test(PropTest {
                path,
                negated,
                op: Operator::Exists,
                value: None,
            }));
        }
        self.i = save;
        let path = self.object_path()?;
        let negated = self.eat_keyword("NOT");
        let op = match self.peek().map(|t| &t.kind) {
            Some(Kind::Punct("=")) => Operator::Eq,
            Some(Kind::Punct("!=")) => Operator::Ne,
            Some(Kind::Punct(">")) => Operator::Gt,
            Some(Kind::Punct("<")) => Operator::Lt,
            Some(Kind::Punct(">=")) => Operator::Ge,
            Some(Kind::Punct("<=")) => Operator::Le,
            Some(Kind::Keyword("IN")) => Operator::In,
            Some(Kind::Keyword("LIKE")) => Operator::Like,
            Some(Kind::Keyword("MATCHES")) => Operator::Matches,
            Some(Kind::Keyword("ISSUBSET")) => Operator::IsSubset,
            Some(Kind::Keyword("ISSUPERSET")) => Operator::IsSuperset,
            _ => return Err(self.unexpected("a comparison operator")),
        };
        self.i += 1;
        let value_pos = self.pos();
        let value = if op == Operator::In {
            if !self.eat_punct("(") {
                return Err(self.unexpected("'(' to start the set after IN"));
            }
            let mut items = Vec::new();
            if !self.eat_punct(")") {
                loop {
                    let p = self.pos();
                    let l = self
                        .next_literal()
                        .ok_or_else(|| err(p, "a set holds literals only"))?;
                    items.push(l);
                    if self.eat_punct(")") {
                        break;
                    }
                    self.expect_punct(",")?;
                }
            }
            Operand::Set(items)
        } else {
            let l = self
                .next_literal()
                .ok_or_else(|| self.unexpected("a literal"))?;
            let ok = match op {
                Operator::Like | Operator::Matches | Operator::IsSubset | Operator::IsSuperset => {
                    matches!(l, Literal::String(_))
                }
                Operator::Gt | Operator::Lt | Operator::Ge | Operator::Le => {
                    !matches!(l, Literal::Bool(_))
                }
                _ => true,
            };
            if !ok {
                return Err(err(
                    value_pos,
                    format!("{op:?} does not take this kind of literal"),
                ));
            }
            Operand::Literal(l)
        };
        Ok(ComparisonExpr::Test(PropTest {
            path,
            negated,
            op,
            value: Some(value),
        }))
    }

    /// objectPath: type ':' (ident | string) ('.' (ident | string) | '[' (int | '*') ']')*
    fn object_path(&mut self) -> Result<ObjectPath, PatternError> {
        let object_type = match self.peek().map(|t| &t.kind) {
            Some(Kind::Ident { text, .. }) => text.clone(),
            _ => return Err(self.unexpected("an object path (type:property)")),
        };
        self.i += 1;
        self.expect_punct(":")?;
        let mut steps = vec![PathStep::Property(self.property()?)];
        loop {
            if self.eat_punct(".") {
                steps.push(PathStep::Property(self.property()?));
            } else if self.eat_punct("[") {
                let step = if self.eat_punct("*") {
                    PathStep::AnyIndex
                } else {
                    match self.peek().map(|t| &t.kind) {
                        Some(Kind::Lit(Literal::Int(n))) => {
                            let n = *n;
                            self.i += 1;
                            PathStep::Index(n)
                        }
                        _ => return Err(self.unexpected("a list index or '*'")),
                    }
                };
                self.expect_punct("]")?;
                steps.push(step);
            } else {
                break;
            }
        }
        Ok(ObjectPath { object_type, steps })
    }

    fn property(&mut self) -> Result<String, PatternError> {
        let pos = self.pos();
        let r = match self.peek().map(|t| &t.kind) {
            Some(Kind::Ident {
                text,
                hyphen: false,
            }) => text.clone(),
            Some(Kind::Ident { hyphen: true, .. }) => {
                return Err(err(
                    pos,
                    "a property name with '-' must be quoted: .'name-with-hyphens'",
                ));
            }
            Some(Kind::Str(s)) => s.clone(),
            _ => return Err(self.unexpected("a property name")),
        };
        self.i += 1;
        Ok(r)
    }
}
