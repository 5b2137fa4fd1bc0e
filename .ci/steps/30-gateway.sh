#!/usr/bin/env bash
# Gateways (issue 14): the LiteLLM routing plugin in a real litellm.Router, and `uniroute serve`
# through the official openai client against stub backends on 127.0.0.1; then the load test
# once at its smallest size (a bounded smoke run: localhost only, ~1 minute).
set -euo pipefail
export LITELLM_LOCAL_MODEL_COST_MAP=True  # LiteLLM must not fetch its cost map
python tools/extras.py serve litellm embed | xargs -d "\n" pip install openai
timeout 900 python -m pytest -q -p no:cacheprovider tests/serving/test_litellm_plugin.py \
  tests/serving/test_server.py tests/serving/test_server_reload.py \
  tests/serving/test_server_config.py tests/docs
timeout 300 python benchmarks/load_server.py --quick > /dev/null
echo "gateway load smoke run: ok"
