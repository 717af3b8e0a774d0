#!/usr/bin/env python3
"""Per-signature cost breakdown of one `quorate-bench worker` run, from a perf profile.

Usage (one core, as the benchmark runs):

    taskset -c 1 perf record -F 1000 --call-graph dwarf,32000 -o perf.data \
        target/release/quorate-bench worker --imp optimistic --ops 100 --inflight 100 \
        --tasks 600 > run.json
    perf script -i perf.data | python3 crates/bench/profile/breakdown.py run.json

Each sample is put in the category of its innermost frame that names one (a frame matching
several takes the first in the order below); samples of the untimed parts (key and signature generation, registry set-up, the
audit of the aggregates after the run, the pairing calibration) are left out. The timed
samples are spread over the run's measured CPU time and divided by the signatures settled.
"""

import json
import re
import sys

UNTIMED = [
    "Quorate::start", "sign_task", "bn254_registry", "audit::Kept::check",
    "Keys::generate", "workload::", "pairing_check_us", "measure_pairing", "Eigen::start",
]

# (category, frame patterns), first match wins: the outer operation a sample belongs to.
CATEGORIES = [
    ("pairing checks (Miller loops, G2 preparation, final exponentiation)",
     ["pairing_product", "multi_miller_loop", "final_exponentiation", "G2Prepared"]),
    ("random-coefficient sums of a batch check (MSMs, eager mode and searches)",
     ["msm_u128", "weighted_sums", "msm_bigint", "mul_bigint"]),
    ("Σ keys: G2 additions (signers' apk)", ["aggregate_g2"]),
    ("Σ signatures: G1 additions", ["aggregate_signatures"]),
    ("hash to G1 (per task)", ["hash_to_g1"]),
    ("signature decoding and checks", ["Signature::from_affine", "decode_g1", "from_point",
                                        "is_on_curve", "encode_signature"]),
    ("answer: signer lists, non-signer keys, indices", ["tally::TaskTally<S>>::aggregate",
                                                         "finalize", "check_signatures_indices",
                                                         "AggregatedResponse"]),
    ("tally: counting stake and signers", ["tally::"]),
    ("metrics and tracing", ["metrics::", "tracing::", "operator_metrics"]),
    ("memory allocation", ["malloc", "mi_", "free", "__rust_alloc", "__rust_dealloc", "realloc",
                           "cfree", "_int_"]),
    ("task actor and admission", ["admission::", "actor::TaskActor", "TaskActor"]),
    ("core: routing to the task, pending buffer", ["core::AggregatorCore", "pending::",
                                                    "process_signed_response"]),
    ("channels (mpsc, oneshot, broadcast)", ["tokio::sync::"]),
    ("benchmark driver (not Quorate)", ["quorate_bench::"]),
    ("tokio scheduler and timers", ["tokio::runtime", "tokio::time", "tokio::task"]),
]


def samples(lines):
    stack = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if stack:
                yield stack
            stack = []
            continue
        if line.startswith((" ", "\t")):
            parts = line.strip().split(" ", 1)
            stack.append(parts[1] if len(parts) > 1 else parts[0])
        else:
            stack = []
    if stack:
        yield stack


def classify(stack):
    text = "\n".join(stack)
    if any(u in text for u in UNTIMED):
        return None
    # The innermost frame that names a part decides (perf prints the leaf first): a curve
    # addition inside the signers' apk is "Σ keys", an allocation inside the tally is
    # "memory allocation", and the span wrapping every actor poll does not swallow its work.
    for frame in stack:
        for name, patterns in CATEGORIES:
            if any(p in frame for p in patterns):
                return name
    return "other"


def main():
    run = json.load(open(sys.argv[1]))
    m = run["measured"]
    counts = {}
    for stack in samples(sys.stdin):
        c = classify(stack)
        if c is not None:
            counts[c] = counts.get(c, 0) + 1
    total = sum(counts.values())
    per_sig_us = m["cpu_s"] / m["settled"] * 1e6
    print(f"{m['settled']} signatures settled in {m['cpu_s']:.2f} CPU s: "
          f"{per_sig_us:.2f} µs per signature ({total} timed samples)\n")
    print("| part | share | µs per signature |")
    print("|---|---:|---:|")
    order = [c for c, _ in CATEGORIES] + ["other"]
    for c in order:
        n = counts.get(c, 0)
        if n:
            print(f"| {c} | {100 * n / total:.1f} % | {per_sig_us * n / total:.2f} |")


if __name__ == "__main__":
    main()
