//! The cases: each is a set of `checkSignatures` inputs with a name and a description, built from
//! honest arguments at the reference block R (or the earlier block E) and possibly tampered with.
//! Holds the case type, the operators the cases single out (roles), the set the cases are added
//! to, and the cases the checker accepts; the tampered ones it rejects are in `rejected.rs`.

use std::collections::BTreeSet;

use alloy::primitives::{keccak256, B256};
use anyhow::{anyhow, bail, Result};
use quorate_bls::KeyPair;
use quorate_chain_adapter::contracts::IBLSSignatureCheckerTypes::NonSignerStakesAndSignature;
use quorate_chain_adapter::convert::g1_to_sol;
use rand::SeedableRng;

use super::inputs::members;
use super::Recorder;
use crate::vector_schema as schema;

/// A signed answer's inputs before the call.
#[derive(Clone)]
pub(super) struct Case {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) state_block: u64,
    pub(super) msg_hash: B256,
    pub(super) quorums: Vec<u8>,
    pub(super) reference_block: u64,
    pub(super) params: NonSignerStakesAndSignature,
}

/// The message of a case.
pub(super) fn message(name: &str) -> B256 {
    keccak256(format!("quorate checker vector: {name}").as_bytes())
}

/// `set` without the ids in `out`.
pub(super) fn without(set: &BTreeSet<B256>, out: &[B256]) -> BTreeSet<B256> {
    set.iter().filter(|id| !out.contains(id)).copied().collect()
}

/// The ids of `ops`.
fn ids(ops: Vec<&schema::RecordedOperator>) -> BTreeSet<B256> {
    ops.iter().map(|o| o.operator_id).collect()
}

/// The operators the cases single out, by id, at the reference block R.
pub(super) struct Roles {
    /// The members of quorum 0.
    pub(super) q0: BTreeSet<B256>,
    /// The members of quorum 1.
    pub(super) q1: BTreeSet<B256>,
    /// The members of quorum 0 or 1.
    pub(super) q01: BTreeSet<B256>,
    /// An operator in exactly one of quorums 0 and 1.
    pub(super) lone: B256,
    /// Another operator in exactly one of them (`lone` again if there is none).
    pub(super) second_lone: B256,
    /// An operator in both quorums 0 and 1.
    pub(super) double: B256,
    /// An operator in quorum 1 but not quorum 0.
    pub(super) outsider: B256,
}

impl Roles {
    fn of(st_r: &schema::RecordedState) -> Result<Self> {
        let q0 = ids(members(st_r, &[0]));
        let q1 = ids(members(st_r, &[1]));
        let q01 = ids(members(st_r, &[0, 1]));
        let only_one: Vec<B256> = q01
            .iter()
            .filter(|&id| q0.contains(id) != q1.contains(id))
            .copied()
            .collect();
        let both: Vec<B256> = q01
            .iter()
            .filter(|&id| q0.contains(id) && q1.contains(id))
            .copied()
            .collect();
        let q1_not_q0: Vec<B256> = q1.difference(&q0).copied().collect();
        let (Some(&lone), Some(&double), Some(&outsider)) =
            (only_one.first(), both.first(), q1_not_q0.first())
        else {
            bail!(
                "this seed lacks an operator in exactly one quorum, one in both, or one in \
                 quorum 1 only: try another --seed"
            );
        };
        let second_lone = only_one.get(1).copied().unwrap_or(lone);
        Ok(Self {
            q0,
            q1,
            q01,
            lone,
            second_lone,
            double,
            outsider,
        })
    }
}

/// The cases built so far, with what building them reads: the states at R and E, the roles,
/// and a key that was never registered.
pub(super) struct CaseSet<'c, 'a> {
    pub(super) rec: &'c Recorder<'a>,
    st_r: &'c schema::RecordedState,
    pub(super) st_e: &'c schema::RecordedState,
    pub(super) roles: Roles,
    pub(super) stranger: KeyPair,
    cases: Vec<Case>,
}

impl<'c, 'a> CaseSet<'c, 'a> {
    fn new(
        rec: &'c Recorder<'a>,
        st_r: &'c schema::RecordedState,
        st_e: &'c schema::RecordedState,
    ) -> Result<Self> {
        let roles = Roles::of(st_r)?;
        let mut stranger_rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x5157);
        let stranger = KeyPair::random(&mut stranger_rng);
        Ok(Self {
            rec,
            st_r,
            st_e,
            roles,
            stranger,
            cases: Vec::new(),
        })
    }

    /// The reference block R.
    pub(super) fn r(&self) -> u64 {
        self.st_r.block
    }

    /// Honest arguments at R over `quorums`, `signers` signing the message of case `name`.
    pub(super) async fn honest(
        &self,
        name: &str,
        quorums: &[u8],
        signers: &BTreeSet<B256>,
    ) -> Result<NonSignerStakesAndSignature> {
        let r = self.r();
        self.rec
            .honest(self.st_r, quorums, signers, message(name), r)
            .await
    }

    /// The operator with id `id` at R (`what` names it in the error).
    pub(super) fn operator(&self, id: B256, what: &str) -> Result<&'c schema::RecordedOperator> {
        self.st_r
            .operators
            .iter()
            .find(|o| o.operator_id == id)
            .ok_or_else(|| anyhow!("{what}"))
    }

    /// Adds case `name` on its message, with R as state and reference block.
    pub(super) fn add(
        &mut self,
        name: &str,
        description: &str,
        quorums: Vec<u8>,
        params: NonSignerStakesAndSignature,
    ) {
        let r = self.r();
        self.add_at(name, description, r, quorums, r, params);
    }

    /// Adds case `name` on its message, with the state and reference blocks given.
    pub(super) fn add_at(
        &mut self,
        name: &str,
        description: &str,
        state_block: u64,
        quorums: Vec<u8>,
        reference_block: u64,
        params: NonSignerStakesAndSignature,
    ) {
        self.cases.push(Case {
            name: name.into(),
            description: description.into(),
            state_block,
            msg_hash: message(name),
            quorums,
            reference_block,
            params,
        });
    }

    /// Every member of quorum 0, of quorum 1, of both signs.
    async fn all_sign(&mut self) -> Result<()> {
        let p = self.honest("all_sign_q0", &[0], &self.roles.q0).await?;
        self.add(
            "all_sign_q0",
            "every member of quorum 0 signs; quorum 0",
            vec![0],
            p,
        );
        let p = self.honest("all_sign_q1", &[1], &self.roles.q1).await?;
        self.add(
            "all_sign_q1",
            "every member of quorum 1 (slashable stake) signs; quorum 1",
            vec![1],
            p,
        );
        let p = self
            .honest("all_sign_q01", &[0, 1], &self.roles.q01)
            .await?;
        self.add(
            "all_sign_q01",
            "every member signs; quorums 0 and 1 (members of both count twice in sigma and apkG2)",
            vec![0, 1],
            p,
        );
        Ok(())
    }

    /// Honest non-signers: in one quorum, in both, all but one member, outside the quorums.
    async fn with_non_signers(&mut self) -> Result<()> {
        let Roles {
            lone,
            double,
            second_lone,
            outsider,
            ..
        } = self.roles;
        let name = "non_signer_in_one_quorum";
        let p = self
            .honest(name, &[0, 1], &without(&self.roles.q01, &[lone]))
            .await?;
        self.add(
            name,
            "quorums 0 and 1; one non-signer registered in only one of them",
            vec![0, 1],
            p,
        );
        let name = "non_signers_in_both_quorums";
        let signers = without(&self.roles.q01, &[double, second_lone]);
        let p = self.honest(name, &[0, 1], &signers).await?;
        self.add(
            name,
            "quorums 0 and 1; a non-signer in both quorums and one in a single quorum",
            vec![0, 1],
            p,
        );
        let first: BTreeSet<B256> = self.roles.q0.iter().take(1).copied().collect();
        let p = self.honest("single_signer_q0", &[0], &first).await?;
        self.add(
            "single_signer_q0",
            "quorum 0; one signer, every other member a non-signer",
            vec![0],
            p,
        );
        let mut p = self
            .honest("non_signer_outside_quorums", &[0], &self.roles.q0)
            .await?;
        let out_op = self.operator(outsider, "outsider")?;
        let idx = self.rec.indices(self.r(), &[0], vec![outsider]).await?;
        p.nonSignerPubkeys = vec![g1_to_sol(&out_op.pubkey_g1)];
        p.nonSignerQuorumBitmapIndices = idx.nonSignerQuorumBitmapIndices;
        p.nonSignerStakeIndices = idx.nonSignerStakeIndices;
        self.add(
            "non_signer_outside_quorums",
            "quorum 0; every member signs and a quorum-1-only operator is \
             listed as non-signer (subtracts nothing)",
            vec![0],
            p,
        );
        Ok(())
    }

    /// The earlier block E with every member signing, and no signers at all.
    async fn early_block_and_no_signers(&mut self) -> Result<()> {
        let name = "early_block_all_sign";
        let e = self.st_e.block;
        let e_q01 = ids(members(self.st_e, &[0, 1]));
        let p = self
            .rec
            .honest(self.st_e, &[0, 1], &e_q01, message(name), e)
            .await?;
        self.add_at(
            name,
            "reference block before the last registrations; every member then \
             signs; quorums 0 and 1",
            e,
            vec![0, 1],
            e,
            p,
        );
        let name = "no_signers_points_at_infinity";
        let p = self.honest(name, &[0], &BTreeSet::new()).await?;
        self.add(
            name,
            "quorum 0; every member a non-signer, so sigma and apkG2 are the \
             points at infinity (0s)",
            vec![0],
            p,
        );
        Ok(())
    }
}

impl Recorder<'_> {
    /// Builds every case's inputs, in the order they are recorded (before sorting by state).
    pub(super) async fn cases(
        &self,
        st_r: &schema::RecordedState,
        st_e: &schema::RecordedState,
    ) -> Result<Vec<Case>> {
        let mut set = CaseSet::new(self, st_r, st_e)?;
        // --- accepted shapes ---
        set.all_sign().await?;
        set.with_non_signers().await?;
        set.early_block_and_no_signers().await?;
        // --- rejected: tampered inputs (rejected.rs) ---
        set.bad_signatures().await?;
        set.miscounted_signers().await?;
        set.malformed_non_signer_lists().await?;
        set.bad_quorum_arguments().await?;
        set.bad_points().await?;
        set.wrong_indices().await?;
        set.wrong_reference_blocks().await?;
        Ok(set.cases)
    }
}
