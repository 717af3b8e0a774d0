//! Session grants: what an owner lets the node's session key do with one wallet (expiry,
//! spending limit), signed once by the owner (EIP-191 over [`grant_hash`]). The account checks
//! the same hash and signature on chain; the node checks them when the grant is stored.

use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use alloy::signers::{local::PrivateKeySigner, Signature, SignerSync};
use alloy::sol_types::SolValue;
use serde::{Deserialize, Serialize};

use crate::error::WalletError;

/// The account's `GRANT_TAG`: `keccak256("quorate-session-grant-v1")`.
fn grant_tag() -> B256 {
    keccak256("quorate-session-grant-v1")
}

/// What an owner lets a session key do with one wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionGrant {
    /// The session key's address.
    pub key: Address,
    /// Last second (Unix time) the key may act. Never zero.
    pub valid_until: u64,
    /// Most wei the key's operations may send, in total.
    pub spend_limit: U256,
}

/// A grant with the owner's signature, as stored and as carried in each UserOperation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedGrant {
    /// The grant.
    pub grant: SessionGrant,
    /// The owner's 65-byte EIP-191 signature of [`grant_hash`].
    pub owner_signature: Bytes,
}

/// The hash the owner signs: `keccak256(abi.encode(GRANT_TAG, chainId, account, key,
/// validUntil, spendLimit))`, as `SessionKeyAccount.grantHash` computes it.
pub fn grant_hash(chain_id: u64, account: Address, grant: &SessionGrant) -> B256 {
    // validUntil is a uint48 on chain; the ABI word is the same for any value that fits, and
    // `SignedGrant::check` refuses one that does not.
    keccak256(
        (
            grant_tag(),
            U256::from(chain_id),
            account,
            grant.key,
            U256::from(grant.valid_until),
            grant.spend_limit,
        )
            .abi_encode_params(),
    )
}

/// The owner's signature of a grant (what a wallet's `personal_sign` of the hash returns).
pub fn sign_grant(
    owner: &PrivateKeySigner,
    chain_id: u64,
    account: Address,
    grant: SessionGrant,
) -> Result<SignedGrant, WalletError> {
    let hash = grant_hash(chain_id, account, &grant);
    let signature = owner
        .sign_message_sync(hash.as_slice())
        .map_err(|e| WalletError::Build(format!("signing the grant: {e}")))?;
    Ok(SignedGrant {
        grant,
        owner_signature: Bytes::from(signature.as_bytes().to_vec()),
    })
}

/// Largest `validUntil` the account's `uint48` holds.
const MAX_VALID_UNTIL: u64 = (1 << 48) - 1;

impl SignedGrant {
    /// Checks the grant is well formed and signed by `owner` for `account` on `chain_id`.
    pub fn check(
        &self,
        chain_id: u64,
        account: Address,
        owner: Address,
    ) -> Result<(), WalletError> {
        let bad = |reason: &str| WalletError::BadGrant {
            reason: reason.to_owned(),
        };
        if self.grant.valid_until == 0 || self.grant.valid_until > MAX_VALID_UNTIL {
            return Err(bad("valid_until must be a Unix time in 1..2^48"));
        }
        if self.grant.key == Address::ZERO {
            return Err(bad("the session key is the zero address"));
        }
        let signature = Signature::from_raw(&self.owner_signature)
            .map_err(|_| bad("the owner signature is not 65 bytes r‖s‖v"))?;
        let hash = grant_hash(chain_id, account, &self.grant);
        let signer = signature
            .recover_address_from_msg(hash.as_slice())
            .map_err(|_| bad("the owner signature does not recover"))?;
        if signer != owner {
            return Err(bad("the grant is not signed by the wallet's owner"));
        }
        Ok(())
    }

    /// The UserOperation signature: `abi.encode(grant, ownerSignature, keySignature)`, where
    /// the key signature is the session key's EIP-191 signature of the operation hash.
    pub fn user_op_signature(&self, key_signature: &Signature) -> Bytes {
        let grant = crate::contracts::ISessionKeyAccount::SessionGrant {
            key: self.grant.key,
            validUntil: alloy::primitives::aliases::U48::saturating_from(self.grant.valid_until),
            spendLimit: self.grant.spend_limit,
        };
        (
            grant,
            self.owner_signature.clone(),
            Bytes::from(key_signature.as_bytes().to_vec()),
        )
            .abi_encode_params()
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(key: Address) -> SessionGrant {
        SessionGrant {
            key,
            valid_until: 2_000_000_000,
            spend_limit: U256::from(10u64).pow(U256::from(18u64)),
        }
    }

    #[test]
    fn owner_signed_grant_checks_and_others_do_not() -> Result<(), WalletError> {
        let owner = PrivateKeySigner::random();
        let stranger = PrivateKeySigner::random();
        let key = PrivateKeySigner::random().address();
        let account = Address::repeat_byte(7);
        let signed = sign_grant(&owner, 31337, account, grant(key))?;
        signed.check(31337, account, owner.address())?;
        // Another chain, another account, another owner, an altered limit: all refused.
        assert!(signed.check(1, account, owner.address()).is_err());
        assert!(signed
            .check(31337, Address::repeat_byte(8), owner.address())
            .is_err());
        assert!(signed.check(31337, account, stranger.address()).is_err());
        let mut altered = signed.clone();
        altered.grant.spend_limit += U256::from(1u8);
        assert!(altered.check(31337, account, owner.address()).is_err());
        let forged = sign_grant(&stranger, 31337, account, grant(key))?;
        assert!(forged.check(31337, account, owner.address()).is_err());
        Ok(())
    }

    #[test]
    fn malformed_grants_are_refused() -> Result<(), WalletError> {
        let owner = PrivateKeySigner::random();
        let account = Address::repeat_byte(7);
        let mut open_ended = grant(Address::repeat_byte(1));
        open_ended.valid_until = 0;
        let signed = sign_grant(&owner, 1, account, open_ended)?;
        assert!(matches!(
            signed.check(1, account, owner.address()),
            Err(WalletError::BadGrant { .. })
        ));
        let mut short = sign_grant(&owner, 1, account, grant(Address::repeat_byte(1)))?;
        short.owner_signature = Bytes::from(vec![1u8; 64]);
        assert!(short.check(1, account, owner.address()).is_err());
        Ok(())
    }
}
