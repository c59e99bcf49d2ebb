//! The RDS API adapter: finds the database of a secret that RDS manages. Only `Describe*` calls.

use aws_sdk_rds::Client;
use aws_sdk_rds::types::{DbCluster, DbInstance, Filter};
use common::aws::{AwsError, AwsErrorKind, Service};

use crate::ports::{RdsApi, RdsDatabase, RdsEndpoint, RdsTarget};

#[derive(Debug, Clone)]
pub struct Rds {
    client: Client,
}

impl Rds {
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self { client: Client::new(sdk) }
    }

    #[must_use]
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }

    async fn instance(&self, id: &str) -> Result<DbInstance, AwsError> {
        let out = self
            .client
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Rds, &e))?;
        out.db_instances
            .unwrap_or_default()
            .into_iter()
            .next()
            .ok_or_else(|| not_found(&format!("DB instance {id}")))
    }

    async fn cluster(&self, id: &str) -> Result<DbCluster, AwsError> {
        let out = self
            .client
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Rds, &e))?;
        out.db_clusters
            .unwrap_or_default()
            .into_iter()
            .next()
            .ok_or_else(|| not_found(&format!("DB cluster {id}")))
    }

    /// The instances matching one filter, in one call (up to 100, which covers a cluster's 16
    /// members and an instance's 15 read replicas).
    async fn instances_where(&self, filter: &str, values: Vec<String>) -> Result<Vec<DbInstance>, AwsError> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let filter = Filter::builder().name(filter).set_values(Some(values)).build();
        let out = self
            .client
            .describe_db_instances()
            .filters(filter)
            .max_records(100)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Rds, &e))?;
        Ok(out.db_instances.unwrap_or_default())
    }

    async fn cluster_endpoints(&self, cluster: &DbCluster) -> Result<Vec<RdsEndpoint>, AwsError> {
        let mut all = Vec::new();
        if let Some(port) = cluster.port.and_then(|p| u16::try_from(p).ok()) {
            let names = [cluster.endpoint.clone(), cluster.reader_endpoint.clone()].into_iter().flatten();
            let custom = cluster.custom_endpoints.clone().unwrap_or_default();
            all.extend(names.chain(custom).map(|host| RdsEndpoint { host, port }));
        }
        if let Some(id) = &cluster.db_cluster_identifier {
            all.extend(
                self.instances_where("db-cluster-id", vec![id.clone()]).await?.iter().filter_map(endpoint_of),
            );
        }
        Ok(all)
    }
}

fn endpoint_of(instance: &DbInstance) -> Option<RdsEndpoint> {
    let endpoint = instance.endpoint.as_ref()?;
    Some(RdsEndpoint {
        host: endpoint.address.clone()?,
        port: endpoint.port.and_then(|p| u16::try_from(p).ok())?,
    })
}

fn not_ready(what: &str) -> AwsError {
    AwsError::new(
        Service::Rds,
        AwsErrorKind::Rejected,
        None,
        format!("{what} has no endpoint yet (is it still being created?)"),
    )
}

/// An answer without the database asked for.
fn not_found(what: &str) -> AwsError {
    AwsError::new(Service::Rds, AwsErrorKind::NotFound, None, format!("{what} not found"))
}

impl RdsApi for Rds {
    async fn locate(&self, target: &RdsTarget) -> Result<RdsDatabase, AwsError> {
        match target {
            RdsTarget::Instance(id) => {
                let instance = self.instance(id).await?;
                let endpoint = endpoint_of(&instance).ok_or_else(|| not_ready(&target.describe()))?;
                Ok(RdsDatabase { engine: instance.engine.unwrap_or_default(), endpoint })
            }
            RdsTarget::Cluster(id) => {
                let cluster = self.cluster(id).await?;
                let host = cluster.endpoint.clone().ok_or_else(|| not_ready(&target.describe()))?;
                let port = cluster
                    .port
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| not_ready(&target.describe()))?;
                Ok(RdsDatabase {
                    engine: cluster.engine.unwrap_or_default(),
                    endpoint: RdsEndpoint { host, port },
                })
            }
        }
    }

    async fn endpoints(&self, target: &RdsTarget) -> Result<Vec<RdsEndpoint>, AwsError> {
        match target {
            RdsTarget::Cluster(id) => self.cluster_endpoints(&self.cluster(id).await?).await,
            RdsTarget::Instance(id) => {
                let instance = self.instance(id).await?;
                let mut all: Vec<RdsEndpoint> = endpoint_of(&instance).into_iter().collect();
                let replicas = instance.read_replica_db_instance_identifiers.clone().unwrap_or_default();
                all.extend(
                    self.instances_where("db-instance-id", replicas).await?.iter().filter_map(endpoint_of),
                );
                if let Some(cluster) = &instance.db_cluster_identifier {
                    all.extend(self.cluster_endpoints(&self.cluster(cluster).await?).await?);
                }
                Ok(all)
            }
        }
    }
}
