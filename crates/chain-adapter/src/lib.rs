//! EigenLayer contract adapters: operator registry and response submitter over alloy.
//!
//! Filled by the chain-adapter work; it builds empty until then so the workspace stays whole.
