//! The connection to the node's `WalletService`, with the credentials of `quorate workflow`.

use quorate_api::pb::wallet_service_client::WalletServiceClient;
use tonic::transport::Channel;

/// The `WalletService` client.
pub(super) type Client = crate::cli::workflow::ServiceClient<WalletServiceClient<Channel>>;
