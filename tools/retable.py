"""Print the evaluation table again from a ``uniroute evaluate --json`` file (a tool).

Usage: python tools/retable.py RESULT.json [--drop-pairs]

Sign tests and win-loss counts against K-NN are recomputed from the per-trial values,
so a file written by an older version prints with the current table layout.
"""
from __future__ import annotations

import json
import sys

from uniroute.evaluation.report import LOWER_IS_BETTER, format_table, sign_test, wins_losses


def refresh(summary: dict) -> dict:
    methods = summary["methods"]
    for name, entry in methods.items():
        for metric, stat in entry.items():
            if not isinstance(stat, dict) or "per_trial" not in stat or name == "knn":
                continue
            ref = methods["knn"][metric]["per_trial"]
            lower = metric in LOWER_IS_BETTER
            stat["sign_test_p_vs_knn"] = sign_test(stat["per_trial"], ref, lower)
            stat["wins_losses_vs_knn"] = wins_losses(stat["per_trial"], ref, lower)
    return summary


def main(path: str, drop_pairs: bool = False) -> None:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    for summary in doc.get("runs", [doc]):
        if drop_pairs:  # files written before APGR/CPT were limited to unequal-cost pairs
            for entry in summary["methods"].values():
                for metric in ("apgr", "cpt50", "cpt80"):
                    entry.pop(metric, None)
        print(format_table(refresh(summary)))
        print()


if __name__ == "__main__":
    main(sys.argv[1], drop_pairs="--drop-pairs" in sys.argv[2:])
