"""Figure 3's FLOP validation without shortcuts: GPT-2's greedy generation counted whole
(FlopCounterMode) at every survey length up to 4096, plus both BERTs. Takes minutes
(4096 decoding steps), so the notebook checks long GPT-2 lengths on their last step only.

    .venv/bin/python benchmarks/fig3_full_flop_check.py [--device cpu|meta] [--max-len 4096]
"""

from __future__ import annotations

import argparse
import time

from memwall_lib.engines.counts import transformer as tfm
from memwall_lib.engines.timing import workloads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--device",
        default="cpu",
        choices=("cpu", "meta"),
        help="cpu computes (faster per step than meta's Python decompositions)",
    )
    ap.add_argument("--max-len", type=int, default=4096)
    args = ap.parse_args()
    lengths = [n for n in tfm.SURVEY_SEQ_LENS if n <= args.max_len]
    ok = True
    for m in tfm.SURVEY_MODELS:
        t0 = time.perf_counter()
        device = args.device if tfm.get_spec(m).kind == "decoder" else "meta"
        rows = workloads.validate_flops(m, lengths, device=device, max_generate=args.max_len)
        for r in rows:
            print(
                f"{m:11s} {r['seq_len']:5d} {r['scope']:9s} analytic {r['analytic']:>16d} "
                f"counted {r['counted']:>16d} {'equal' if r['equal'] else 'DIFFERENT'}"
            )
            ok &= r["equal"]
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
