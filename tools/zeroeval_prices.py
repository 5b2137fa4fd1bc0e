"""Per-token prices of the 29 ZeroEval LLMs, from LiteLLM's price map (a tool, not shipped).

Usage: python tools/zeroeval_prices.py [path/to/shared/data]

Writes python/uniroute/datasets/data/zeroeval_prices.json and prints the mapping table
(markdown) that LICENSE-DATA.md quotes. ZeroEval records no cost; the bundled data set's
cost is *derived*: price per token x (prompt + answer characters) / 4.

Rules, applied in this order (the first that gives a priced key wins):

A. The provider named in the model string (``@hyperbolic``, ``@sambanova``): that
   provider's key for those weights.
B. Closed (API-only) models: the exact model version at its vendor; when the vendor's
   own key is gone from the map, the same version at a cloud reseller (Bedrock, Vertex,
   Azure), which lists the vendor's price.
C. Open-weight models: Together AI, else Fireworks AI, else DeepInfra, else the
   vendor's own API.
D. Imputed (no key for the model at all): open weights take the price of the same
   family's listed model nearest in parameter count; closed models take the vendor's
   next listed model of the same tier; a closed model with no priced sibling takes the
   median-priced frontier model of its release quarter (gpt-4o-2024-08-06). Marked
   ``imputed``.
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "python/uniroute/datasets/data/zeroeval_prices.json"
LITELLM = "litellm_1.110.2_model_prices_and_context_window.json.gz"

# model -> (litellm key, status, rule and reason)
MAPPING: dict[str, tuple[str, str, str]] = {
    "Athene-70B": ("fireworks_ai/accounts/fireworks/models/llama-v3-70b-instruct", "imputed",
                   "D: no key; Athene-70B is a Llama-3-70B fine-tune -> Llama-3-70B-Instruct (C)"),
    "Llama-3.1-405B-Inst@hyperbolic": ("hyperbolic/meta-llama/Meta-Llama-3.1-405B-Instruct",
                                       "listed", "A: provider hyperbolic named in the model string"),
    "Llama-3.1-405B-Inst@sambanova": ("together_ai/meta-llama/Llama-3.1-405B-Instruct",
                                      "listed-other-host",
                                      "A fails (no sambanova key for 3.1-405B) -> C: Together AI"),
    "Meta-Llama-3-70B-Instruct": ("fireworks_ai/accounts/fireworks/models/llama-v3-70b-instruct",
                                  "listed", "C: no Together key -> Fireworks AI"),
    "Meta-Llama-3-8B-Instruct": ("fireworks_ai/accounts/fireworks/models/llama-v3-8b-instruct-hf",
                                 "listed", "C: no Together key -> Fireworks AI"),
    "Meta-Llama-3.1-70B-Instruct": ("together_ai/meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo",
                                    "listed", "C: Together AI"),
    "Meta-Llama-3.1-8B-Instruct": ("together_ai/meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
                                   "listed", "C: Together AI"),
    "Mistral-Large-2": ("vertex_ai/mistral-large@2407", "listed",
                        "B: mistral-large-2407; no Mistral key for that version -> Vertex AI"),
    "Phi-3.5-mini-instruct": ("fireworks_ai/accounts/fireworks/models/phi-3-mini-128k-instruct",
                              "imputed", "D: no key; same family, same size (3.8B): Phi-3-mini"),
    "Qwen2-72B-Instruct": ("fireworks_ai/accounts/fireworks/models/qwen2-72b-instruct", "listed",
                           "C: no Together key -> Fireworks AI"),
    "Qwen2-7B-Instruct": ("fireworks_ai/accounts/fireworks/models/qwen2-7b-instruct", "listed",
                          "C: no Together key -> Fireworks AI"),
    "Yi-1.5-34B-Chat": ("fireworks_ai/accounts/fireworks/models/yi-34b-chat", "imputed",
                        "D: no key; same family, same size: Yi-34B-Chat"),
    "Yi-1.5-9B-Chat": ("fireworks_ai/accounts/fireworks/models/yi-6b", "imputed",
                       "D: no key; same family, nearest listed size: Yi-6B"),
    "claude-3-5-sonnet-20240620": ("anthropic.claude-3-5-sonnet-20240620-v1:0", "listed",
                                   "B: no Anthropic key for that version -> Bedrock"),
    "claude-3-haiku-20240307": ("vertex_ai/claude-3-haiku@20240307", "listed",
                                "B: no Anthropic key for that version -> Vertex AI"),
    "claude-3-opus-20240229": ("anthropic.claude-3-opus-20240229-v1:0", "listed",
                               "B: no Anthropic key for that version -> Bedrock"),
    "deepseek-v2.5-0908": ("fireworks_ai/accounts/fireworks/models/deepseek-v2p5",
                           "listed-other-host",
                           ("C: open weights; DeepSeek's own 'deepseek-chat' key now prices a "
                            "later model -> Fireworks AI's DeepSeek-V2.5")),
    "gemini-1.5-flash": ("vertex_ai/gemini-2.0-flash", "imputed",
                         "D: no gemini-1.5 keys; next listed Flash tier: gemini-2.0-flash"),
    "gemini-1.5-flash-exp-0827": ("vertex_ai/gemini-2.0-flash", "imputed",
                                  "D: as gemini-1.5-flash"),
    "gemini-1.5-pro": ("gemini-2.5-pro", "imputed",
                       "D: no gemini-1.5 keys; next listed Pro tier: gemini-2.5-pro"),
    "gemma-2-27b-it": ("gemini/gemini-gemma-2-27b-it", "listed",
                       "C: no Together/Fireworks/DeepInfra key -> Google's API"),
    "gemma-2-2b-it": ("fireworks_ai/accounts/fireworks/models/gemma-2b-it", "imputed",
                      "D: no key; same family, same size: Gemma-2B-it"),
    "gemma-2-9b-it": ("fireworks_ai/accounts/fireworks/models/gemma2-9b-it", "listed",
                      "C: no Together key -> Fireworks AI"),
    "gpt-3.5-turbo-0125": ("gpt-3.5-turbo-0125", "listed", "B: OpenAI"),
    "gpt-4o-2024-05-13": ("gpt-4o-2024-05-13", "listed", "B: OpenAI"),
    "gpt-4o-2024-08-06": ("gpt-4o-2024-08-06", "listed", "B: OpenAI"),
    "gpt-4o-mini-2024-07-18": ("gpt-4o-mini-2024-07-18", "listed", "B: OpenAI"),
    "o1-mini-2024-09-12": ("azure/o1-mini-2024-09-12", "listed",
                           "B: no OpenAI key for that version -> Azure"),
    "reka-core-20240501": ("gpt-4o-2024-08-06", "imputed",
                           ("D: Reka is unpriced in the map (snowflake/reka-core has no "
                            "price), size not public -> median frontier model of Q2-2024 "
                            "(mistral-large-2 < gpt-4o-2024-08-06 < claude-3.5-sonnet)")),
}


def main(shared: Path) -> None:
    with gzip.open(shared / "llm_prices" / LITELLM, "rt", encoding="utf-8") as f:
        table = json.load(f)
    prices = {}
    rows = ["| model | LiteLLM key | USD / 1M input | USD / 1M output | status | rule |",
            "|---|---|---|---|---|---|"]
    for model, (key, status, rule) in MAPPING.items():
        entry = table[key]
        p_in, p_out = float(entry["input_cost_per_token"]), float(entry["output_cost_per_token"])
        assert p_in > 0 and p_out > 0, key
        prices[model] = {"input_usd_per_token": p_in, "output_usd_per_token": p_out,
                         "litellm_key": key, "status": status, "rule": rule}
        rows.append(f"| {model} | `{key}` | {p_in * 1e6:g} | {p_out * 1e6:g} | {status} | {rule} |")
    doc = {"source": f"LiteLLM {LITELLM} (MIT, Berri AI), see tools/zeroeval_prices.py",
           "tokens": "characters / 4 (prompt_full for input, the raw answer for output)",
           "models": prices}
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print("\n".join(rows))
    print(f"\n{OUT}: {len(prices)} models, "
          f"{sum(p['status'] == 'imputed' for p in prices.values())} imputed")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
