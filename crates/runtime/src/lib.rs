//! The async aggregation pipeline: `AggregatorCore`, per-task actors, buffers, metrics.
