//! Just enough of RouterOS scripting to run what the phone-home agent is sent: `:global`,
//! `:set` with `.` concatenation, `:do { } on-error={ }`, `:if (…) do={ } else={ }`, `[:len
//! [<menu> find …]]`, and `<menu> add|set|remove` with `[find …]` targets, over the simulator's
//! menus. Anything else is a syntax error, as it would be a bug in what we generate; RouterOS
//! itself parses a far larger language.

use std::collections::BTreeMap;

use super::{Item, Refusal, State, add, change, print, take_failure};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LBrace,
    RBrace,
    LBrack,
    RBrack,
    LParen,
    RParen,
    Sep,
    Eq,
    Dot,
    Str(String),
    Var(String),
    Word(String),
}

fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\r' => i += 1,
            '\n' | ';' => {
                toks.push(Tok::Sep);
                i += 1;
            }
            '#' if toks.last().is_none_or(|t| *t == Tok::Sep) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '{' => (toks.push(Tok::LBrace), i += 1).1,
            '}' => (toks.push(Tok::RBrace), i += 1).1,
            '[' => (toks.push(Tok::LBrack), i += 1).1,
            ']' => (toks.push(Tok::RBrack), i += 1).1,
            '(' => (toks.push(Tok::LParen), i += 1).1,
            ')' => (toks.push(Tok::RParen), i += 1).1,
            '=' => (toks.push(Tok::Eq), i += 1).1,
            '.' if chars.get(i + 1).is_none_or(|n| n.is_whitespace()) => {
                toks.push(Tok::Dot);
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err("unterminated string".into());
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let Some(&e) = chars.get(i) else {
                                return Err("unterminated escape".into());
                            };
                            i += 1;
                            s.push(match e {
                                'n' => '\n',
                                'r' => '\r',
                                't' => '\t',
                                other => other,
                            });
                        }
                        '$' => return Err("unescaped $ in a string".into()),
                        c => s.push(c),
                    }
                }
                toks.push(Tok::Str(s));
            }
            '$' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                toks.push(Tok::Var(chars[start..i].iter().collect()));
            }
            _ => {
                let start = i;
                while i < chars.len() && !" \t\r\n;{}[]()=\"".contains(chars[i]) {
                    i += 1;
                }
                toks.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(toks)
}

/// A command's `name=value` pairs, the ids its `[find …]` named, and the index after it.
type Args = (Vec<(String, String)>, Vec<String>, usize);

const VERBS: &[&str] = &["add", "set", "remove", "find", "print"];

/// Runs `src` against the simulator's state and the agent's globals.
pub fn run(
    src: &str,
    state: &mut State,
    globals: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let toks = tokenize(src)?;
    let mut runner = Runner {
        toks: &toks,
        state,
        globals,
        current_menu: None,
    };
    runner.exec(0, toks.len())
}

struct Runner<'a> {
    toks: &'a [Tok],
    state: &'a mut State,
    globals: &'a mut BTreeMap<String, String>,
    /// The menu of the command being read, which its `[find …]` searches.
    current_menu: Option<String>,
}

impl Runner<'_> {
    fn tok(&self, i: usize) -> Result<&Tok, String> {
        self.toks
            .get(i)
            .ok_or_else(|| "unexpected end of script".to_string())
    }

    fn expect(&self, i: usize, want: &Tok) -> Result<usize, String> {
        if self.tok(i)? == want {
            Ok(i + 1)
        } else {
            Err(format!(
                "expected {want:?} at token {i}, found {:?}",
                self.tok(i)?
            ))
        }
    }

    fn word(&self, i: usize) -> Result<&str, String> {
        match self.tok(i)? {
            Tok::Word(w) => Ok(w),
            other => Err(format!("expected a word at token {i}, found {other:?}")),
        }
    }

    /// The token range inside the block opening at `i`, and the index after it.
    fn block(&self, i: usize) -> Result<(usize, usize, usize), String> {
        self.expect(i, &Tok::LBrace)?;
        let mut depth = 0;
        for j in i..self.toks.len() {
            match self.toks[j] {
                Tok::LBrace => depth += 1,
                Tok::RBrace => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok((i + 1, j, j + 1));
                    }
                }
                _ => {}
            }
        }
        Err("unbalanced braces".into())
    }

    fn exec(&mut self, mut i: usize, end: usize) -> Result<(), String> {
        while i < end {
            if self.toks[i] == Tok::Sep {
                i += 1;
                continue;
            }
            i = self.statement(i)?;
        }
        Ok(())
    }

    fn statement(&mut self, i: usize) -> Result<usize, String> {
        let word = self.word(i)?.to_string();
        match word.as_str() {
            ":global" | ":local" => {
                let name = self.word(i + 1)?.to_string();
                match self.toks.get(i + 2) {
                    Some(Tok::Str(_) | Tok::Word(_) | Tok::Var(_) | Tok::LParen | Tok::LBrack) => {
                        let (value, next) = self.expr(i + 2)?;
                        self.globals.insert(name, value);
                        Ok(next)
                    }
                    _ => {
                        self.globals.entry(name).or_default();
                        Ok(i + 2)
                    }
                }
            }
            ":set" => {
                let name = self.word(i + 1)?.to_string();
                let (value, next) = self.expr(i + 2)?;
                self.globals.insert(name, value);
                Ok(next)
            }
            ":do" => {
                let (start, end, next) = self.block(i + 1)?;
                if self.word(next)? != "on-error" {
                    return Err(":do without on-error".into());
                }
                let j = self.expect(next + 1, &Tok::Eq)?;
                let (e_start, e_end, after) = self.block(j)?;
                if self.exec(start, end).is_err() {
                    self.exec(e_start, e_end)?;
                }
                Ok(after)
            }
            ":if" => {
                let j = self.expect(i + 1, &Tok::LParen)?;
                let (left, j) = self.term(j)?;
                let j = self.expect(j, &Tok::Eq)?;
                let (right, j) = self.term(j)?;
                let j = self.expect(j, &Tok::RParen)?;
                if self.word(j)? != "do" {
                    return Err(":if without do".into());
                }
                let j = self.expect(j + 1, &Tok::Eq)?;
                let (d_start, d_end, mut next) = self.block(j)?;
                let mut otherwise = None;
                if matches!(self.toks.get(next), Some(Tok::Word(w)) if w == "else") {
                    let j = self.expect(next + 1, &Tok::Eq)?;
                    let (e_start, e_end, after) = self.block(j)?;
                    otherwise = Some((e_start, e_end));
                    next = after;
                }
                if left == right {
                    self.exec(d_start, d_end)?;
                } else if let Some((s, e)) = otherwise {
                    self.exec(s, e)?;
                }
                Ok(next)
            }
            w if w.starts_with('/') => self.menu_command(i).map(|(_, next)| next),
            other => Err(format!("unknown command {other}")),
        }
    }

    /// `(a . b . c)` or a single term.
    fn expr(&mut self, i: usize) -> Result<(String, usize), String> {
        if self.tok(i)? != &Tok::LParen {
            return self.term(i);
        }
        let (mut value, mut j) = self.term(i + 1)?;
        while self.tok(j)? == &Tok::Dot {
            let (more, next) = self.term(j + 1)?;
            value.push_str(&more);
            j = next;
        }
        Ok((value, self.expect(j, &Tok::RParen)?))
    }

    fn term(&mut self, i: usize) -> Result<(String, usize), String> {
        match self.tok(i)?.clone() {
            Tok::Str(s) | Tok::Word(s) => Ok((s, i + 1)),
            Tok::Var(name) => Ok((self.globals.get(&name).cloned().unwrap_or_default(), i + 1)),
            Tok::LBrack => {
                if self.word(i + 1)? == ":len" {
                    let j = self.expect(i + 2, &Tok::LBrack)?;
                    let (found, j) = self.menu_command(j)?;
                    let j = self.expect(j, &Tok::RBrack)?;
                    let j = self.expect(j, &Tok::RBrack)?;
                    Ok((found.len().to_string(), j))
                } else {
                    let (found, j) = self.menu_command(i + 1)?;
                    Ok((found.join(";"), self.expect(j, &Tok::RBrack)?))
                }
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }

    /// `name=value` pairs from `i` until the command ends; returns them and the next index.
    fn pairs(&mut self, mut i: usize) -> Result<Args, String> {
        let mut pairs = Vec::new();
        let mut targets = Vec::new();
        loop {
            match self.toks.get(i) {
                None | Some(Tok::Sep | Tok::RBrace | Tok::RBrack) => {
                    return Ok((pairs, targets, i));
                }
                Some(Tok::LBrack) => {
                    // `[find …]` names the items a set or remove acts on.
                    if self.word(i + 1)? != "find" {
                        return Err("only [find …] may name items".into());
                    }
                    let (filter, _, j) = self.pairs(i + 2)?;
                    targets = self.find(
                        self.current_menu.clone().unwrap_or_default().as_str(),
                        &filter,
                    )?;
                    i = self.expect(j, &Tok::RBrack)?;
                }
                Some(Tok::Word(key)) => {
                    let key = key.clone();
                    let j = self.expect(i + 1, &Tok::Eq)?;
                    let (value, next) = self.term(j)?;
                    pairs.push((key, value));
                    i = next;
                }
                Some(other) => return Err(format!("unexpected {other:?} in arguments")),
            }
        }
    }

    fn find(&mut self, menu: &str, filter: &[(String, String)]) -> Result<Vec<String>, String> {
        let filter: Vec<(String, String)> = filter
            .iter()
            .map(|(k, v)| (k.clone(), super::normalise(k, v)))
            .collect();
        print(self.state, menu, &filter)
            .map(|items| items.iter().filter_map(|i| i.get(".id").cloned()).collect())
            .map_err(|r| r.message().to_string())
    }

    /// `/menu path verb args`: returns the ids a `find` found (empty otherwise).
    fn menu_command(&mut self, i: usize) -> Result<(Vec<String>, usize), String> {
        let mut path = self.word(i)?.to_string();
        let mut j = i + 1;
        let verb = loop {
            let w = self.word(j)?.to_string();
            j += 1;
            if VERBS.contains(&w.as_str()) {
                break w;
            }
            path.push('/');
            path.push_str(&w);
        };
        self.current_menu = Some(path.clone());
        let (pairs, targets, next) = self.pairs(j)?;
        let refused = |r: Refusal| r.message().to_string();
        match verb.as_str() {
            "find" => Ok((self.find(&path, &pairs)?, next)),
            "add" => {
                if let Some(message) = take_failure(self.state) {
                    return Err(message);
                }
                let item: Item = pairs.into_iter().collect();
                add(self.state, &path, item).map_err(refused)?;
                Ok((Vec::new(), next))
            }
            "set" | "remove" => {
                if let Some(message) = take_failure(self.state) {
                    return Err(message);
                }
                for id in targets {
                    let changes = (verb == "set").then(|| pairs.iter().cloned().collect::<Item>());
                    change(self.state, &path, Some(&id), changes).map_err(refused)?;
                }
                Ok((Vec::new(), next))
            }
            other => Err(format!("{other} is not supported here")),
        }
    }
}
