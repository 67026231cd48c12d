//! Splitting a connector's SQL script into statements, and refusing the client-side file clauses.
//!
//! chDB accepts several statements in one call, but we run them one by one
//! to report which statement failed, to show progress, and to bind query
//! parameters per statement. The lexer follows ClickHouse's: `'…'` strings
//! (with `\` escapes and `''`), `"…"` and `` `…` `` identifiers, `--` and
//! `#` line comments, `/* … */` block comments (nested, as ClickHouse allows)
//! and `$tag$…$tag$` heredocs.
//!
//! `INTO OUTFILE` and `FROM INFILE` are executed by the embedded *client*,
//! outside the engine's access control, so they would let SQL write and read
//! any file the process can reach. Statements using them are refused.

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text, without the terminating `;`.
    pub text: String,
    /// 1-based position in the script (for messages).
    pub number: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Semicolon,
    Other,
}

/// Lex `sql` into (token, byte start, byte end); comments and whitespace are dropped.
fn lex(sql: &str) -> Result<Vec<(Token, usize, usize)>, String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => i = skip_line(b, i),
            b'#' => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                loop {
                    if i + 1 >= b.len() {
                        return Err("unterminated comment".to_string());
                    }
                    if b[i] == b'/' && b[i + 1] == b'*' {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b[i + 1] == b'/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'\'' | b'"' | b'`' => {
                i = skip_quoted(b, i, c)?;
                out.push((Token::Other, start, i));
            }
            b'$' => {
                // Heredoc: $tag$ ... $tag$ where tag is [A-Za-z0-9_]*.
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j < b.len() && b[j] == b'$' {
                    let tag = &sql[i..=j];
                    match sql[j + 1..].find(tag) {
                        Some(pos) => i = j + 1 + pos + tag.len(),
                        None => return Err("unterminated heredoc string".to_string()),
                    }
                } else {
                    i = j.max(i + 1);
                }
                out.push((Token::Other, start, i));
            }
            b';' => {
                i += 1;
                out.push((Token::Semicolon, start, i));
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push((Token::Word(sql[start..i].to_ascii_uppercase()), start, i));
            }
            _ => {
                // Advance by one whole UTF-8 character.
                i += sql[i..].chars().next().map_or(1, char::len_utf8);
                out.push((Token::Other, start, i));
            }
        }
    }
    Ok(out)
}

fn skip_line(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    i
}

fn skip_quoted(b: &[u8], mut i: usize, q: u8) -> Result<usize, String> {
    i += 1;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
        } else if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
            } else {
                return Ok(i + 1);
            }
        } else {
            i += 1;
        }
    }
    let what = match q {
        b'\'' => "string literal",
        _ => "quoted identifier",
    };
    Err(format!("unterminated {what}"))
}

/// Split a script into its statements, dropping empty ones and comments-only ones.
///
/// Refuses `INTO OUTFILE` and `FROM INFILE`.
pub fn split_statements(script: &str) -> Result<Vec<Statement>, String> {
    let tokens = lex(script)?;
    let mut statements = Vec::new();
    let mut current: Vec<&(Token, usize, usize)> = Vec::new();
    let mut flush = |current: &mut Vec<&(Token, usize, usize)>| -> Result<(), String> {
        if let (Some(first), Some(last)) = (current.first(), current.last()) {
            let number = statements.len() + 1;
            check_forbidden(current, number)?;
            statements.push(Statement { text: script[first.1..last.2].to_string(), number });
        }
        current.clear();
        Ok(())
    };
    for t in &tokens {
        if t.0 == Token::Semicolon {
            flush(&mut current)?;
        } else {
            current.push(t);
        }
    }
    flush(&mut current)?;
    Ok(statements)
}

fn check_forbidden(tokens: &[&(Token, usize, usize)], number: usize) -> Result<(), String> {
    for pair in tokens.windows(2) {
        if let (Token::Word(a), Token::Word(b)) = (&pair[0].0, &pair[1].0) {
            if (a == "INTO" && b == "OUTFILE") || (a == "FROM" && b == "INFILE") {
                return Err(format!(
                    "statement {number}: {a} {b} is not allowed; leave results in tables of database `output`"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        split_statements(s).unwrap().into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_respecting_quotes_and_comments() {
        assert_eq!(texts("SELECT 1; SELECT 2;"), vec!["SELECT 1", "SELECT 2"]);
        assert_eq!(texts("SELECT ';' ; SELECT \"a;b\""), vec!["SELECT ';'", "SELECT \"a;b\""]);
        assert_eq!(texts("SELECT 'it''s; \\' ;' AS x"), vec!["SELECT 'it''s; \\' ;' AS x"]);
        assert_eq!(texts("SELECT `a;` -- c;\n; /* x; /* y; */ ; */ SELECT 3"), vec!["SELECT `a;`", "SELECT 3"]);
        assert_eq!(texts("-- only\n;  ;\n# note;\nSELECT $$a;b$$, $t$;$t$"), vec!["SELECT $$a;b$$, $t$;$t$"]);
        assert_eq!(texts("SELECT 'é;' ; SELECT 1"), vec!["SELECT 'é;'", "SELECT 1"]);
        assert!(texts("  ;; -- nothing").is_empty());
    }

    #[test]
    fn numbers_statements_and_reports_unterminated() {
        let s = split_statements("SELECT 1;\nSELECT 2").unwrap();
        assert_eq!(s[1].number, 2);
        assert!(split_statements("SELECT 'abc").unwrap_err().contains("unterminated string"));
        assert!(split_statements("SELECT /* x").is_err());
    }

    #[test]
    fn refuses_client_side_file_clauses() {
        let e = split_statements("SELECT 1; SELECT 2 INTO /* x */ outfile '/tmp/x'").unwrap_err();
        assert!(e.contains("statement 2") && e.contains("INTO OUTFILE"), "{e}");
        assert!(split_statements("INSERT INTO t FROM INFILE 'x' FORMAT CSV").is_err());
        assert!(split_statements("SELECT 'INTO OUTFILE'").is_ok());
        assert!(split_statements("SELECT 1 AS into, 2 AS outfile").is_ok());
    }
}
