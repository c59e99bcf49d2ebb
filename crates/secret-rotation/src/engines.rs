//! Routes each login to the adapter of its engine.

use common::SecretString;

use crate::ports::{CloneSync, Database, DbError, Login, Session};
use crate::secret::Engine;

/// The database adapters, one per engine.
#[derive(Debug, Clone)]
pub struct Engines<P, M> {
    pub postgres: P,
    pub mysql: M,
}

/// A session on one of the engines.
#[derive(Debug)]
pub enum EngineSession<P, M> {
    Postgres(P),
    MySql(M),
}

impl<P: Database + Sync, M: Database + Sync> Database for Engines<P, M>
where
    P::Session: Send,
    M::Session: Send,
{
    type Session = EngineSession<P::Session, M::Session>;

    async fn connect(&self, login: &Login) -> Result<Self::Session, DbError> {
        match login.engine {
            Engine::Postgres => self.postgres.connect(login).await.map(EngineSession::Postgres),
            Engine::MySql => self.mysql.connect(login).await.map(EngineSession::MySql),
        }
    }
}

impl<P: Session, M: Session> Session for EngineSession<P, M> {
    async fn set_own_password(&mut self, password: &SecretString) -> Result<(), DbError> {
        match self {
            Self::Postgres(s) => s.set_own_password(password).await,
            Self::MySql(s) => s.set_own_password(password).await,
        }
    }

    async fn set_password(&mut self, user: &str, password: &SecretString) -> Result<(), DbError> {
        match self {
            Self::Postgres(s) => s.set_password(user, password).await,
            Self::MySql(s) => s.set_password(user, password).await,
        }
    }

    async fn sync_clone(
        &mut self,
        clone: &str,
        base: &str,
        clone_password: &SecretString,
    ) -> Result<CloneSync, DbError> {
        match self {
            Self::Postgres(s) => s.sync_clone(clone, base, clone_password).await,
            Self::MySql(s) => s.sync_clone(clone, base, clone_password).await,
        }
    }

    async fn read_only_query(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Self::Postgres(s) => s.read_only_query(sql).await,
            Self::MySql(s) => s.read_only_query(sql).await,
        }
    }

    async fn clone_drift(&mut self, clone: &str, base: &str) -> Result<Option<Vec<String>>, DbError> {
        match self {
            Self::Postgres(s) => s.clone_drift(clone, base).await,
            Self::MySql(s) => s.clone_drift(clone, base).await,
        }
    }

    async fn missing_privileges(&mut self, base: &str, clone: &str) -> Result<Vec<String>, DbError> {
        match self {
            Self::Postgres(s) => s.missing_privileges(base, clone).await,
            Self::MySql(s) => s.missing_privileges(base, clone).await,
        }
    }

    async fn whoami(&mut self) -> Result<String, DbError> {
        match self {
            Self::Postgres(s) => s.whoami().await,
            Self::MySql(s) => s.whoami().await,
        }
    }
}
