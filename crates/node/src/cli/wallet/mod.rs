//! `quorate wallet …`: a client of a running node's `WalletService` (smart wallets, their
//! nonces and session-key grants). Each command prints one JSON object on stdout; `list`
//! prints `{"items":[…],"next_cursor":null}`. Connection and API-key flags are those of
//! `quorate workflow`.

mod client;
mod grant;
mod output;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::process::ExitCode;

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use quorate_api::pb;
use serde_json::json;

use super::workflow::{block_on, listing, print, ConnArgs};
use client::Client;
use quorate_api::pb::wallet_service_client::WalletServiceClient;

/// Arguments of `quorate wallet`.
#[derive(clap::Args, Debug, Clone)]
pub struct WalletArgs {
    /// The node to talk to.
    #[command(flatten)]
    pub conn: ConnArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: WalletCommand,
}

/// Which of the caller's wallets: its salt and factory.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct WalletSel {
    /// The wallet's salt, decimal or 0x-hex (default: 0).
    #[arg(long, default_value = "")]
    pub salt: String,
    /// The wallet's factory, a 0x address (default: the node's).
    #[arg(long, default_value = "")]
    pub factory: String,
}

impl WalletSel {
    /// The request naming this wallet.
    fn request(&self) -> pb::GetWalletRequest {
        pb::GetWalletRequest {
            salt: self.salt.clone(),
            factory: self.factory.clone(),
        }
    }
}

/// Arguments of `quorate wallet authorize`.
#[derive(clap::Args, Debug, Clone)]
pub struct AuthorizeArgs {
    /// The wallet.
    #[command(flatten)]
    pub wallet: WalletSel,
    /// How long the grant lasts, in seconds from now (at most the node's `max_session_secs`).
    #[arg(long)]
    pub valid_for: u64,
    /// Most wei the session may spend in total, decimal or 0x-hex.
    #[arg(long, value_parser = grant::parse_spend_limit)]
    pub spend_limit: U256,
    /// File holding the wallet owner's 0x-hex secp256k1 key, which signs the grant. A file
    /// rather than a flag because a flag's value shows in `ps`; the key is never sent.
    #[arg(long)]
    pub owner_key_file: PathBuf,
}

/// `quorate wallet` subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum WalletCommand {
    /// Show a wallet: address, owner, deployment, workflows by status and session.
    Get(WalletSel),
    /// List your recorded wallets, optionally of one salt or factory.
    List(WalletSel),
    /// Show a wallet's EntryPoint nonce.
    Nonce(WalletSel),
    /// What a grant must name: the node's session key, chain id, EntryPoint and longest
    /// session.
    SessionKey,
    /// Sign a session grant with the owner's key (locally) and store it at the node.
    Authorize(AuthorizeArgs),
    /// Revoke the session stored at the node.
    Revoke(WalletSel),
}

/// Runs one `quorate wallet` command.
pub fn run(args: WalletArgs) -> anyhow::Result<ExitCode> {
    // A zero `--valid-for` or a bad key file fails before any connection is attempted.
    let owner = match &args.command {
        WalletCommand::Authorize(a) => {
            grant::check_valid_for(a.valid_for, None)?;
            Some(grant::load_owner_key(&a.owner_key_file)?)
        }
        _ => None,
    };
    block_on(async move {
        let mut c = Client::connect(&args.conn, WalletServiceClient::new).await?;
        wallet(&mut c, args.command, owner).await
    })
}

async fn wallet(
    c: &mut Client,
    command: WalletCommand,
    owner: Option<PrivateKeySigner>,
) -> anyhow::Result<()> {
    let value = match command {
        WalletCommand::Get(w) => {
            let req = c.req(w.request());
            output::wallet_info(&c.inner.get_wallet(req).await?.into_inner())
        }
        WalletCommand::List(w) => {
            let req = c.req(pb::ListWalletsRequest {
                factory: w.factory,
                salt: w.salt,
            });
            let resp = c.inner.list_wallets(req).await?.into_inner();
            listing(resp.wallets.iter().map(output::wallet_info), "")
        }
        WalletCommand::Nonce(w) => {
            let req = c.req(w.request());
            let resp = c.inner.get_nonce(req).await?.into_inner();
            json!({ "wallet": resp.wallet, "nonce": resp.nonce })
        }
        WalletCommand::SessionKey => {
            let req = c.req(pb::GetSessionKeyRequest {});
            output::session_key(&c.inner.get_session_key(req).await?.into_inner())
        }
        WalletCommand::Authorize(a) => {
            let owner = owner.context("no owner key was read")?;
            let req = c.req(pb::GetSessionKeyRequest {});
            let key = c.inner.get_session_key(req).await?.into_inner();
            let req = c.req(a.wallet.request());
            let info = c.inner.get_wallet(req).await?.into_inner();
            let request = grant::authorize_request(&owner, &a, &key, &info, grant::unix_now()?)?;
            let req = c.req(request);
            output::session(&c.inner.authorize_session(req).await?.into_inner())
        }
        WalletCommand::Revoke(w) => {
            let req = c.req(w.request());
            output::session(&c.inner.revoke_session(req).await?.into_inner())
        }
    };
    print(&value, false)
}
