//! An invocation payload read with a budget: a JSON value is built only while it stays within
//! a size and a depth, so that an oversized event is refused with the function's own typed error
//! before it costs memory (the rest of it is skipped, not built). The runtime hands the function
//! the payload's bytes; what a `serde_json::Value` of them would cost (several times their size
//! in maps, vectors and strings) is what this bounds.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Most bytes of strings, keys and scalars a payload may hold (8 per number, boolean or null).
pub const MAX_PAYLOAD_BYTES: usize = 128 * 1024;
/// Deepest nesting of arrays and objects a payload may have.
pub const MAX_PAYLOAD_DEPTH: usize = 32;

/// A payload as the function received it: the JSON value, or why it was too large to read.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Json(Value),
    /// Larger or deeper than the budget: nothing of it was kept.
    TooLarge(String),
}

impl Payload {
    /// Reads `text` as [`Payload`] (for tests and tools; the runtime deserialises it itself).
    ///
    /// # Errors
    /// When `text` is not JSON.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

struct Budget {
    left: Cell<usize>,
    exceeded: Cell<Option<&'static str>>,
}

impl Budget {
    /// Takes `n` bytes; false (and marks the payload too large) when they are not there.
    fn take(&self, n: usize) -> bool {
        if self.exceeded.get().is_some() {
            return false;
        }
        if let Some(rest) = self.left.get().checked_sub(n) {
            self.left.set(rest);
            true
        } else {
            self.exceeded.set(Some("larger"));
            false
        }
    }
}

struct Bounded<'b> {
    budget: &'b Budget,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(if self.budget.take(8) { Value::Bool(v) } else { Value::Null })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(if self.budget.take(8) { Value::from(v) } else { Value::Null })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(if self.budget.take(8) { Value::from(v) } else { Value::Null })
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(if self.budget.take(8) { Value::from(v) } else { Value::Null })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(if self.budget.take(v.len()) { Value::String(v.to_owned()) } else { Value::Null })
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(if self.budget.take(v.len()) { Value::String(v) } else { Value::Null })
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.budget.take(8);
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        if self.depth >= MAX_PAYLOAD_DEPTH {
            self.budget.exceeded.set(Some("deeper"));
        }
        while self.budget.exceeded.get().is_none() {
            match seq.next_element_seed(Bounded { budget: self.budget, depth: self.depth + 1 })? {
                Some(item) => {
                    if self.budget.take(8) {
                        items.push(item);
                    }
                }
                None => return Ok(Value::Array(items)),
            }
        }
        // Over budget: skip the rest without keeping it.
        drop(items);
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        if self.depth >= MAX_PAYLOAD_DEPTH {
            self.budget.exceeded.set(Some("deeper"));
        }
        while self.budget.exceeded.get().is_none() {
            let Some(key) = map.next_key::<String>()? else { return Ok(Value::Object(object)) };
            if !self.budget.take(key.len() + 8) {
                map.next_value::<IgnoredAny>()?;
                break;
            }
            let value = map.next_value_seed(Bounded { budget: self.budget, depth: self.depth + 1 })?;
            object.insert(key, value);
        }
        drop(object);
        while map.next_entry::<IgnoredAny, IgnoredAny>().map(|e| e.is_some())? {}
        Ok(Value::Null)
    }
}

impl<'de> serde::Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let budget = Budget { left: Cell::new(MAX_PAYLOAD_BYTES), exceeded: Cell::new(None) };
        let value = Bounded { budget: &budget, depth: 0 }.deserialize(deserializer)?;
        Ok(match budget.exceeded.get() {
            None => Self::Json(value),
            Some(how) => Self::TooLarge(format!(
                "the event is {how} than {MAX_PAYLOAD_BYTES} bytes of values or {MAX_PAYLOAD_DEPTH} levels of nesting"
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_payloads_read_as_their_json() {
        for text in ["{}", "null", "[1, 2.5, true, null]", r#"{"names": ["db-url"], "refresh": false}"#] {
            let expected: Value = serde_json::from_str(text).unwrap();
            assert_eq!(Payload::from_json(text).unwrap(), Payload::Json(expected), "{text}");
        }
    }

    #[test]
    fn large_or_deep_payloads_are_refused_whole() {
        let big = format!(r#"{{"names": ["{}"], "after": 1}}"#, "x".repeat(MAX_PAYLOAD_BYTES + 1));
        assert!(matches!(Payload::from_json(&big).unwrap(), Payload::TooLarge(r) if r.contains("larger")));
        let many = format!("[{}]", vec!["\"name\""; 40_000].join(","));
        assert!(matches!(Payload::from_json(&many).unwrap(), Payload::TooLarge(_)));
        let keys =
            format!("{{{}}}", (0..20_000).map(|i| format!("\"k{i}\": {i}")).collect::<Vec<_>>().join(","));
        assert!(matches!(Payload::from_json(&keys).unwrap(), Payload::TooLarge(_)));
        let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
        assert!(matches!(Payload::from_json(&deep).unwrap(), Payload::TooLarge(r) if r.contains("deeper")));
        assert!(Payload::from_json("{").is_err(), "still JSON or an error");
    }
}
