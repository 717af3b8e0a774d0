//! The connection to the node's `WorkflowService` and the credentials sent with each call:
//! an API key exactly as `quorate task` sends it, or a wallet JWT as a bearer token. The
//! generic [`Client`] serves the other services' clients too (`quorate wallet`).

use anyhow::Context;
use quorate_api::pb::workflow_service_client::WorkflowServiceClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;
use tonic::Request;

use super::ConnArgs;
use crate::cli::task;

/// What identifies the caller.
enum Credential {
    /// No credentials (a `--dev` node on loopback accepts that).
    None,
    /// An API key, sent as `x-api-key` like `quorate task` does.
    ApiKey(MetadataValue<Ascii>),
    /// `Bearer <wallet JWT>`, sent as `authorization`.
    Bearer(MetadataValue<Ascii>),
}

/// The caller's credentials, read from the [`ConnArgs`], added to each request.
pub(super) struct Credentials(Credential);

impl Credentials {
    /// Reads the credentials of `conn` (its key or token file, if any).
    pub(in crate::cli) fn load(conn: &ConnArgs) -> anyhow::Result<Self> {
        let credential = match &conn.token_file {
            Some(path) => {
                let token = crate::secret::Secret::from_file(path)?;
                // The parse error never names the value, so the token cannot leak through it.
                let value = format!("Bearer {}", token.expose())
                    .parse()
                    .context("the wallet token is not valid metadata")?;
                Credential::Bearer(value)
            }
            None => {
                match task::api_key_metadata(conn.api_key.as_deref(), conn.api_key_file.as_deref())?
                {
                    Some(key) => Credential::ApiKey(key),
                    None => Credential::None,
                }
            }
        };
        Ok(Self(credential))
    }

    /// `msg` as a request carrying the credentials.
    pub(in crate::cli) fn req<T>(&self, msg: T) -> Request<T> {
        match &self.0 {
            Credential::None => task::with_api_key(None, msg),
            Credential::ApiKey(key) => task::with_api_key(Some(key), msg),
            Credential::Bearer(token) => {
                let mut r = Request::new(msg);
                r.metadata_mut().insert("authorization", token.clone());
                r
            }
        }
    }
}

/// A connected gRPC client (`C`: a generated service client) with its credentials.
pub(in crate::cli) struct Client<C> {
    /// The generated gRPC client.
    pub(in crate::cli) inner: C,
    credentials: Credentials,
}

impl<C> Client<C> {
    /// Reads the credentials (before connecting, so a bad key file fails fast), then connects
    /// and wraps the channel in the service client `make` builds.
    pub(in crate::cli) async fn connect(
        conn: &ConnArgs,
        make: fn(Channel) -> C,
    ) -> anyhow::Result<Self> {
        let credentials = Credentials::load(conn)?;
        let channel = task::connect(&conn.node, &conn.tls).await?;
        Ok(Self {
            inner: make(channel),
            credentials,
        })
    }

    /// `msg` as a request carrying the credentials.
    pub(in crate::cli) fn req<T>(&self, msg: T) -> Request<T> {
        self.credentials.req(msg)
    }
}

/// The `WorkflowService` client.
pub(super) type WorkflowClient = Client<WorkflowServiceClient<Channel>>;
