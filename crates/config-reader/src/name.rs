//! Parameter names: parsing, validation and the environment scope.
//!
//! A name is asked for relative to the environment (`db-url`) or in full (`/my-app/dev/db-url`),
//! optionally with a selector (`db-url:3` for version 3, `db-url:live` for the version labelled
//! `live`). Every name must resolve inside `/<prefix>/<env>/`: a `dev` deployment cannot be
//! steered into reading `prod`. Secrets Manager references (`/aws/reference/secretsmanager/<id>`)
//! are allowed when the secret's name is itself scoped (`<prefix>/<env>/...`) or when the
//! deployment configured that exact reference.

use std::fmt;

/// SSM's limit on a parameter name, in characters.
pub const MAX_NAME_LEN: usize = 1011;
/// SSM's limit on hierarchy levels in a parameter name.
pub const MAX_DEPTH: usize = 15;
/// SSM's limit on a label's length.
const MAX_LABEL_LEN: usize = 100;
/// Secrets Manager's limit on a secret name or ARN in a reference.
const MAX_SECRET_ID_LEN: usize = 2048;

/// The path under which Parameter Store exposes Secrets Manager secrets.
pub const SECRETS_MANAGER_REFERENCE: &str = "/aws/reference/secretsmanager/";
/// The path of AWS's public parameters (AMI ids, regions, service endpoints).
pub const PUBLIC_PARAMETERS: &str = "/aws/service/";

/// The deployment's environment. There is no default and no fallback: a `dev` function never
/// reads `prod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Dev,
    Prod,
}

impl Environment {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dev => "dev",
            Self::Prod => "prod",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Environment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dev" => Ok(Self::Dev),
            "prod" => Ok(Self::Prod),
            other => Err(format!("{other:?} is not an environment: expected \"dev\" or \"prod\"")),
        }
    }
}

/// Which version of a parameter to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    Version(u64),
    Label(String),
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Version(v) => write!(f, ":{v}"),
            Self::Label(l) => write!(f, ":{l}"),
        }
    }
}

/// A validated, fully qualified parameter name with its optional selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParameterRef {
    name: String,
    selector: Option<Selector>,
}

impl ParameterRef {
    /// The full name, without the selector.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    #[must_use]
    pub fn selector(&self) -> Option<&Selector> {
        self.selector.as_ref()
    }

    /// Whether this is a Secrets Manager reference rather than a parameter.
    #[must_use]
    pub fn is_secret_reference(&self) -> bool {
        self.name.starts_with(SECRETS_MANAGER_REFERENCE)
    }

    /// The name as `GetParameters` takes it: `name`, `name:3` or `name:label`.
    #[must_use]
    pub fn request_name(&self) -> String {
        match &self.selector {
            None => self.name.clone(),
            Some(s) => format!("{}{s}", self.name),
        }
    }
}

impl fmt::Display for ParameterRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.request_name())
    }
}

/// Why a name was refused. Names are not secret, so they are quoted in full.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("malformed parameter name {name:?}: {reason}")]
    Malformed { name: String, reason: String },
    #[error("parameter name {name:?} is outside this function's scope {scope}")]
    OutOfScope { name: String, scope: String },
}

fn malformed(name: &str, reason: impl Into<String>) -> NameError {
    NameError::Malformed { name: name.to_owned(), reason: reason.into() }
}

/// The part of Parameter Store one deployment may read: `/<prefix>/<env>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    environment: Environment,
    /// `/<prefix>/<env>/`, with both slashes.
    root: String,
    /// `<prefix>/<env>/` without the leading slash: the scoped Secrets Manager names.
    secret_root: String,
    /// References the deployment configured explicitly, allowed whatever their name.
    allowed_references: Vec<String>,
    /// Public parameters (`/aws/service/...`) the deployment configured: these exact names, and
    /// nothing else under `/aws/`.
    allowed_public: Vec<String>,
}

impl Scope {
    /// The scope for `prefix` (e.g. `/my-app`) and `environment`.
    ///
    /// # Errors
    /// When the prefix is not a valid parameter path, or lies in the reserved `/aws` or `/ssm`
    /// namespaces.
    pub fn new(prefix: &str, environment: Environment) -> Result<Self, NameError> {
        let trimmed = prefix.trim_end_matches('/');
        if !trimmed.starts_with('/') || trimmed.len() < 2 {
            return Err(malformed(
                prefix,
                "a prefix starts with '/' and names at least one level, e.g. /my-app",
            ));
        }
        validate_path(prefix, trimmed)?;
        let first = trimmed[1..].split('/').next().unwrap_or_default().to_ascii_lowercase();
        if first.starts_with("aws") || first.starts_with("ssm") {
            return Err(malformed(prefix, "names beginning with aws or ssm are reserved by AWS"));
        }
        let root = format!("{trimmed}/{environment}/");
        Ok(Self {
            environment,
            secret_root: root[1..].to_owned(),
            root,
            allowed_references: Vec::new(),
            allowed_public: Vec::new(),
        })
    }

    #[must_use]
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// `/<prefix>/<env>/`.
    #[must_use]
    pub fn root(&self) -> &str {
        &self.root
    }

    /// Allows these exact Secrets Manager references (configured by the deployment).
    #[must_use]
    pub fn with_allowed_references(mut self, references: Vec<String>) -> Self {
        self.allowed_references = references;
        self
    }

    /// Allows these exact public parameters (`/aws/service/...`, configured by the deployment).
    ///
    /// # Errors
    /// [`NameError::Malformed`] for a name that is not a well-formed public parameter name.
    pub fn with_public_parameters(mut self, names: &[String]) -> Result<Self, NameError> {
        for raw in names {
            let (path, _) = split_selector(raw)?;
            if !path.starts_with(PUBLIC_PARAMETERS) || path.len() == PUBLIC_PARAMETERS.len() {
                return Err(malformed(
                    raw,
                    format!("a public parameter's name starts with {PUBLIC_PARAMETERS}"),
                ));
            }
            validate_path(raw, path)?;
            if !self.allowed_public.iter().any(|p| p == path) {
                self.allowed_public.push(path.to_owned());
            }
        }
        Ok(self)
    }

    /// The public parameters the deployment configured.
    #[must_use]
    pub fn public_parameters(&self) -> &[String] {
        &self.allowed_public
    }

    /// Resolves `raw` (relative or absolute, with an optional selector) inside this scope.
    ///
    /// # Errors
    /// [`NameError::Malformed`] for a name SSM would not accept or that tries to climb out of
    /// its path; [`NameError::OutOfScope`] for a well-formed name outside `/<prefix>/<env>/`.
    pub fn resolve(&self, raw: &str) -> Result<ParameterRef, NameError> {
        if raw.is_empty() {
            return Err(malformed(raw, "empty"));
        }
        if raw.len() > MAX_NAME_LEN + 1 + MAX_LABEL_LEN {
            return Err(malformed(&truncate(raw), format!("longer than {MAX_NAME_LEN} characters")));
        }
        let (path, selector) = split_selector(raw)?;
        if let Some(id) = path.strip_prefix(SECRETS_MANAGER_REFERENCE) {
            return self.resolve_reference(raw, path, id, selector);
        }
        let full = if path.starts_with('/') { path.to_owned() } else { format!("{}{path}", self.root) };
        validate_path(raw, &full)?;
        // A public parameter: only one the deployment named, never a way out of the scope.
        if self.allowed_public.contains(&full) {
            return Ok(ParameterRef { name: full, selector });
        }
        if !full.starts_with(&self.root) || full.len() == self.root.len() {
            return Err(NameError::OutOfScope { name: raw.to_owned(), scope: self.root.clone() });
        }
        Ok(ParameterRef { name: full, selector })
    }

    fn resolve_reference(
        &self,
        raw: &str,
        path: &str,
        id: &str,
        selector: Option<Selector>,
    ) -> Result<ParameterRef, NameError> {
        if id.is_empty() || id.len() > MAX_SECRET_ID_LEN {
            return Err(malformed(raw, "a Secrets Manager reference names a secret"));
        }
        if !id.chars().all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)) {
            return Err(malformed(raw, "a secret name holds only letters, digits and /_+=.@-"));
        }
        if id.split('/').any(|seg| seg == "." || seg == "..") {
            return Err(malformed(raw, "'.' and '..' are not path segments"));
        }
        let id = id.trim_start_matches('/');
        let allowed = id.starts_with(&self.secret_root) || self.allowed_references.iter().any(|r| r == path);
        if !allowed {
            return Err(NameError::OutOfScope {
                name: raw.to_owned(),
                scope: format!("{} (or {SECRETS_MANAGER_REFERENCE}{})", self.root, self.secret_root),
            });
        }
        Ok(ParameterRef { name: path.to_owned(), selector })
    }
}

fn truncate(raw: &str) -> String {
    let mut s: String = raw.chars().take(64).collect();
    s.push('…');
    s
}

/// Splits `name:selector`. Parameter names never contain ':', so the first one starts the selector.
fn split_selector(raw: &str) -> Result<(&str, Option<Selector>), NameError> {
    let Some((path, sel)) = raw.split_once(':') else {
        return Ok((raw, None));
    };
    if sel.is_empty() {
        return Err(malformed(raw, "empty selector after ':'"));
    }
    if sel.bytes().all(|b| b.is_ascii_digit()) {
        let version: u64 = sel.parse().map_err(|_| malformed(raw, "version out of range"))?;
        if version == 0 {
            return Err(malformed(raw, "versions start at 1"));
        }
        return Ok((path, Some(Selector::Version(version))));
    }
    if sel.len() > MAX_LABEL_LEN {
        return Err(malformed(raw, format!("a label is at most {MAX_LABEL_LEN} characters")));
    }
    if !sel.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err(malformed(raw, "a label holds only letters, digits and ._-"));
    }
    if sel.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(malformed(raw, "a label cannot start with a digit"));
    }
    let lower = sel.to_ascii_lowercase();
    if lower.starts_with("aws") || lower.starts_with("ssm") {
        return Err(malformed(raw, "labels beginning with aws or ssm are reserved"));
    }
    Ok((path, Some(Selector::Label(sel.to_owned()))))
}

/// Checks a fully qualified path the way Parameter Store would, and refuses path tricks.
fn validate_path(raw: &str, full: &str) -> Result<(), NameError> {
    if full.len() > MAX_NAME_LEN {
        return Err(malformed(&truncate(raw), format!("longer than {MAX_NAME_LEN} characters")));
    }
    if let Some(bad) = full.chars().find(|c| !(c.is_ascii_alphanumeric() || "_.-/".contains(*c))) {
        return Err(malformed(
            raw,
            format!("character {bad:?} is not allowed (letters, digits and _.-/ only)"),
        ));
    }
    let segments: Vec<&str> = full[1..].split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(malformed(raw, "empty path segment ('//' or a trailing '/')"));
    }
    if segments.iter().any(|s| *s == "." || *s == "..") {
        return Err(malformed(raw, "'.' and '..' are not path segments"));
    }
    if segments.len() > MAX_DEPTH {
        return Err(malformed(raw, format!("more than {MAX_DEPTH} levels")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> Scope {
        Scope::new("/my-app", Environment::Dev).unwrap()
    }

    #[test]
    fn relative_and_absolute_names_resolve_inside_the_environment() {
        let s = dev();
        assert_eq!(s.resolve("db-url").unwrap().name(), "/my-app/dev/db-url");
        assert_eq!(s.resolve("/my-app/dev/db-url").unwrap().name(), "/my-app/dev/db-url");
        assert_eq!(s.resolve("nested/a.b_c-d").unwrap().name(), "/my-app/dev/nested/a.b_c-d");
    }

    #[test]
    fn selectors_are_parsed() {
        let s = dev();
        let v = s.resolve("db-url:3").unwrap();
        assert_eq!(v.selector(), Some(&Selector::Version(3)));
        assert_eq!(v.request_name(), "/my-app/dev/db-url:3");
        let l = s.resolve("/my-app/dev/db-url:live").unwrap();
        assert_eq!(l.selector(), Some(&Selector::Label("live".into())));
        for bad in ["db-url:", "db-url:0", "db-url:1abc", "db-url:aws-x", "db-url:a b", "db-url:a:b"] {
            assert!(matches!(s.resolve(bad), Err(NameError::Malformed { .. })), "{bad}");
        }
    }

    #[test]
    fn other_environments_and_prefixes_are_out_of_scope() {
        let s = dev();
        for name in [
            "/my-app/prod/db-url",
            "/my-app/dev",
            "/my-app/dev/",
            "/other/dev/db-url",
            "/my-app/devx/db-url",
            "/aws/service/global-infrastructure/regions",
        ] {
            let err = s.resolve(name).unwrap_err();
            assert!(
                matches!(err, NameError::OutOfScope { .. } | NameError::Malformed { .. }),
                "{name}: {err}"
            );
            assert!(!matches!(err, NameError::Malformed { .. }) || name.ends_with('/'), "{name}: {err}");
        }
    }

    #[test]
    fn path_tricks_are_malformed() {
        let s = dev();
        for name in [
            "../prod/db-url",
            "/my-app/dev/../prod/db-url",
            "a//b",
            "./x",
            "db url",
            "db-url\n",
            "x/",
            "ünïcode",
            "a;b",
            "*",
        ] {
            assert!(matches!(s.resolve(name), Err(NameError::Malformed { .. })), "{name:?}");
        }
        let deep = (0..15).map(|i| format!("l{i}")).collect::<Vec<_>>().join("/");
        assert!(matches!(s.resolve(&deep), Err(NameError::Malformed { .. })));
        assert!(matches!(s.resolve(&"x".repeat(1100)), Err(NameError::Malformed { .. })));
        assert!(s.resolve("").is_err());
    }

    #[test]
    fn secret_references_must_be_scoped_or_configured() {
        let s = dev();
        let r = s.resolve("/aws/reference/secretsmanager/my-app/dev/db-credentials").unwrap();
        assert!(r.is_secret_reference());
        assert!(s.resolve("/aws/reference/secretsmanager//my-app/dev/db").is_ok());
        assert!(matches!(
            s.resolve("/aws/reference/secretsmanager/my-app/prod/db"),
            Err(NameError::OutOfScope { .. })
        ));
        assert!(matches!(
            s.resolve("/aws/reference/secretsmanager/my-app/dev/../prod/db"),
            Err(NameError::Malformed { .. })
        ));
        assert!(matches!(s.resolve("/aws/reference/secretsmanager/"), Err(NameError::Malformed { .. })));
        let configured =
            dev().with_allowed_references(vec!["/aws/reference/secretsmanager/shared-db".into()]);
        assert!(configured.resolve("/aws/reference/secretsmanager/shared-db").is_ok());
        assert!(configured.resolve("/aws/reference/secretsmanager/other-db").is_err());
    }

    #[test]
    fn public_parameters_are_read_only_when_configured() {
        let ami = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
        let s = dev().with_public_parameters(&[ami.to_owned()]).unwrap();
        assert_eq!(s.resolve(ami).unwrap().name(), ami);
        assert_eq!(s.resolve(&format!("{ami}:3")).unwrap().request_name(), format!("{ami}:3"));
        for other in [
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
            "/aws/service/ami-amazon-linux-latest",
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64/x",
            "/aws/service/global-infrastructure/regions",
        ] {
            assert!(matches!(s.resolve(other), Err(NameError::OutOfScope { .. })), "{other}");
        }
        assert!(matches!(
            s.resolve("/aws/service/ami-amazon-linux-latest/../../../my-app/prod/db-url"),
            Err(NameError::Malformed { .. })
        ));
        for bad in ["/my-app/prod/db-url", "/aws/service/", "/aws/services/x", "/aws/service/a b"] {
            assert!(dev().with_public_parameters(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes_are_validated() {
        assert_eq!(Scope::new("/my-app/", Environment::Prod).unwrap().root(), "/my-app/prod/");
        assert_eq!(Scope::new("/team/app", Environment::Dev).unwrap().root(), "/team/app/dev/");
        for bad in ["my-app", "/", "", "/aws/x", "/ssm-things", "/a b", "/a//b"] {
            assert!(Scope::new(bad, Environment::Dev).is_err(), "{bad}");
        }
    }

    #[test]
    fn environment_parses_strictly() {
        assert_eq!("dev".parse::<Environment>().unwrap(), Environment::Dev);
        assert_eq!("prod".parse::<Environment>().unwrap(), Environment::Prod);
        for bad in ["", "Dev", "PROD", "production", "staging", " dev"] {
            assert!(bad.parse::<Environment>().is_err(), "{bad}");
        }
    }
}
