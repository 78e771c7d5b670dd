#!/usr/bin/env bash
# GRPO on EnvTune/BFCL-v0 with verl on one 8-GPU node (see docs/integrations/verl.md).
#
#   pip install "envtune-gym[verl]" "verl[sglang]==0.9.1"      # or "verl[vllm]==0.9.1" with ROLLOUT=vllm
#   pip install --no-deps bfcl-eval==2026.3.23                  # BFCL's 800 tasks
#   bash examples/verl/run_bfcl_grpo.sh                         # extra args are Hydra overrides, e.g.
#   bash examples/verl/run_bfcl_grpo.sh trainer.n_gpus_per_node=4 actor_rollout_ref.model.path=/models/qwen3-4b
#
# Several nodes: start a Ray cluster (`ray start --head` here, `ray start --address=HEAD:6379` on the others),
# install envtune-gym on every node, then run this on the head with NNODES=<count>. The data folder must be on
# a path every node sees (or copied to the same path on each).
set -euo pipefail
cd "$(dirname "$0")/../.."

DATA=${DATA:-data/bfcl}
ROLLOUT=${ROLLOUT:-sglang}
NNODES=${NNODES:-1}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}

# The Environment Tuning protocol split: per category 100 tasks to train on, the other 100 to validate on.
envtune verl-data EnvTune/BFCL-v0 --out "$DATA" \
    --env-kwargs '{"split": "train"}' --val-env-kwargs '{"split": "test"}' --max-new-tokens 2048

python3 -m verl.trainer.main_ppo \
    --config-path "$PWD/examples/verl" --config-name envtune_bfcl_grpo \
    data.train_files="$PWD/$DATA/train.parquet" data.val_files="$PWD/$DATA/val.parquet" \
    actor_rollout_ref.rollout.agent.agent_loop_config_path="$PWD/$DATA/agent_loop.yaml" \
    actor_rollout_ref.rollout.name="$ROLLOUT" \
    trainer.nnodes="$NNODES" trainer.n_gpus_per_node="$GPUS_PER_NODE" \
    "$@"
