//! Smart wallets and the owners' session grants in the node's database (key schema in
//! `docs/node-storage.md`). A wallet row is written when its owner first asks for it
//! (`GetWallet`), bounded per owner; a grant row per wallet holds the owner's latest grant and
//! whether the owner revoked it at the node.

use alloy::primitives::{Address, U256};
use quorate_wallet::SignedGrant;
use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::{Result, Store};

/// `owner (20) ‖ factory (20) ‖ salt (32 BE)` → JSON [`WalletRecord`].
pub(super) const WALLETS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("wallets");
/// `wallet (20)` → JSON [`SessionRecord`].
pub(super) const WALLET_SESSIONS: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("wallet_sessions");

/// One of an owner's wallets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletRecord {
    /// Its (counterfactual) address.
    pub address: Address,
    /// The owner's EOA.
    pub owner: Address,
    /// The factory.
    pub factory: Address,
    /// The salt.
    pub salt: U256,
    /// Unix ms when it was first asked for.
    pub created_at_ms: u64,
}

/// The owner's grant for the node's session key on one wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The wallet.
    pub wallet: Address,
    /// The owner who signed it.
    pub owner: Address,
    /// The grant and its signature.
    pub grant: SignedGrant,
    /// Unix ms when it was stored.
    pub authorized_at_ms: u64,
    /// Unix ms when the owner revoked it at the node (None: in force).
    pub revoked_at_ms: Option<u64>,
}

fn wallet_key(owner: Address, factory: Address, salt: U256) -> Vec<u8> {
    let mut key = Vec::with_capacity(72);
    key.extend_from_slice(owner.as_slice());
    key.extend_from_slice(factory.as_slice());
    key.extend_from_slice(&salt.to_be_bytes::<32>());
    key
}

/// Keys of one owner's wallets: `owner ‖ 0…` up to `owner+1`.
fn owner_range(owner: Address) -> (Vec<u8>, Vec<u8>) {
    let start = owner.to_vec();
    let mut end = owner.to_vec();
    end.extend_from_slice(&[0xff; 53]);
    (start, end)
}

impl Store {
    /// Records an owner's wallet if new; `Ok(None)` when the owner already has `max` others.
    /// Returns the stored record (the existing one when it was already there).
    pub fn put_wallet(&self, wallet: &WalletRecord, max: usize) -> Result<Option<WalletRecord>> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            let stored = {
                let mut table = tx.open_table(WALLETS)?;
                let key = wallet_key(wallet.owner, wallet.factory, wallet.salt);
                let existing = table
                    .get(key.as_slice())?
                    .map(|v| serde_json::from_slice::<WalletRecord>(v.value()))
                    .transpose()?;
                match existing {
                    Some(found) => Some(found),
                    None => {
                        let (start, end) = owner_range(wallet.owner);
                        let owned = table.range(start.as_slice()..end.as_slice())?.count();
                        if owned >= max {
                            None
                        } else {
                            table.insert(key.as_slice(), serde_json::to_vec(wallet)?.as_slice())?;
                            Some(wallet.clone())
                        }
                    }
                }
            };
            tx.commit()?;
            Ok(stored)
        })
    }

    /// An owner's wallets (at most the per-owner bound were ever stored).
    pub fn wallets_of(&self, owner: Address) -> Result<Vec<WalletRecord>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(WALLETS)?;
        let (start, end) = owner_range(owner);
        let mut out = Vec::new();
        for row in table.range(start.as_slice()..end.as_slice())? {
            let (_, value) = row?;
            out.push(serde_json::from_slice(value.value())?);
        }
        Ok(out)
    }

    /// Stores (replaces) the grant of a wallet.
    pub fn put_session(&self, session: &SessionRecord) -> Result<()> {
        self.write(|| {
            let tx = self.db.begin_write()?;
            tx.open_table(WALLET_SESSIONS)?.insert(
                session.wallet.as_slice(),
                serde_json::to_vec(session)?.as_slice(),
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// The grant of a wallet, if any.
    pub fn session(&self, wallet: Address) -> Result<Option<SessionRecord>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(WALLET_SESSIONS)?;
        let found = table.get(wallet.as_slice())?;
        Ok(found
            .map(|v| serde_json::from_slice(v.value()))
            .transpose()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(owner: u8, salt: u64) -> WalletRecord {
        WalletRecord {
            address: Address::repeat_byte(owner ^ 0x80),
            owner: Address::repeat_byte(owner),
            factory: Address::repeat_byte(9),
            salt: U256::from(salt),
            created_at_ms: 1,
        }
    }

    #[test]
    fn wallets_are_per_owner_and_bounded() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("quorate-wallets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir.join("db.redb"))?;
        assert!(store.put_wallet(&record(1, 0), 2)?.is_some());
        // The same wallet again is the stored one, not a new row.
        let mut again = record(1, 0);
        again.created_at_ms = 99;
        assert_eq!(store.put_wallet(&again, 2)?, Some(record(1, 0)));
        assert!(store.put_wallet(&record(1, 1), 2)?.is_some());
        assert!(
            store.put_wallet(&record(1, 2), 2)?.is_none(),
            "over the bound"
        );
        // Another owner (whose address sorts right after) has its own bound and list.
        assert!(store.put_wallet(&record(2, 0), 2)?.is_some());
        assert_eq!(store.wallets_of(Address::repeat_byte(1))?.len(), 2);
        assert_eq!(store.wallets_of(Address::repeat_byte(2))?.len(), 1);
        assert!(store.wallets_of(Address::repeat_byte(3))?.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
