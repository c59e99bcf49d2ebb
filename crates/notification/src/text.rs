//! Text that reaches a person or a subscription filter, made safe: every field taken from an
//! event or an API answer is rendered with its control characters and line breaks escaped and a
//! bounded length, so that a parameter description cannot forge a "What to do" line; regions,
//! account ids and ARNs are checked before they go into a console link or a message attribute;
//! and a whole message stays under SNS's 256 KB, its truncation marked.

/// SNS's limit on a published message, message attributes included (256 KiB).
pub const SNS_MAX_BYTES: usize = 262_144;
/// What the message itself may take: SNS's limit less room for the subject and the attributes
/// (each at most [`MAX_ATTRIBUTE`] characters, escaped: at most 4 bytes a character in UTF-8).
pub const MAX_MESSAGE_BYTES: usize = SNS_MAX_BYTES - 16 * 1024;
/// Longest rendering of one field of a message, in characters (before the truncation mark).
pub const MAX_FIELD: usize = 2048;
/// Longest message attribute value, in characters.
pub const MAX_ATTRIBUTE: usize = 1024;

/// Characters a reader's terminal or mail client could take for a line break or a change of
/// direction: C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the
/// bidirectional overrides and isolates.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` on one line: control characters and line breaks escaped (`\n`, `\r`, `\t`, `\u{1b}`),
/// cut to `max` characters with a mark saying how many were left out.
#[must_use]
pub fn escaped(text: &str, max: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len().min(max + 32));
    for (kept, c) in text.chars().enumerate() {
        if kept >= max {
            let rest = text.chars().count() - kept;
            let _ = write!(out, "...[{rest} more characters]");
            return out;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// A field of a message: [`escaped`] to [`MAX_FIELD`] characters.
#[must_use]
pub fn field(text: &str) -> String {
    escaped(text, MAX_FIELD)
}

/// A message attribute value: [`escaped`] to [`MAX_ATTRIBUTE`] characters.
#[must_use]
pub fn attribute(text: &str) -> String {
    escaped(text, MAX_ATTRIBUTE)
}

/// `message` cut to at most `max` bytes (at a line break where one is near, never inside a
/// character), with a last line saying that and how much was cut.
#[must_use]
pub fn bounded(message: String, max: usize) -> String {
    if message.len() <= max {
        return message;
    }
    let mark = |cut: usize| format!("\n[message truncated: {cut} more bytes not shown]\n");
    let room = max.saturating_sub(mark(message.len()).len());
    let mut end = room.min(message.len());
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(line) = message[..end].rfind('\n').filter(|at| end - at < 1024) {
        end = line;
    }
    let cut = message.len() - end;
    let mut out = message;
    out.truncate(end);
    out.push_str(&mark(cut));
    out
}

/// An AWS region code as events carry it (`us-east-1`, `us-gov-west-1`, `cn-north-1`,
/// `eu-central-2`): lower-case letters and digits in dash-separated parts, ending in a number.
#[must_use]
pub fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    text.len() <= 32
        && parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1].iter().all(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() <= 2
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// A 12-digit AWS account id.
#[must_use]
pub fn is_account(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The parts of an ARN, `arn:<partition>:<service>:<region>:<account>:<resource>`, when `text`
/// is one: a known partition, a service and region of the usual characters, an account of 12
/// digits (or none), and a resource of printable ASCII without spaces.
#[must_use]
pub fn arn_parts(text: &str) -> Option<[&str; 5]> {
    if text.len() > 2048 {
        return None;
    }
    let mut parts = text.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let ok = matches!(
        partition,
        "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b" | "aws-iso-e" | "aws-iso-f" | "aws-eusc"
    ) && !service.is_empty()
        && service.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && (region.is_empty() || is_region(region))
        && (account.is_empty() || is_account(account))
        && !resource.is_empty()
        && resource.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some([partition, service, region, account, resource])
}

/// The console's host for a region: China and `GovCloud` have their own.
#[must_use]
pub fn console_host(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "console.amazonaws.cn"
    } else if region.starts_with("us-gov-") {
        "console.amazonaws-us-gov.com"
    } else {
        "console.aws.amazon.com"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_and_controls_are_escaped() {
        assert_eq!(field("a\nWhat to do: run rm -rf /"), "a\\nWhat to do: run rm -rf /");
        assert_eq!(field("x\r\ty\u{1b}[31m\u{2028}\u{202e}z"), "x\\r\\ty\\u{1b}[31m\\u{2028}\\u{202e}z");
        assert_eq!(field("api.example.com é ✓"), "api.example.com é ✓", "printable text is kept");
    }

    #[test]
    fn fields_are_bounded_and_the_cut_is_marked() {
        let long = "x".repeat(MAX_FIELD + 10);
        let f = field(&long);
        assert!(f.starts_with(&"x".repeat(MAX_FIELD)) && f.ends_with("...[10 more characters]"), "{f}");
        assert_eq!(attribute(&"é".repeat(2000)).chars().filter(|c| *c == 'é').count(), MAX_ATTRIBUTE);
    }

    #[test]
    fn messages_are_cut_under_the_limit_with_a_mark() {
        let message = "line of text\n".repeat(30_000);
        let cut = bounded(message.clone(), MAX_MESSAGE_BYTES);
        assert!(cut.len() <= MAX_MESSAGE_BYTES, "{}", cut.len());
        assert!(cut.ends_with("more bytes not shown]\n"), "{}", &cut[cut.len() - 80..]);
        assert_eq!(bounded("short".into(), 10), "short");
        let wide = bounded("é".repeat(200), 101);
        assert!(wide.len() <= 101 && wide.contains("truncated"), "{wide}");
    }

    #[test]
    fn regions_accounts_and_arns_are_checked() {
        for ok in ["us-east-1", "us-gov-west-1", "cn-north-1", "eu-central-2", "ap-southeast-5"] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "evil.com/x-1",
            "us-east-1.evil.com",
            "us-east-1#",
            "a-b-1\n",
            "us-east-123",
        ] {
            assert!(!is_region(bad), "{bad:?}");
        }
        assert!(is_account("123456789012") && !is_account("12345678901x") && !is_account("1234"));
        assert!(arn_parts("arn:aws:acm:us-east-1:123456789012:certificate/0f1e-2d3c").is_some());
        assert!(arn_parts("arn:aws:s3:::bucket").is_some());
        for bad in [
            "arn:aws:acm:us-east-1:123456789012:certificate/a b",
            "arn:evil:acm:us-east-1:123456789012:certificate/x",
            "arn:aws:acm:us-east-1:12345:certificate/x",
            "arn:aws:acm:evil.com:123456789012:certificate/x",
            "arn:aws:acm:us-east-1:123456789012:certificate/x\nWhat to do: y",
            "arn:aws:acm:us-east-1:123456789012",
        ] {
            assert!(arn_parts(bad).is_none(), "{bad:?}");
        }
        assert_eq!(console_host("cn-north-1"), "console.amazonaws.cn");
    }
}
