//! Where an owner's wallet lives before it exists: the CREATE2 address the factory's
//! `getAddress(owner, salt)` computes, reproduced locally (no RPC per lookup), and the initCode
//! that deploys it on first use.

use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use alloy::sol_types::{SolCall, SolValue};

use crate::contracts::{proxy_creation_code, IAccountFactory, ISessionKeyAccount};
use crate::error::WalletError;

/// Which wallet: the factory that deploys it, the account implementation behind its proxy
/// (the factory's `accountImplementation()`), its owner and salt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletLocator {
    /// The account factory.
    pub factory: Address,
    /// The factory's account implementation.
    pub implementation: Address,
    /// The owner's EOA.
    pub owner: Address,
    /// Any number; each salt is another wallet of the same owner.
    pub salt: U256,
}

impl WalletLocator {
    /// The wallet's address.
    pub fn address(&self) -> Result<Address, WalletError> {
        counterfactual_address(self.factory, self.implementation, self.owner, self.salt)
    }
}

/// `factory.getAddress(owner, salt)`: CREATE2 from the factory, with the salt, of an ERC-1967
/// proxy constructed with (implementation, `initialize(owner)`).
pub fn counterfactual_address(
    factory: Address,
    implementation: Address,
    owner: Address,
    salt: U256,
) -> Result<Address, WalletError> {
    let mut init_code = proxy_creation_code()
        .map_err(|e| WalletError::Build(format!("ERC1967Proxy artifact: {e}")))?
        .to_vec();
    let initialize = ISessionKeyAccount::initializeCall { anOwner: owner }.abi_encode();
    init_code.extend_from_slice(&(implementation, Bytes::from(initialize)).abi_encode_params());
    Ok(factory.create2(B256::from(salt), keccak256(&init_code)))
}

/// The initCode of a UserOperation that deploys the wallet: the factory's address followed by
/// `createAccount(owner, salt)`.
pub fn account_init_code(factory: Address, owner: Address, salt: U256) -> Bytes {
    let mut code = factory.to_vec();
    code.extend_from_slice(&IAccountFactory::createAccountCall { owner, salt }.abi_encode());
    code.into()
}
