//! The tampered cases, which the checker rejects: honest arguments of one of the accepted shapes
//! with one thing changed (bad signatures or apkG2, malformed non-signer lists, wrong or
//! malformed quorum arguments, points off the curve or outside the subgroup, wrong indices and
//! reference blocks). Each description says what was changed.

use alloy::primitives::{B256, U256};
use anyhow::{anyhow, bail, ensure, Result};
use quorate_bls::ark::{Fq, Fq2, G2Affine};
use quorate_bls::{aggregate_g2, aggregate_signatures, encode_g2_affine, G2PublicKey, Signature};
use quorate_chain_adapter::contracts::IBLSSignatureCheckerTypes::NonSignerStakesAndSignature;
use quorate_chain_adapter::convert::{g1_to_sol, g2_from_sol, g2_to_sol};
use quorate_domain::{G1Point, G2Point};

use super::cases::{message, without, CaseSet};
use super::inputs::{count_in, g2_key};

/// The first element (the cases below start from non-empty honest arguments).
fn first_of<T>(items: &[T]) -> Result<&T> {
    items.first().ok_or_else(|| anyhow!("empty argument array"))
}

/// A point on BN254's G2 twist that is not in the prime-order subgroup (the twist's cofactor
/// is large, so the first point found almost surely qualifies).
fn twist_point_outside_subgroup() -> Result<G2Point> {
    for i in 1u64..1000 {
        let x = Fq2::new(Fq::from(i), Fq::from(1u64));
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
            if p.is_on_curve() && !p.is_in_correct_subgroup_assuming_on_curve() {
                return Ok(encode_g2_affine(&p));
            }
        }
    }
    bail!("no twist point outside the subgroup found")
}

impl CaseSet<'_, '_> {
    /// The arguments of `all_sign_q0`, on the message of case `name`.
    async fn all_sign_q0(&self, name: &str) -> Result<NonSignerStakesAndSignature> {
        self.honest(name, &[0], &self.roles.q0).await
    }

    /// The arguments of `all_sign_q01`, on the message of case `name`.
    async fn all_sign_q01(&self, name: &str) -> Result<NonSignerStakesAndSignature> {
        self.honest(name, &[0, 1], &self.roles.q01).await
    }

    /// The arguments of `non_signer_in_one_quorum`, on the message of case `name`.
    async fn one_non_signer(&self, name: &str) -> Result<NonSignerStakesAndSignature> {
        let signers = without(&self.roles.q01, &[self.roles.lone]);
        self.honest(name, &[0, 1], &signers).await
    }

    /// The arguments of `non_signers_in_both_quorums`, on the message of case `name`.
    async fn two_non_signers(&self, name: &str) -> Result<NonSignerStakesAndSignature> {
        let signers = without(
            &self.roles.q01,
            &[self.roles.double, self.roles.second_lone],
        );
        self.honest(name, &[0, 1], &signers).await
    }

    /// sigma over another message or by an unregistered key; apkG2 with a non-signer's key.
    pub(super) async fn bad_signatures(&mut self) -> Result<()> {
        let name = "sigma_over_other_message";
        let mut p = self.one_non_signer(name).await?;
        p.sigma = self.one_non_signer("another message").await?.sigma;
        self.add(
            name,
            "as non_signer_in_one_quorum, but the signers signed another message",
            vec![0, 1],
            p,
        );
        let name = "sigma_by_unregistered_key";
        let mut p = self.all_sign_q0(name).await?;
        p.sigma = g1_to_sol(&self.stranger.sign(&message(name).0).to_point());
        self.add(
            name,
            "quorum 0, every member signs, sigma replaced by an unregistered \
             key's signature of the message",
            vec![0],
            p,
        );
        let name = "apk_g2_includes_non_signer";
        let lone = self.roles.lone;
        let mut p = self.one_non_signer(name).await?;
        let lone_kp = self.rec.key(&lone)?;
        let lone_op = self.operator(lone, "lone")?;
        let g2 = g2_key(&g2_from_sol(&p.apkG2))?;
        p.apkG2 = g2_to_sol(
            &aggregate_g2(&[
                (&g2, 1),
                (lone_kp.public_g2(), count_in(lone_op, &[0, 1]) as i64),
            ])
            .to_point(),
        );
        self.add(
            name,
            "as non_signer_in_one_quorum, but apkG2 also holds the non-signer's G2 key",
            vec![0, 1],
            p,
        );
        Ok(())
    }

    /// sigma and apkG2 that count members of both quorums once; a non-signer left out.
    pub(super) async fn miscounted_signers(&mut self) -> Result<()> {
        let name = "multiplicity_ignored";
        let mut p = self.all_sign_q01(name).await?;
        let mut sigs = Vec::new();
        let mut g2s = Vec::new();
        for id in &self.roles.q01 {
            let kp = self.rec.key(id)?;
            sigs.push(kp.sign(&message(name).0));
            g2s.push(kp.public_g2().clone());
        }
        let st: Vec<(&Signature, u64)> = sigs.iter().map(|s| (s, 1)).collect();
        let gt: Vec<(&G2PublicKey, i64)> = g2s.iter().map(|g| (g, 1)).collect();
        p.sigma = g1_to_sol(&aggregate_signatures(&st).to_point());
        p.apkG2 = g2_to_sol(&aggregate_g2(&gt).to_point());
        self.add(
            name,
            "quorums 0 and 1, every member signs, but sigma and apkG2 count \
             members of both quorums once",
            vec![0, 1],
            p,
        );
        let name = "non_signer_omitted";
        let second_lone = self.roles.second_lone;
        let mut p = self.two_non_signers(name).await?;
        let keep: Vec<B256> = vec![second_lone];
        let idx = self.rec.indices(self.r(), &[0, 1], keep).await?;
        let keep_op = self.operator(second_lone, "keep")?;
        p.nonSignerPubkeys = vec![g1_to_sol(&keep_op.pubkey_g1)];
        p.nonSignerQuorumBitmapIndices = idx.nonSignerQuorumBitmapIndices;
        p.nonSignerStakeIndices = idx.nonSignerStakeIndices;
        self.add(
            name,
            "as non_signers_in_both_quorums, but the non-signer in both \
             quorums is left out of the list",
            vec![0, 1],
            p,
        );
        Ok(())
    }

    /// Non-signers unsorted, duplicated or never registered; bitmap indices missing.
    pub(super) async fn malformed_non_signer_lists(&mut self) -> Result<()> {
        let name = "non_signers_unsorted";
        let mut p = self.two_non_signers(name).await?;
        ensure!(p.nonSignerPubkeys.len() == 2, "expected two non-signers");
        p.nonSignerPubkeys.swap(0, 1);
        p.nonSignerQuorumBitmapIndices.swap(0, 1);
        self.add(
            name,
            "as non_signers_in_both_quorums, but the two non-signers in descending id order",
            vec![0, 1],
            p,
        );
        let name = "non_signer_duplicated";
        let mut p = self.one_non_signer(name).await?;
        let dup = first_of(&p.nonSignerPubkeys)?.clone();
        p.nonSignerPubkeys.push(dup);
        let bi = *first_of(&p.nonSignerQuorumBitmapIndices)?;
        p.nonSignerQuorumBitmapIndices.push(bi);
        for per_quorum in &mut p.nonSignerStakeIndices {
            if let Some(&x) = per_quorum.first() {
                per_quorum.push(x);
            }
        }
        self.add(
            name,
            "as non_signer_in_one_quorum, but the non-signer listed twice",
            vec![0, 1],
            p,
        );
        let name = "unregistered_non_signer";
        let mut p = self.all_sign_q0(name).await?;
        p.nonSignerPubkeys = vec![g1_to_sol(&self.stranger.public_g1().to_point())];
        p.nonSignerQuorumBitmapIndices = vec![0];
        self.add(
            name,
            "quorum 0, every member signs, and a key never registered is \
             listed as non-signer (bitmap index 0)",
            vec![0],
            p,
        );
        let name = "non_signer_bitmap_indices_short";
        let mut p = self.one_non_signer(name).await?;
        p.nonSignerQuorumBitmapIndices.clear();
        self.add(
            name,
            "as non_signer_in_one_quorum, but nonSignerQuorumBitmapIndices is empty",
            vec![0, 1],
            p,
        );
        Ok(())
    }

    /// Quorum apks swapped or short; quorums unordered, never created or none.
    pub(super) async fn bad_quorum_arguments(&mut self) -> Result<()> {
        let name = "quorum_apk_wrong_point";
        let mut p = self.all_sign_q01(name).await?;
        p.quorumApks.swap(0, 1);
        self.add(
            name,
            "quorums 0 and 1, every member signs, but the two quorum apks swapped",
            vec![0, 1],
            p,
        );
        let name = "quorums_not_ascending";
        let p = self.all_sign_q01(name).await?;
        self.add(
            name,
            "arguments of all_sign_q01 with quorumNumbers 0x0100",
            vec![1, 0],
            p,
        );
        let name = "quorum_not_created";
        let mut p = self.all_sign_q0(name).await?;
        let apk0 = first_of(&p.quorumApks)?.clone();
        p.quorumApks.push(apk0);
        p.quorumApkIndices.push(0);
        p.totalStakeIndices.push(0);
        p.nonSignerStakeIndices.push(Vec::new());
        self.add(
            name,
            "quorum 0 and a quorum number that was never created (array lengths consistent)",
            vec![0, self.rec.quorum_count],
            p,
        );
        let name = "no_quorums";
        let mut p = self.all_sign_q0(name).await?;
        p.quorumApks.clear();
        p.quorumApkIndices.clear();
        p.totalStakeIndices.clear();
        p.nonSignerStakeIndices.clear();
        self.add(
            name,
            "empty quorumNumbers and empty per-quorum arrays",
            Vec::new(),
            p,
        );
        let name = "quorum_apks_short";
        let mut p = self.all_sign_q01(name).await?;
        p.quorumApks.pop();
        self.add(
            name,
            "quorums 0 and 1 with a single quorum apk",
            vec![0, 1],
            p,
        );
        Ok(())
    }

    /// sigma off the curve; apkG2 on the twist but outside the subgroup.
    pub(super) async fn bad_points(&mut self) -> Result<()> {
        let name = "sigma_not_on_curve";
        let mut p = self.all_sign_q0(name).await?;
        p.sigma = g1_to_sol(&G1Point {
            x: U256::from(1u8),
            y: U256::from(3u8),
        });
        self.add(
            name,
            "quorum 0, every member signs, sigma replaced by (1, 3), not on the curve",
            vec![0],
            p,
        );
        let name = "apk_g2_not_in_subgroup";
        let mut p = self.all_sign_q0(name).await?;
        p.apkG2 = g2_to_sol(&twist_point_outside_subgroup()?);
        self.add(
            name,
            "quorum 0, every member signs, apkG2 replaced by a point on the \
             G2 twist outside the prime-order subgroup",
            vec![0],
            p,
        );
        Ok(())
    }

    /// Apk, total stake, non-signer stake and bitmap indices off by one update.
    pub(super) async fn wrong_indices(&mut self) -> Result<()> {
        let name = "quorum_apk_index_wrong";
        let mut p = self.all_sign_q0(name).await?;
        for i in p.quorumApkIndices.iter_mut().take(1) {
            *i = i.saturating_sub(1);
        }
        self.add(
            name,
            "as all_sign_q0, but quorumApkIndices[0] points at the previous apk update",
            vec![0],
            p,
        );
        let name = "total_stake_index_wrong";
        let mut p = self.all_sign_q0(name).await?;
        for i in p.totalStakeIndices.iter_mut().take(1) {
            *i = i.saturating_sub(1);
        }
        self.add(
            name,
            "as all_sign_q0, but totalStakeIndices[0] points at the previous total stake update",
            vec![0],
            p,
        );
        let name = "non_signer_stake_index_wrong";
        let mut p = self.one_non_signer(name).await?;
        for per_quorum in &mut p.nonSignerStakeIndices {
            if let Some(x) = per_quorum.first_mut() {
                *x += 1;
            }
        }
        self.add(
            name,
            "as non_signer_in_one_quorum, but the non-signer's stake index is \
             one past its last update",
            vec![0, 1],
            p,
        );
        let name = "non_signer_bitmap_index_wrong";
        let mut p = self.one_non_signer(name).await?;
        for i in p.nonSignerQuorumBitmapIndices.iter_mut().take(1) {
            *i += 1;
        }
        self.add(
            name,
            "as non_signer_in_one_quorum, but the non-signer's quorum bitmap \
             index is one past its last update",
            vec![0, 1],
            p,
        );
        Ok(())
    }

    /// A reference block in the future; an aggregate built at R submitted at E.
    pub(super) async fn wrong_reference_blocks(&mut self) -> Result<()> {
        let name = "reference_block_not_in_past";
        let p = self.all_sign_q0(name).await?;
        let (r, future) = (self.r(), self.rec.head + 10);
        self.add_at(
            name,
            "as all_sign_q0 (indices for the reference block R), submitted \
             with referenceBlockNumber = head + 10",
            r,
            vec![0],
            future,
            p,
        );
        let name = "stale_reference_block";
        let p = self.all_sign_q0(name).await?;
        let e = self.st_e.block;
        self.add_at(
            name,
            "an aggregate built at block R (apks, indices, signers) submitted \
             with the earlier reference block E",
            e,
            vec![0],
            e,
            p,
        );
        Ok(())
    }
}
