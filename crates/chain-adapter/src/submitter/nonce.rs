//! Nonces of the submitting account, assigned locally so many submissions are in flight at
//! once: the lock is held only to hand out a number, never while a transaction is sent or its
//! receipt awaited.
//!
//! A nonce handed out but never used leaves a gap that stalls every later transaction of the
//! account, so a submission that gives up on its nonce before anything was sent returns it
//! ([`NonceManager::release`]): it is reused if nothing was handed out since, otherwise the
//! next caller reads the account's pending count from the chain, which starts at the gap and
//! so fills it. The same re-sync happens after `nonce too low` (someone else used it) and
//! whenever the outcome of a sent transaction is unknown.

use std::future::Future;

use tokio::sync::Mutex;

/// Hands out the submitting account's nonces.
#[derive(Debug, Default)]
pub(crate) struct NonceManager {
    /// The next nonce to hand out; `None`: read it from the chain first.
    next: Mutex<Option<u64>>,
}

impl NonceManager {
    /// The next nonce; `pending_count` (the account's pending transaction count) is asked
    /// only when the manager does not know it (at start and after a re-sync).
    pub(crate) async fn reserve<F, E>(&self, pending_count: F) -> Result<u64, E>
    where
        F: Future<Output = Result<u64, E>>,
    {
        let mut next = self.next.lock().await;
        let nonce = match *next {
            Some(n) => n,
            None => pending_count.await?,
        };
        *next = Some(nonce.saturating_add(1));
        Ok(nonce)
    }

    /// `nonce` was reserved but no transaction with it was sent: reuse it if it was the last
    /// one handed out, else re-sync so the gap is filled by the next reservation.
    pub(crate) async fn release(&self, nonce: u64) {
        let mut next = self.next.lock().await;
        *next = match *next {
            Some(n) if n == nonce.saturating_add(1) => Some(nonce),
            _ => None,
        };
    }

    /// Forget the local count: the next reservation reads the chain.
    pub(crate) async fn resync(&self) {
        *self.next.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn chain(n: u64) -> Result<u64, ()> {
        Ok(n)
    }

    #[tokio::test]
    async fn nonces_are_consecutive_and_the_chain_is_read_once() {
        let m = NonceManager::default();
        assert_eq!(m.reserve(chain(7)).await, Ok(7));
        // The chain is not asked again: its (stale) answer is ignored.
        assert_eq!(m.reserve(chain(0)).await, Ok(8));
        assert_eq!(m.reserve(chain(0)).await, Ok(9));
    }

    #[tokio::test]
    async fn the_last_nonce_released_is_reused() {
        let m = NonceManager::default();
        let a = m.reserve(chain(3)).await.unwrap();
        m.release(a).await;
        assert_eq!(m.reserve(chain(100)).await, Ok(3));
    }

    #[tokio::test]
    async fn a_gap_behind_later_nonces_makes_the_next_caller_read_the_chain() {
        let m = NonceManager::default();
        let a = m.reserve(chain(3)).await.unwrap();
        let _b = m.reserve(chain(100)).await.unwrap();
        m.release(a).await;
        // The chain's pending count stops at the gap (3): the next submission fills it.
        assert_eq!(m.reserve(chain(3)).await, Ok(3));
        assert_eq!(m.reserve(chain(100)).await, Ok(4));
    }

    #[tokio::test]
    async fn a_chain_error_hands_out_nothing() {
        let m = NonceManager::default();
        assert_eq!(
            m.reserve(async { Err::<u64, _>("down") }).await,
            Err("down")
        );
        assert_eq!(m.reserve(chain(5)).await, Ok(5));
        m.resync().await;
        assert_eq!(m.reserve(chain(42)).await, Ok(42));
    }
}
