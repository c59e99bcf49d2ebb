//! The Parameter Store adapter: the only module that touches the SDK. A failed call is sorted by
//! [`AwsError::from_sdk`], as in every function.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types as ssm;
use aws_smithy_types::date_time::Format;
use common::aws::{AwsError, Service};

use crate::name::SECRETS_MANAGER_REFERENCE;
use crate::source::{Batch, MAX_BATCH, Page, Parameter, ParameterSource, ParameterType};

/// Parameter Store through `aws-sdk-ssm`. Asks for decryption only when told to.
#[derive(Debug, Clone)]
pub struct SsmSource {
    client: Client,
}

impl SsmSource {
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self { client: Client::new(sdk) }
    }

    #[must_use]
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }
}

impl ParameterSource for SsmSource {
    async fn get_parameters(&self, names: &[String], decrypt: bool) -> Result<Batch, AwsError> {
        debug_assert!(names.len() <= MAX_BATCH);
        let out = self
            .client
            .get_parameters()
            .set_names(Some(names.to_vec()))
            .with_decryption(decrypt)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Ssm, &e))?;
        let returned = out.parameters.unwrap_or_default().into_iter().map(convert).collect();
        let (found, unmatched) = match_requests(names, returned);
        if unmatched > 0 {
            tracing::warn!(
                unmatched,
                "Parameter Store returned parameters that match no requested name; they are ignored"
            );
        }
        Ok(Batch { found, missing: out.invalid_parameters.unwrap_or_default() })
    }

    async fn get_parameters_by_path(
        &self,
        path: &str,
        next_token: Option<&str>,
        decrypt: bool,
    ) -> Result<Page, AwsError> {
        let out = self
            .client
            .get_parameters_by_path()
            .path(path)
            .recursive(true)
            .with_decryption(decrypt)
            .max_results(i32::try_from(MAX_BATCH).unwrap_or(10))
            .set_next_token(next_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Ssm, &e))?;
        Ok(Page {
            parameters: out.parameters.unwrap_or_default().into_iter().map(convert).collect(),
            next_token: out.next_token.filter(|t| !t.is_empty()),
        })
    }
}

fn convert(p: ssm::Parameter) -> Parameter {
    let kind = match p.r#type {
        Some(ssm::ParameterType::String) => ParameterType::String,
        Some(ssm::ParameterType::StringList) => ParameterType::StringList,
        // Unknown or absent types are treated as secret: redacting too much is the safe error.
        _ => ParameterType::SecureString,
    };
    Parameter {
        name: p.name.unwrap_or_default(),
        selector: p.selector.filter(|s| !s.is_empty()),
        kind,
        value: p.value.unwrap_or_default().into(),
        version: p.version,
        last_modified: p.last_modified_date.and_then(|d| d.fmt(Format::DateTime).ok()),
    }
}

/// Pairs each returned parameter with the requested name it answers, and spells it as requested.
///
/// Parameter Store echoes a selector (`:3`, `:label`) in `Selector`, and returns parameters in any
/// order. Some implementations (moto) omit `Selector` and name a Secrets Manager reference by the
/// secret's own name, so when the echo is missing, requests for the same parameter are paired by
/// version (`:N` takes version N), then the plain name takes the highest remaining version (it is
/// the latest), then labels take the rest. Returns the pairs and how many parameters matched none.
type PairingRule = dyn Fn(&Parameter, Option<&str>) -> bool;

fn match_requests(requested: &[String], returned: Vec<Parameter>) -> (Vec<(String, Parameter)>, usize) {
    let mut open: Vec<(&str, &str, Option<&str>)> = requested
        .iter()
        .map(|r| {
            let (path, selector) = r.split_once(':').map_or((r.as_str(), None), |(p, s)| (p, Some(s)));
            (r.as_str(), path, selector)
        })
        .collect();
    let answers = |name: &str, path: &str| {
        name == path
            || path
                .strip_prefix(SECRETS_MANAGER_REFERENCE)
                .is_some_and(|id| name.trim_start_matches('/') == id.trim_start_matches('/'))
    };
    let mut pending = returned;
    // Highest version first, so that the plain name takes the latest version.
    pending.sort_by_key(|p| std::cmp::Reverse(p.version));
    let mut found = Vec::with_capacity(pending.len());
    let mut unmatched = 0;
    let rules: [&PairingRule; 4] = [
        &|p, sel| p.selector.is_some() && p.selector.as_deref().map(|s| s.trim_start_matches(':')) == sel,
        &|p, sel| sel.and_then(|s| s.parse::<i64>().ok()) == Some(p.version),
        &|_, sel| sel.is_none(),
        &|p, sel| p.selector.is_none() && sel.is_some_and(|s| s.parse::<i64>().is_err()),
    ];
    for rule in rules {
        let mut rest = Vec::new();
        for p in pending {
            match open.iter().position(|(_, path, sel)| answers(&p.name, path) && rule(&p, *sel)) {
                Some(i) => {
                    let (request, path, sel) = open.remove(i);
                    let p = Parameter { name: path.to_owned(), selector: sel.map(|s| format!(":{s}")), ..p };
                    found.push((request.to_owned(), p));
                }
                None => rest.push(p),
            }
        }
        pending = rest;
    }
    unmatched += pending.len();
    (found, unmatched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, selector: Option<&str>, version: i64) -> Parameter {
        Parameter {
            name: name.into(),
            selector: selector.map(str::to_owned),
            kind: ParameterType::String,
            value: format!("v{version}").into(),
            version,
            last_modified: None,
        }
    }

    fn pairs(found: &[(String, Parameter)]) -> Vec<(&str, i64, Option<&str>)> {
        found.iter().map(|(r, p)| (r.as_str(), p.version, p.selector.as_deref())).collect()
    }

    #[test]
    fn echoed_selectors_pair_exactly() {
        let req = ["/a/dev/x:stable".to_owned(), "/a/dev/x".to_owned(), "/a/dev/x:1".to_owned()];
        let returned = vec![
            param("/a/dev/x", Some(":1"), 1),
            param("/a/dev/x", None, 3),
            param("/a/dev/x", Some(":stable"), 2),
        ];
        let (found, unmatched) = match_requests(&req, returned);
        assert_eq!(unmatched, 0);
        let mut got = pairs(&found);
        got.sort_unstable();
        assert_eq!(
            got,
            [("/a/dev/x", 3, None), ("/a/dev/x:1", 1, Some(":1")), ("/a/dev/x:stable", 2, Some(":stable"))]
        );
    }

    #[test]
    fn missing_echoes_pair_by_version_then_latest_then_label() {
        let req = ["/a/dev/x:stable".to_owned(), "/a/dev/x".to_owned(), "/a/dev/x:1".to_owned()];
        // Lowest version first, as a worst case for a naive pairing.
        let returned =
            vec![param("/a/dev/x", None, 1), param("/a/dev/x", None, 1), param("/a/dev/x", None, 2)];
        let (found, _) = match_requests(&req, returned);
        let mut got = pairs(&found);
        got.sort_unstable();
        assert_eq!(
            got,
            [("/a/dev/x", 2, None), ("/a/dev/x:1", 1, Some(":1")), ("/a/dev/x:stable", 1, Some(":stable"))]
        );
    }

    #[test]
    fn references_are_spelled_as_requested() {
        let req = ["/aws/reference/secretsmanager/a/dev/db".to_owned()];
        let (found, unmatched) =
            match_requests(&req, vec![param("a/dev/db", None, 0), param("/other", None, 1)]);
        assert_eq!(unmatched, 1);
        assert_eq!(found[0].1.name, "/aws/reference/secretsmanager/a/dev/db");
    }
}
