//! `quorate wallet authorize`, before anything is sent: the owner's key (read from its file,
//! never echoed), the local refusals and the signed grant.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use quorate_api::pb;
use quorate_wallet::{sign_grant, SessionGrant};

use super::AuthorizeArgs;

/// Why `authorize` refused a grant without asking the node to store it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum Refusal {
    /// A grant must last at least a second.
    #[error("--valid-for must be at least 1 second")]
    ValidForZero,
    /// Longer than the node accepts.
    #[error("--valid-for {valid_for} is longer than the node's longest session ({max} seconds)")]
    ValidForTooLong {
        /// What was asked.
        valid_for: u64,
        /// The node's `max_session_secs`.
        max: u64,
    },
    /// The key file is not the wallet owner's key.
    #[error(
        "the owner key file holds the key of {key}, but the node says the owner of wallet \
         {wallet} is {owner}"
    )]
    NotOwner {
        /// The key file's address.
        key: Address,
        /// The wallet.
        wallet: String,
        /// Its owner according to the node.
        owner: String,
    },
}

/// `--spend-limit`: wei, decimal or 0x-hex.
pub(super) fn parse_spend_limit(text: &str) -> Result<U256, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an amount of wei (decimal or 0x-hex)"))
}

/// Refuses a zero `valid_for`, or one over the node's `max` when it is known.
pub(super) fn check_valid_for(valid_for: u64, max: Option<u64>) -> Result<(), Refusal> {
    if valid_for == 0 {
        return Err(Refusal::ValidForZero);
    }
    match max {
        Some(max) if valid_for > max => Err(Refusal::ValidForTooLong { valid_for, max }),
        _ => Ok(()),
    }
}

/// The owner's key from its file. The error names the file, never its content.
pub(super) fn load_owner_key(path: &Path) -> anyhow::Result<PrivateKeySigner> {
    let secret = crate::secret::Secret::from_file(path)?;
    secret.expose().parse().map_err(|_| {
        anyhow::anyhow!(
            "owner key file {} does not hold a 0x-hex secp256k1 key",
            path.display()
        )
    })
}

/// The `AuthorizeSession` request for the wallet `info`, granting the node's session key
/// (`key`) for `args.valid_for` seconds from `now`, signed by `owner`. Refuses (a
/// [`Refusal`]) a duration over the node's longest session and a key that is not the owner's.
pub(super) fn authorize_request(
    owner: &PrivateKeySigner,
    args: &AuthorizeArgs,
    key: &pb::SessionKeyResponse,
    info: &pb::WalletInfo,
    now: u64,
) -> anyhow::Result<pb::AuthorizeSessionRequest> {
    check_valid_for(args.valid_for, Some(key.max_session_secs))?;
    let wallet: Address = info.address.parse().with_context(|| {
        format!(
            "the node's wallet address {:?} is not an address",
            info.address
        )
    })?;
    let wallet_owner: Address = info
        .owner
        .parse()
        .with_context(|| format!("the node's wallet owner {:?} is not an address", info.owner))?;
    if owner.address() != wallet_owner {
        return Err(Refusal::NotOwner {
            key: owner.address(),
            wallet: info.address.clone(),
            owner: info.owner.clone(),
        }
        .into());
    }
    let session_key: Address = key.session_key.parse().with_context(|| {
        format!(
            "the node's session key {:?} is not an address",
            key.session_key
        )
    })?;
    let valid_until = now
        .checked_add(args.valid_for)
        .context("--valid-for is too large")?;
    let grant = SessionGrant {
        key: session_key,
        valid_until,
        spend_limit: args.spend_limit,
    };
    let signed = sign_grant(owner, key.chain_id, wallet, grant)?;
    Ok(pb::AuthorizeSessionRequest {
        salt: args.wallet.salt.clone(),
        factory: args.wallet.factory.clone(),
        session_key: key.session_key.clone(),
        valid_until,
        spend_limit: args.spend_limit.to_string(),
        owner_signature: signed.owner_signature.to_string(),
    })
}

/// Unix seconds now.
pub(super) fn unix_now() -> anyhow::Result<u64> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs())
}
