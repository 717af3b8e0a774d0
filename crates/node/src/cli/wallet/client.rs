//! The connection to the node's `WalletService`, with the credentials of `quorate workflow`.

use quorate_api::pb::wallet_service_client::WalletServiceClient;
use tonic::transport::Channel;
use tonic::Request;

use super::ConnArgs;
use crate::cli::task;
use crate::cli::workflow::Credentials;

/// A connected client with its credentials.
pub(super) struct Client {
    /// The generated gRPC client.
    pub(super) inner: WalletServiceClient<Channel>,
    credentials: Credentials,
}

impl Client {
    /// Reads the credentials (before connecting, so a bad key file fails fast), then connects.
    pub(super) async fn connect(conn: &ConnArgs) -> anyhow::Result<Self> {
        let credentials = Credentials::load(conn)?;
        let channel = task::connect(&conn.node, &conn.tls).await?;
        Ok(Self {
            inner: WalletServiceClient::new(channel),
            credentials,
        })
    }

    /// `msg` as a request carrying the credentials.
    pub(super) fn req<T>(&self, msg: T) -> Request<T> {
        self.credentials.req(msg)
    }
}
