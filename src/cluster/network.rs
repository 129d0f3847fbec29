//! Raft's network, client side: every message to another node is an HTTP POST to its admin
//! listener under `/cluster/v1/` ([`super::rpc`] answers), the body and the answer in the versioned
//! wire encoding ([`switchyard_storage::raft::wire`]), authenticated with the cluster secret.
//!
//! A node that cannot be reached is reported `Unreachable`, so openraft backs off instead of
//! retrying at once; a node that answers something else than a message (a wrong secret, another
//! format version) is a network error that says what it answered.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchyard_storage::raft::{Node, NodeId, TypeConfig, wire};

/// The header carrying the cluster secret on every message between nodes.
pub const SECRET_HEADER: &str = "x-switchyard-cluster-secret";

/// What one message to a peer can fail with, before openraft's error types.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// Nothing listens there (connect refused, no route): back off.
    #[error("{0}")]
    Unreachable(String),
    /// It answered, but not with a message we read, or the exchange broke off.
    #[error("{0}")]
    Network(String),
}

/// Sends messages to peers; one connection pool for all of them.
#[derive(Clone)]
pub struct PeerClient {
    http: reqwest::Client,
    secret: Arc<str>,
}

impl PeerClient {
    /// A client presenting `secret`.
    pub fn new(secret: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(500))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self { http, secret: Arc::from(secret) }
    }

    /// POSTs `message` to `http://{address}/cluster/v1/{path}` and reads the answer, within `timeout`.
    pub async fn post<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        address: &str,
        path: &str,
        message: &Req,
        timeout: Duration,
    ) -> Result<Resp, PeerError> {
        let body = wire::encode(message).map_err(|e| PeerError::Network(format!("cannot encode: {e}")))?;
        let url = format!("http://{address}/cluster/v1/{path}");
        let response = self
            .http
            .post(&url)
            .header(SECRET_HEADER, &*self.secret)
            .header("content-type", "application/octet-stream")
            .timeout(timeout)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    PeerError::Unreachable(format!("{address} cannot be reached: {e}"))
                } else {
                    PeerError::Network(format!("{url}: {e}"))
                }
            })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| PeerError::Network(format!("{url}: {e}")))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(PeerError::Network(format!("{url} answered {status}: {text}")));
        }
        wire::decode(&bytes).map_err(|e| PeerError::Network(format!("{url} answered something unreadable: {e}")))
    }
}

/// Makes a [`Peer`] for each node Raft talks to.
#[derive(Clone)]
pub struct Network {
    client: PeerClient,
}

impl Network {
    /// Over `client`.
    pub fn new(client: PeerClient) -> Self {
        Self { client }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> Peer {
        Peer { target, address: node.addr.clone(), client: self.client.clone() }
    }
}

/// One other node, as Raft's client.
pub struct Peer {
    target: NodeId,
    address: String,
    client: PeerClient,
}

impl Peer {
    async fn call<Req: Serialize, Resp: DeserializeOwned, E: std::error::Error + DeserializeOwned>(
        &self,
        path: &str,
        message: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, Node, RaftError<NodeId, E>>> {
        let answer: Result<Resp, RaftError<NodeId, E>> =
            self.client.post(&self.address, path, message, option.hard_ttl()).await.map_err(|e| match e {
                PeerError::Unreachable(m) => RPCError::Unreachable(Unreachable::new(&std::io::Error::other(m))),
                PeerError::Network(m) => RPCError::Network(NetworkError::new(&std::io::Error::other(m))),
            })?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.call("append", &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>> {
        self.call("snapshot", &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.call("vote", &rpc, &option).await
    }
}
