//! UserOperations in the ERC-4337 v0.7 RPC form (what step records show) and their packed
//! on-chain form, with the hash the account's signature covers.

use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use alloy::sol_types::SolValue;
use serde::{Deserialize, Serialize};

use crate::contracts::PackedUserOperation;

/// The nonce key the wallet uses: one sequential lane (EntryPoint `getNonce(sender, 0)`).
pub const ENTRY_POINT_V07_NONCE_KEY: u64 = 0;

/// A UserOperation, unpacked (the `eth_sendUserOperation` v0.7 fields, camelCase in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOperation {
    /// The wallet.
    pub sender: Address,
    /// EntryPoint nonce (key in the high 192 bits, sequence in the low 64).
    pub nonce: U256,
    /// The factory, when this operation deploys the wallet.
    pub factory: Option<Address>,
    /// The factory call (`createAccount(owner, salt)`), when it deploys.
    pub factory_data: Option<Bytes>,
    /// The account call (`execute(dest, value, data)`).
    pub call_data: Bytes,
    /// Gas for the account call.
    pub call_gas_limit: u128,
    /// Gas for deployment and validation.
    pub verification_gas_limit: u128,
    /// Gas the bundler is paid for beyond execution (calldata, overhead).
    pub pre_verification_gas: U256,
    /// EIP-1559 fee cap.
    pub max_fee_per_gas: u128,
    /// EIP-1559 tip.
    pub max_priority_fee_per_gas: u128,
    /// `abi.encode(grant, ownerSignature, sessionKeySignature)`.
    pub signature: Bytes,
}

impl UserOperation {
    /// The on-chain form.
    pub fn pack(&self) -> PackedUserOperation {
        let init_code = match (&self.factory, &self.factory_data) {
            (Some(factory), Some(data)) => {
                let mut code = factory.to_vec();
                code.extend_from_slice(data);
                Bytes::from(code)
            }
            _ => Bytes::new(),
        };
        PackedUserOperation {
            sender: self.sender,
            nonce: self.nonce,
            initCode: init_code,
            callData: self.call_data.clone(),
            accountGasLimits: pack_u128s(self.verification_gas_limit, self.call_gas_limit),
            preVerificationGas: self.pre_verification_gas,
            gasFees: pack_u128s(self.max_priority_fee_per_gas, self.max_fee_per_gas),
            paymasterAndData: Bytes::new(),
            signature: self.signature.clone(),
        }
    }

    /// `EntryPoint.getUserOpHash`: `keccak256(abi.encode(keccak256(packed fields without the
    /// signature, dynamic ones hashed), entryPoint, chainId))`.
    pub fn hash(&self, entry_point: Address, chain_id: u64) -> B256 {
        let op = self.pack();
        let inner = (
            op.sender,
            op.nonce,
            keccak256(&op.initCode),
            keccak256(&op.callData),
            op.accountGasLimits,
            op.preVerificationGas,
            op.gasFees,
            keccak256(&op.paymasterAndData),
        )
            .abi_encode_params();
        keccak256((keccak256(inner), entry_point, U256::from(chain_id)).abi_encode_params())
    }

    /// Most wei the operation may cost the wallet in gas.
    pub fn max_gas_cost(&self) -> U256 {
        let gas = U256::from(self.call_gas_limit)
            + U256::from(self.verification_gas_limit)
            + self.pre_verification_gas;
        gas * U256::from(self.max_fee_per_gas)
    }
}

/// Two 128-bit values in one word, high first (`accountGasLimits`, `gasFees`).
fn pack_u128s(high: u128, low: u128) -> B256 {
    B256::from((U256::from(high) << 128) | U256::from(low))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_puts_the_first_value_high() {
        let word = pack_u128s(1, 2);
        assert_eq!(word[15], 1);
        assert_eq!(word[31], 2);
        assert!(word[..15].iter().all(|b| *b == 0));
    }

    #[test]
    fn the_hash_covers_every_field_but_the_signature() {
        let op = UserOperation {
            sender: Address::repeat_byte(1),
            nonce: U256::from(3u8),
            factory: None,
            factory_data: None,
            call_data: Bytes::from(vec![1, 2, 3]),
            call_gas_limit: 100_000,
            verification_gas_limit: 200_000,
            pre_verification_gas: U256::from(50_000u32),
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            signature: Bytes::new(),
        };
        let entry_point = Address::repeat_byte(9);
        let base = op.hash(entry_point, 1);
        let mut signed = op.clone();
        signed.signature = Bytes::from(vec![7u8; 65]);
        assert_eq!(signed.hash(entry_point, 1), base);
        let mut other = op.clone();
        other.call_gas_limit += 1;
        assert_ne!(other.hash(entry_point, 1), base);
        assert_ne!(op.hash(entry_point, 2), base);
        assert_ne!(op.hash(Address::repeat_byte(8), 1), base);
    }
}
