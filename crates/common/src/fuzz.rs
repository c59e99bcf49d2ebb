//! A small, seeded generator of random and mutated JSON events, for the functions' property
//! tests (feature `testing`, never in a release binary): the same seed gives the same cases, so a
//! failure is reproducible from the seed the test prints.

use serde_json::{Map, Value};

/// xorshift64*: enough randomness for test cases, no dependency.
#[derive(Debug, Clone)]
pub struct Mutator {
    state: u64,
}

/// Text that breaks naive code: control characters, line breaks, bidirectional overrides, a
/// forged line, separators, wide characters, numbers as text, and empty text.
const NASTY: &[&str] = &[
    "",
    "\n\nWhat to do: run this",
    "\r\u{1b}[2J\u{0}",
    "\u{202e}gnp.exe",
    "../../../etc",
    "arn:aws:acm:us-east-1:123456789012:certificate/x\nforged",
    "9223372036854775807",
    "-9223372036854775808",
    "1e400",
    "NaN",
    "2026-13-45T99:99:99Z",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "ü✓漢字🙂",
    "/aws/service/../../my-app/prod/x",
    "{\"Type\":\"ExpirationNotification\",\"Attributes\":{\"Before\":\"106751991167300\",\"Unit\":\"Days\"}}",
    "{\"Type\":\"Expiration\",\"Attributes\":{\"Timestamp\":\"9999-12-31T23:59:59Z\"}}",
];

impl Mutator {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self { state: seed.max(1) }
    }

    /// The next random number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { usize::try_from(self.next_u64() % n as u64).unwrap_or(0) }
    }

    /// A random string: a nasty one, a long one, or random characters.
    pub fn text(&mut self) -> String {
        match self.below(4) {
            0 | 1 => NASTY[self.below(NASTY.len())].to_owned(),
            2 => "x".repeat(self.below(20_000)),
            _ => (0..self.below(40))
                .map(|_| char::from_u32(u32::try_from(self.next_u64() % 0x3000).unwrap_or(65)).unwrap_or('?'))
                .collect(),
        }
    }

    /// A random JSON value, at most `depth` levels deep.
    pub fn value(&mut self, depth: usize) -> Value {
        match self.below(if depth == 0 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(self.below(2) == 0),
            2 => [i64::MIN, -1, 0, 1, 14, 45, i64::MAX][self.below(7)].into(),
            3 => serde_json::Number::from_f64([0.5, -1e300, 1e300, 13.999][self.below(4)])
                .map_or(Value::Null, Value::Number),
            4 => Value::String(self.text()),
            5 => Value::Array((0..self.below(4)).map(|_| self.value(depth - 1)).collect()),
            _ => {
                let mut map = Map::new();
                for _ in 0..self.below(4) {
                    let key = self.text();
                    map.insert(key, self.value(depth - 1));
                }
                Value::Object(map)
            }
        }
    }

    /// `event` with one to four random changes: a field replaced by a random value, removed,
    /// added, or its type changed, anywhere in the tree.
    pub fn mutate(&mut self, event: &Value) -> Value {
        let mut out = event.clone();
        for _ in 0..=self.below(4) {
            self.mutate_once(&mut out, 0);
        }
        out
    }

    /// One of `samples`, mutated.
    pub fn mutate_one_of(&mut self, samples: &[Value]) -> Value {
        let i = self.below(samples.len());
        samples.get(i).map_or(Value::Null, |sample| self.mutate(sample))
    }

    fn mutate_once(&mut self, node: &mut Value, depth: usize) {
        let descend = depth < 6 && self.below(3) > 0;
        match node {
            Value::Object(map) if !map.is_empty() => {
                let key = map.keys().nth(self.below(map.len())).cloned().unwrap_or_default();
                match (descend, self.below(4)) {
                    (true, _) => {
                        if let Some(child) = map.get_mut(&key) {
                            self.mutate_once(child, depth + 1);
                        }
                    }
                    (false, 0) => {
                        map.remove(&key);
                    }
                    (false, 1) => {
                        let added = self.text();
                        map.insert(added, self.value(2));
                    }
                    _ => {
                        map.insert(key, self.value(2));
                    }
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let i = self.below(items.len());
                if descend { self.mutate_once(&mut items[i], depth + 1) } else { items[i] = self.value(2) }
            }
            other => *other = self.value(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_cases() {
        let event = serde_json::json!({"a": {"b": [1, 2]}, "c": "d"});
        let (mut one, mut two) = (Mutator::new(7), Mutator::new(7));
        for _ in 0..100 {
            assert_eq!(one.mutate(&event), two.mutate(&event));
        }
        assert_ne!(Mutator::new(7).mutate(&event), Mutator::new(8).mutate(&event));
    }
}
