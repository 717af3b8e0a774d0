//! Reading the operator state at a block: members and stakes per quorum from the
//! `OperatorStateRetriever`, each operator's registered keys from the `BLSApkRegistry` (checked
//! against the devnet's own keys), and per quorum the total stake and the apk, which the chain
//! keeps only as a 24-byte hash: it is summed here from the member keys and checked against that
//! hash (and, at the latest state, against `getApk`).

use std::collections::BTreeMap;

use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use anyhow::{anyhow, ensure, Context, Result};
use eigenlayer_contract_deployer::bindings::{BLSApkRegistry, StakeRegistry};
use quorate_bls::{aggregate_g1, G1PublicKey};
use quorate_chain_adapter::contracts::{IBLSApkRegistry, IOperatorStateRetriever};
use quorate_chain_adapter::convert::{g1_from_sol, stake_from_u96};
use quorate_domain::{G1Point, G2Point};

use super::inputs::g1_key;
use super::Recorder;
use crate::vector_schema as schema;

/// The operators registered at a block by id: address and stake per quorum.
type Memberships = BTreeMap<B256, (Address, BTreeMap<u8, U256>)>;

impl Recorder<'_> {
    /// The registry state at `block`, read from the chain.
    pub(super) async fn read_state(&self, block: u64) -> Result<schema::RecordedState> {
        let b32 = u32::try_from(block)?;
        let memberships = self.memberships_at(b32).await?;
        let mut operators = Vec::with_capacity(memberships.len());
        for (id, (address, stakes)) in memberships {
            operators.push(self.recorded_operator(id, address, stakes).await?);
        }
        let quorums = self.quorums_at(block, &operators).await?;
        if block == self.head - 1 {
            // At the latest state the registry also gives the apk itself.
            self.check_latest_apks(&quorums).await?;
        }
        Ok(schema::RecordedState {
            block,
            quorums,
            operators,
        })
    }

    /// Who is registered in which quorum at `block`, with what stake (`getOperatorState`).
    async fn memberships_at(&self, block: u32) -> Result<Memberships> {
        let c = &self.devnet.info.contracts;
        let all = self.all_quorums();
        let by_quorum = IOperatorStateRetriever::new(c.operator_state_retriever, self.p.clone())
            .getOperatorState(c.registry_coordinator, Bytes::from(all.clone()), block)
            .call()
            .await
            .context("getOperatorState")?;
        let mut ops = Memberships::new();
        for (q, list) in all.iter().zip(&by_quorum) {
            for o in list {
                let entry = ops
                    .entry(o.operatorId)
                    .or_insert_with(|| (o.operator, BTreeMap::new()));
                entry.1.insert(*q, stake_from_u96(o.stake));
            }
        }
        Ok(ops)
    }

    /// An operator with its registered keys, checked to be the devnet's keys of that id.
    async fn recorded_operator(
        &self,
        id: B256,
        address: Address,
        stakes: BTreeMap<u8, U256>,
    ) -> Result<schema::RecordedOperator> {
        let apk_registry =
            BLSApkRegistry::new(self.devnet.info.contracts.bls_apk_registry, self.p.clone());
        let reg = apk_registry
            .getRegisteredPubkey(address)
            .call()
            .await
            .context("getRegisteredPubkey")?;
        ensure!(
            reg._1 == id,
            "registered pubkey hash of {address} is not its id"
        );
        let g2 = apk_registry
            .getOperatorPubkeyG2(address)
            .call()
            .await
            .context("getOperatorPubkeyG2")?;
        let pubkey_g1 = G1Point {
            x: reg._0.X,
            y: reg._0.Y,
        };
        let pubkey_g2 = G2Point { x: g2.X, y: g2.Y };
        let kp = self.key(&id)?;
        ensure!(
            kp.public_g1().to_point() == pubkey_g1 && kp.public_g2().to_point() == pubkey_g2,
            "the chain's keys of {address} are not the devnet's"
        );
        Ok(schema::RecordedOperator {
            address: address.to_string(),
            operator_id: id,
            pubkey_g1,
            pubkey_g2,
            proof_of_possession: kp.proof_of_possession().to_point(),
            stakes,
        })
    }

    /// Every quorum at `block`: total stake and apk, at the indices the retriever gives.
    async fn quorums_at(
        &self,
        block: u64,
        operators: &[schema::RecordedOperator],
    ) -> Result<Vec<schema::RecordedQuorum>> {
        let c = &self.devnet.info.contracts;
        let all = self.all_quorums();
        let idx = IOperatorStateRetriever::new(c.operator_state_retriever, self.p.clone())
            .getCheckSignaturesIndices(
                c.registry_coordinator,
                u32::try_from(block)?,
                Bytes::from(all.clone()),
                Vec::new(),
            )
            .call()
            .await
            .context("getCheckSignaturesIndices")?;
        let mut quorums = Vec::with_capacity(all.len());
        for (i, &q) in all.iter().enumerate() {
            let total_index = *idx
                .totalStakeIndices
                .get(i)
                .ok_or_else(|| anyhow!("no total stake index"))?;
            let apk_index = *idx
                .quorumApkIndices
                .get(i)
                .ok_or_else(|| anyhow!("no apk index"))?;
            quorums.push(
                self.recorded_quorum(q, block, total_index, apk_index, operators)
                    .await?,
            );
        }
        Ok(quorums)
    }

    /// Quorum `q` at `block`: its total stake, and its apk summed from the member keys and
    /// checked against the chain's 24-byte apk hash.
    async fn recorded_quorum(
        &self,
        q: u8,
        block: u64,
        total_index: u32,
        apk_index: u32,
        operators: &[schema::RecordedOperator],
    ) -> Result<schema::RecordedQuorum> {
        let c = &self.devnet.info.contracts;
        let b32 = u32::try_from(block)?;
        let total = StakeRegistry::new(c.stake_registry, self.p.clone())
            .getTotalStakeAtBlockNumberFromIndex(q, b32, U256::from(total_index))
            .call()
            .await
            .context("getTotalStakeAtBlockNumberFromIndex")?;
        let hash = BLSApkRegistry::new(c.bls_apk_registry, self.p.clone())
            .getApkHashAtBlockNumberAndIndex(q, b32, U256::from(apk_index))
            .call()
            .await
            .context("getApkHashAtBlockNumberAndIndex")?;
        let apk = member_apk(operators, q)?;
        let ours = keccak256(apk.to_bytes());
        ensure!(
            ours[..24] == hash[..],
            "quorum {q} at block {block}: the member keys do not sum to the chain's apk"
        );
        Ok(schema::RecordedQuorum {
            quorum: q,
            total_stake: stake_from_u96(total),
            apk,
            apk_hash24: format!("0x{}", alloy::hex::encode(hash)),
        })
    }

    /// Checks the summed apks against the registry's current apks (`getApk`).
    async fn check_latest_apks(&self, quorums: &[schema::RecordedQuorum]) -> Result<()> {
        let reg = IBLSApkRegistry::new(self.devnet.info.contracts.bls_apk_registry, self.p.clone());
        for q in quorums {
            let apk = reg.getApk(q.quorum).call().await.context("getApk")?;
            ensure!(
                g1_from_sol(&apk) == q.apk,
                "quorum {} apk differs from getApk",
                q.quorum
            );
        }
        Ok(())
    }
}

/// The sum of the G1 keys of the members of quorum `q`.
fn member_apk(operators: &[schema::RecordedOperator], q: u8) -> Result<G1Point> {
    let keys: Vec<G1PublicKey> = operators
        .iter()
        .filter(|o| o.stakes.contains_key(&q))
        .map(|o| g1_key(&o.pubkey_g1))
        .collect::<Result<_>>()?;
    let terms: Vec<(&G1PublicKey, i64)> = keys.iter().map(|k| (k, 1)).collect();
    Ok(aggregate_g1(&terms).to_point())
}
