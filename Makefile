# wm-control: one-command set-up. `make test` and `make demo` install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian/Ubuntu packages for headless MuJoCo rendering (EGL on Mesa, OSMesa as fallback).
SYSTEM_PACKAGES := libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0 libgbm1 libosmesa6
export MUJOCO_GL ?= egl

.PHONY: install system-deps test test-fast demo bench lock clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages for headless rendering:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing system packages for headless rendering:$$missing" \
	      "(install them with apt-get as root)"; exit 1; \
	  fi; \
	fi

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

demo: install
	$(BIN)/wm-control plan

bench: install
	$(BIN)/python bench/bench_planner.py

# Re-resolve the pins from pyproject's ranges in a fresh environment.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e ".[test]"
	.venv-lock/bin/python -m pip check
	.venv-lock/bin/python -m pip freeze --exclude-editable \
	  | $(PYTHON) .ci/clean_lock.py > requirements.lock
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) outputs .pytest_cache

# ---------------------------------------------------------------------------------------------
# The shipped default model, reproduced from scratch on this machine: record LeRobot datasets of
# the four simulated tasks, pretrain the encoder on their frames (V-JEPA style), then train the
# action-conditioned predictor on them with the encoder frozen. On CPU with one torch thread (as
# pinned here) the weights come out bit for bit as shipped; the check before the copy says whether
# they did (CUDA, or another thread count, gives a model of the same quality, not the same bits).
# About 4 hours on one core. Intermediate results go to $(MODEL_WORK); the finished model is
# copied to $(DEFAULT_MODEL).
MODEL_WORK ?= runs/sim_default
DEFAULT_MODEL := wm_control/pretrained/sim_default
SIM_TASKS := reach push pick_place grasp
SIM_KINDS := expert noisy random
SIM_DATA = $(foreach t,$(SIM_TASKS),$(foreach k,$(SIM_KINDS),$(MODEL_WORK)/data/$(t)_$(k)))
comma := ,
empty :=
space := $(empty) $(empty)
EXTRA_DATA = [$(subst $(space),$(comma),$(wordlist 2,99,$(SIM_DATA)))]

.PHONY: default-model default-model-data
default-model-data: install
	@set -e; i=0; for task in $(SIM_TASKS); do i=$$((i+1)); \
	  d=$(MODEL_WORK)/data/$${task}; \
	  test -d $${d}_expert || $(BIN)/wm-control collect env=$$task episodes=200 policy=expert \
	    noise=0.1 seed=$$((i*100000)) output_dir=$${d}_expert; \
	  test -d $${d}_noisy || $(BIN)/wm-control collect env=$$task episodes=100 policy=expert \
	    noise=0.3 seed=$$((i*100000+10000)) output_dir=$${d}_noisy; \
	  test -d $${d}_random || $(BIN)/wm-control collect env=$$task episodes=100 policy=random \
	    seed=$$((i*100000+20000)) output_dir=$${d}_random; \
	done

default-model: default-model-data
	$(BIN)/wm-control pretrain data.root=$(firstword $(SIM_DATA)) 'extra_datasets=$(EXTRA_DATA)' \
	  encoder=vit_mini image_size=128 steps=3000 batch_size=16 threads=1 \
	  out_dir=$(MODEL_WORK)/encoder
	$(BIN)/wm-control train model=pretrained_encoder model.path=$(MODEL_WORK)/encoder/model \
	  predictor=ac_mini data.root=$(firstword $(SIM_DATA)) 'extra_datasets=$(EXTRA_DATA)' \
	  train=sim_default threads=1 out_dir=$(MODEL_WORK)/predictor
	-$(BIN)/python -m wm_control.checkpoints.compare $(MODEL_WORK)/predictor/model $(DEFAULT_MODEL)
	mkdir -p $(DEFAULT_MODEL) && cp $(MODEL_WORK)/predictor/model/model.safetensors \
	  $(DEFAULT_MODEL)/model.safetensors

# ---------------------------------------------------------------------------------------------
# The OGBench cube model (model=ogbench_cube), reproduced from scratch on CPU: OGBench play data
# recorded with OGBench's own oracle and noise (`policy=oracle`: CubePlanOracle, its play
# datasets' settings) in its data-collection mode, at the stack's 4 Hz (each recorded step one
# block of 5 OGBench control steps; only recorded frames are rendered). 100 episodes of 200 steps
# (OGBench's 1000-step play episodes, ~11 pick-and-place cycles each): 20,000 frames, about
# 20 min on one core. One rasteriser thread (LP_NUM_THREADS=1) renders fastest on 2 cores.
OGBENCH_WORK ?= runs/ogbench_cube
OGBENCH_MODEL := wm_control/pretrained/ogbench_cube
OGBENCH_DATA = $(OGBENCH_WORK)/data/play
OGBENCH_NOISY = $(OGBENCH_WORK)/data/noisy
OGBENCH_COLLECT = OMP_NUM_THREADS=1 LP_NUM_THREADS=1 $(BIN)/wm-control collect \
	  env=ogbench_cube_single episodes=100 env.max_episode_steps=200

# ... and OGBench noisy data (`policy=oracle_noisy`: its closed-loop Markov oracle with Gaussian
# action noise and 10 % random actions, seeds 100000-100099), the oracle whose trajectories
# stable-worldmodel's protocol starts from. Same size and time. A dataset is written to a
# temporary folder and moved into place when complete, so `test -d` never skips a partial one.
.PHONY: ogbench-model-data
ogbench-model-data: install
	test -d $(OGBENCH_DATA) || ( rm -rf $(OGBENCH_DATA).partial && $(OGBENCH_COLLECT) \
	  policy=oracle seed=0 repo_id=local/ogbench_cube_single_play \
	  output_dir=$(OGBENCH_DATA).partial hydra.run.dir=$(OGBENCH_WORK)/logs/collect_play && \
	  mv $(OGBENCH_DATA).partial $(OGBENCH_DATA) )
	test -d $(OGBENCH_NOISY) || ( rm -rf $(OGBENCH_NOISY).partial && $(OGBENCH_COLLECT) \
	  policy=oracle_noisy seed=100000 repo_id=local/ogbench_cube_single_noisy \
	  output_dir=$(OGBENCH_NOISY).partial hydra.run.dir=$(OGBENCH_WORK)/logs/collect_noisy && \
	  mv $(OGBENCH_NOISY).partial $(OGBENCH_NOISY) )

# The OGBench cube model itself: encoder pretraining (vit_mini, 64 px) on the play data's frames;
# the predictor (ac_mini, OGBench's action/state layout from configs/data/ogbench_cube.yaml) with
# the encoder frozen, on play data (train=ogbench_cube); then the same predictor continued on play
# and noisy data together (train=ogbench_cube_mix). One torch thread each (OMP_NUM_THREADS=1).
# Each stage resumes from its latest checkpoint (resume=true starts afresh when there is none), so
# an interrupted `make ogbench-model` continues where it stopped; a stage whose model is written
# is skipped.
OGBENCH_PRETRAIN = $(BIN)/wm-control pretrain data=ogbench_cube data.root=$(OGBENCH_DATA) \
	  encoder=vit_mini image_size=64 steps=3000 batch_size=16 out_dir=$(OGBENCH_WORK)/encoder \
	  resume=true hydra.run.dir=$(OGBENCH_WORK)/logs/pretrain
OGBENCH_TRAIN = $(BIN)/wm-control train model=pretrained_encoder \
	  model.path=$(OGBENCH_WORK)/encoder/model predictor=ac_mini data=ogbench_cube \
	  data.root=$(OGBENCH_DATA) train=ogbench_cube out_dir=$(OGBENCH_WORK)/predictor \
	  resume=true hydra.run.dir=$(OGBENCH_WORK)/logs/train
OGBENCH_TRAIN_MIX = $(BIN)/wm-control train model=ogbench_cube \
	  model.path=$(OGBENCH_WORK)/predictor/model data=ogbench_cube data.root=$(OGBENCH_DATA) \
	  'extra_datasets=[{root: $(OGBENCH_NOISY), repo_id: local/ogbench_cube_single_noisy}]' \
	  train=ogbench_cube_mix out_dir=$(OGBENCH_WORK)/predictor_mix \
	  resume=true hydra.run.dir=$(OGBENCH_WORK)/logs/train_mix

.PHONY: ogbench-model
ogbench-model: ogbench-model-data
	test -f $(OGBENCH_WORK)/encoder/model/model.safetensors || OMP_NUM_THREADS=1 $(OGBENCH_PRETRAIN)
	test -f $(OGBENCH_WORK)/predictor/model/model.safetensors || OMP_NUM_THREADS=1 $(OGBENCH_TRAIN)
	test -f $(OGBENCH_WORK)/predictor_mix/model/model.safetensors || \
	  OMP_NUM_THREADS=1 $(OGBENCH_TRAIN_MIX)
	mkdir -p $(OGBENCH_MODEL) && cp $(OGBENCH_WORK)/predictor_mix/model/model.safetensors \
	  $(OGBENCH_MODEL)/model.safetensors
	$(MAKE) ogbench-grasp-lift ogbench-locator

# Where `ogbench.jaws=pick` grasps under a goal hand that has just lifted the cube: a linear map
# fitted on the noisy data's grasp-and-lift events (the Markov oracle lifts at full speed and the
# arm drifts towards its base on the way; wm_control/grasp_lift.py). Seconds, states only.
.PHONY: ogbench-grasp-lift
ogbench-grasp-lift: ogbench-model-data
	$(BIN)/python -m wm_control.grasp_lift --data $(OGBENCH_NOISY) \
	  --out $(OGBENCH_MODEL)/grasp_lift.json

# Where `ogbench.jaws=pick` grasps when it can see the cube: a small CNN trained on the play and
# noisy data's frames, labelled from the robot's own grasps and releases (states only, no
# simulator state; wm_control/object_locator.py). About 5 minutes on 2 cores. The shipped one was
# trained on lossless recordings of the same 200 episodes (`collect ... frames=png`, same seeds);
# on these AV1 recordings the result is close, not identical.
.PHONY: ogbench-locator
ogbench-locator: ogbench-model-data
	$(BIN)/python -m wm_control.object_locator --data $(OGBENCH_DATA) $(OGBENCH_NOISY) \
	  --out $(OGBENCH_MODEL)/object_locator.safetensors --steps 4000 --threads 2
