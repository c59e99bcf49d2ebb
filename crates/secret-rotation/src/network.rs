//! The network adapter the doctor probes with: DNS through the system resolver and a bare TCP
//! connection, each under the database connect time-out.

use std::net::SocketAddr;
use std::time::Duration;

use crate::ports::Network;

/// Tokio's resolver and TCP connect, bounded by `timeout`.
#[derive(Debug, Clone, Copy)]
pub struct TcpNetwork {
    timeout: Duration,
}

impl TcpNetwork {
    #[must_use]
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }

    fn late(&self) -> String {
        format!("no answer within {} ms", self.timeout.as_millis())
    }
}

impl Network for TcpNetwork {
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        match tokio::time::timeout(self.timeout, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addrs)) => Ok(addrs.collect()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(self.late()),
        }
    }

    async fn open(&self, addr: SocketAddr) -> Result<(), String> {
        match tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_stream)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(self.late()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn resolves_and_opens_a_local_listener_and_says_why_a_closed_port_fails() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let net = TcpNetwork::new(Duration::from_secs(2));
        let addrs = net.resolve("127.0.0.1", port).await.unwrap();
        assert_eq!(addrs, [SocketAddr::from(([127, 0, 0, 1], port))]);
        assert_eq!(net.open(addrs[0]).await, Ok(()));
        drop(listener);
        let refused = net.open(addrs[0]).await.unwrap_err();
        assert!(refused.to_lowercase().contains("refused"), "{refused}");
        assert!(net.resolve("no-such-host.invalid", 5432).await.is_err());
    }
}
