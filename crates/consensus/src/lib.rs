//! Median normalization of operators' numeric responses and the two-digest scheme.
