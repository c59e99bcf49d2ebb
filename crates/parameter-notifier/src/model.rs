//! Parameter Store's vocabulary in our own types: what the events say and what the adapter
//! maps `DescribeParameters` to. Each keeps a value AWS may add (`Other`) as it came, so an
//! unknown value is handled as before and written out unchanged.

/// The three parameter policies of advanced-tier parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// The parameter has just been deleted.
    Expiration,
    /// The parameter will expire soon.
    ExpirationNotification,
    /// The parameter has not changed for a while.
    NoChangeNotification,
    /// A policy type this function does not know.
    Other(String),
}

impl PolicyType {
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "Expiration" => Self::Expiration,
            "ExpirationNotification" => Self::ExpirationNotification,
            "NoChangeNotification" => Self::NoChangeNotification,
            other => Self::Other(other.to_owned()),
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Expiration => "Expiration",
            Self::ExpirationNotification => "ExpirationNotification",
            Self::NoChangeNotification => "NoChangeNotification",
            Self::Other(text) => text,
        }
    }
}

/// The operation of a `Parameter Store Change` event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChangeOperation {
    Create,
    Update,
    Delete,
    LabelParameterVersion,
    /// An operation this function does not know (`UnlabelParameterVersion`, ...).
    Other(String),
}

impl ChangeOperation {
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "Create" => Self::Create,
            "Update" => Self::Update,
            "Delete" => Self::Delete,
            "LabelParameterVersion" => Self::LabelParameterVersion,
            other => Self::Other(other.to_owned()),
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Create => "Create",
            Self::Update => "Update",
            Self::Delete => "Delete",
            Self::LabelParameterVersion => "LabelParameterVersion",
            Self::Other(text) => text,
        }
    }
}

/// A parameter's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ParameterType {
    String,
    StringList,
    SecureString,
    /// A type this function does not know.
    Other(std::string::String),
}

impl ParameterType {
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "String" => Self::String,
            "StringList" => Self::StringList,
            "SecureString" => Self::SecureString,
            other => Self::Other(other.to_owned()),
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::String => "String",
            Self::StringList => "StringList",
            Self::SecureString => "SecureString",
            Self::Other(text) => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_reads_and_writes_as_parameter_store_spells_it() {
        for text in ["Expiration", "ExpirationNotification", "NoChangeNotification", "SomeFuturePolicy"] {
            assert_eq!(PolicyType::parse(text).as_str(), text);
        }
        assert_eq!(PolicyType::parse("ExpirationNotification"), PolicyType::ExpirationNotification);
        assert_eq!(
            PolicyType::parse("expiration"),
            PolicyType::Other("expiration".into()),
            "case matters, as before"
        );
        for text in ["Create", "Update", "Delete", "LabelParameterVersion", "UnlabelParameterVersion"] {
            assert_eq!(ChangeOperation::parse(text).as_str(), text);
        }
        assert_eq!(ChangeOperation::parse("Delete"), ChangeOperation::Delete);
        assert_eq!(
            ChangeOperation::parse("UnlabelParameterVersion"),
            ChangeOperation::Other("UnlabelParameterVersion".into())
        );
        for text in ["String", "StringList", "SecureString", "Secret"] {
            assert_eq!(ParameterType::parse(text).as_str(), text);
        }
        assert_eq!(ParameterType::parse("SecureString"), ParameterType::SecureString);
    }
}
