//! ERC-4337 smart wallets for workflow steps. An owner's wallet is a `SessionKeyAccount`
//! (`contracts/src/aa`) at a CREATE2 address fixed by (factory, owner, salt), so it is known and
//! can be funded before it exists. The owner signs one [`SessionGrant`] for the node's session
//! key (expiry, spending limit); the node then runs a step's call as a UserOperation: it builds
//! it, deploys the account through its initCode on first use, estimates gas, signs with the
//! session key, simulates, and submits it to the EntryPoint (`handleOps`) as its own bundler
//! ([`Bundler`]). The account checks the grant, the expiry (through the EntryPoint) and the
//! limit on chain; the bundler checks them first so a refused operation costs nothing.
//!
//! EntryPoint v0.7 (`@account-abstraction/contracts` 0.7.0): packed UserOperations.

// Every dependency in Cargo.toml is used (CI: clippy -D warnings); dev-dependencies are
// exempt because each test binary uses only some of them.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod address;
mod bundler;
mod contracts;
mod error;
mod revert;
mod session;
mod user_op;

pub use address::{account_init_code, counterfactual_address, WalletLocator};
pub use bundler::{Bundler, BundlerConfig, WalletCall, WalletReceipt};
pub use contracts::{IAccountFactory, IEntryPoint, ISessionKeyAccount, PackedUserOperation};
pub use error::WalletError;
pub use revert::decode_revert;
pub use session::{grant_hash, sign_grant, SessionGrant, SignedGrant};
pub use user_op::{UserOperation, ENTRY_POINT_V07_NONCE_KEY};
