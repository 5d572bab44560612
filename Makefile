# Trợ lý dịch vụ công — every command a newcomer needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
APP_PY := .venv/app/bin/python
QUESTIONS ?= ../shared/eval/dev.jsonl

.PHONY: help setup lock index train build serve stop run chat test test-unit eval eval-procedures catalogue calibrate calibrate-procedures eval-plain bench lint dashboard demo-data web zalo-bot zalo-oa telegram bench-gateways chaos fuzz backup restore

help:  ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

setup:  ## Create both venvs (Rasa on 3.10, our code on 3.11) and build the local embedding model
	@tools/stack.sh setup

lock:  ## Resolve both environments afresh and write requirements/{app,rasa}.lock (then commit them)
	@tools/stack.sh lock

index: setup  ## Build the retrieval index over knowledge/ and the intents' examples, and the guides' part models (cached; rebuilt when either changes)
	@tools/stack.sh index

train: setup  ## Train the Rasa model if it is missing or stale
	@tools/stack.sh train

build: setup  ## Train the model and build the index side by side (each skipped when up to date)
	@tools/stack.sh build

serve: build  ## Start action server + Rasa in the background on 127.0.0.1 (REST on :5005); returns once it answers
	@tools/stack.sh serve

stop:  ## Stop what `make serve` started
	@tools/stack.sh stop

run: serve  ## Set up everything and chat with the assistant in this terminal
	@$(APP_PY) tools/chat.py; tools/stack.sh stop

chat:  ## Chat with an already running assistant
	@$(APP_PY) tools/chat.py

web: setup  ## Start the web chat widget on 127.0.0.1:8084 (demo page at /) for a running assistant (make serve) and Redis
	@. tools/local-env.sh; PYTHONPATH=$(CURDIR) $(APP_PY) -m bot.web

test: build  ## Run the whole test suite (unit, integration with real Redis and a trained model, conversation tests)
	@tools/test.sh

test-unit: setup  ## Only the fast offline unit tests
	@$(APP_PY) -m pytest -m "not integration" -q

zalo-bot: setup  ## Start the Zalo Bot gateway (ZALO_BOT_MODE=polling for development; needs ZALO_BOT_TOKEN, Redis, make serve)
	@. tools/local-env.sh; PYTHONPATH=$(CURDIR) $(APP_PY) -m bot.zalo.bot_platform

zalo-oa: setup  ## Start the Zalo Official Account gateway on 127.0.0.1:8081 (needs the ZALO_OA_* settings, Redis, make serve)
	@. tools/local-env.sh; PYTHONPATH=$(CURDIR) $(APP_PY) -m bot.zalo.oa

telegram: setup  ## Start the Telegram gateway: volunteers' tickets + residents' private chats (TELEGRAM_* settings, Redis, make serve)
	@. tools/local-env.sh; PYTHONPATH=$(CURDIR) $(APP_PY) -m bot.telegram

eval: serve  ## Score the assistant on QUESTIONS=<file.jsonl> [SPLIT=validation|test] (default: ../shared/eval/dev.jsonl)
	@$(APP_PY) tools/eval.py $(QUESTIONS) $(if $(SPLIT),--split $(SPLIT))

eval-procedures: serve  ## Score the assistant on the blind procedure questions (eval/procedures) [SPLIT=validation|test]
	@$(APP_PY) tools/eval_procedures.py $(if $(SPLIT),--split $(SPLIT))

catalogue: setup  ## Rebuild knowledge/procedures/catalogue.jsonl.gz from raw snapshots: RAW=<folder> (knowledge/procedures/README.md)
	@$(APP_PY) tools/import_procedures.py --json-root $(RAW)/scripts/crawler/data/raw \
	  --json-date-for toa-an-nhan-dan 2026-07-17 --docx-root $(RAW)/Knowlegd-rag/downloads_ministries

calibrate: build  ## Choose answer/clarify thresholds and fusion/section weights on the three blind VALIDATION sets (prints the curve; WRITE=1 stores it)
	@.venv/rasa/bin/python tools/nlu_rank.py eval/blind/questions.jsonl eval/blind/fresh/questions.jsonl eval/blind/fresh2/questions.jsonl --split validation --out results/nlu-validation.jsonl
	@$(APP_PY) tools/calibrate.py --rankings results/nlu-validation.jsonl $(if $(WRITE),--write)

calibrate-procedures: build  ## Choose when the procedure catalogue answers, on the VALIDATION splits of the blind and procedure sets (WRITE=1 stores it)
	@.venv/rasa/bin/python tools/nlu_rank.py eval/blind/questions.jsonl eval/blind/fresh/questions.jsonl eval/blind/fresh2/questions.jsonl --split validation --out results/nlu-validation.jsonl
	@.venv/rasa/bin/python tools/nlu_rank.py eval/procedures/questions.jsonl --split validation --out results/nlu-procedures-validation.jsonl
	@$(APP_PY) tools/calibrate_procedures.py $(if $(WRITE),--write)

eval-plain: setup  ## The same evaluation on Rasa's default pipeline and policies (config-plain.yml), for comparison
	@export RASA_CONFIG=config-plain.yml MODEL=models/plain.tar.gz RASA_PORT=5006 ACTIONS_PORT=5056 RUN_DIR=.run/plain; \
	tools/stack.sh train && tools/stack.sh index && tools/stack.sh serve && \
	$(APP_PY) tools/eval.py $(QUESTIONS) --url http://127.0.0.1:5006/webhooks/rest/webhook; s=$$?; tools/stack.sh stop; exit $$s

bench: build  ## Measure latency, throughput, growth, cold start and memory vs plain Rasa (BENCH_ARGS=--ours-only: ours alone; add --real-questions 2000: memory after real questions; BENCH_PLAIN_EPOCHS=20: plain Rasa trained shorter)
	@$(APP_PY) tools/bench.py $(BENCH_ARGS)

bench-gateways: setup  ## Zalo OA webhook under load (fake Rasa and Zalo, real gateway and Redis): time to HTTP 200, delivery rate
	@PYTHONPATH=$(CURDIR) $(APP_PY) tools/bench_gateways.py

chaos: build  ## Fault run: 20 residents while Redis, actions, a Rasa replica and gateways are killed (SEED=…)
	@PYTHONPATH=$(CURDIR) $(APP_PY) tools/chaos.py $(if $(SEED),--seed $(SEED))

fuzz: build  ## 10,000 hostile messages through REST and every gateway: no 5xx, a Vietnamese reply each (SEED=…)
	@PYTHONPATH=$(CURDIR) $(APP_PY) tools/fuzz.py $(if $(SEED),--seed $(SEED))

lint:  ## ruff and mypy on our own code
	@tools/test.sh lint

# ---- Staff dashboard (dashboard/) ----------------------------------------------------------------------------------
dashboard: setup  ## Start the staff dashboard on 127.0.0.1:8080 (REDIS_URL, default here redis://127.0.0.1:6379/0)
	@. tools/local-env.sh; PYTHONPATH=$(CURDIR) $(APP_PY) -m dashboard serve

demo-data: setup  ## Fill the local Redis with months of synthetic feedback and a demo staff account (canbo / demo-matkhau)
	@. tools/local-env.sh; PYTHONPATH=$(CURDIR) $(APP_PY) -m dashboard demo-data

# ---- Redis backups (docs/operations-backup.md) ---------------------------------------------------------------------
BACKUP_DIR ?= backups
REDIS_DIR ?= .run/redis-restored

backup: setup  ## Snapshot the Redis at REDIS_URL (RDB; AOF too when local) into BACKUP_DIR/<UTC time>/ with a manifest
	@. tools/local-env.sh; PYTHONPATH=$(CURDIR) $(APP_PY) tools/redis_backup.py backup $(BACKUP_DIR)

restore: setup  ## Restore FROM=backups/<stamp> into a STOPPED Redis's data folder REDIS_DIR=… (AOF rebuilt, counts checked)
	@$(if $(FROM),,echo "usage: make restore FROM=backups/<stamp> [REDIS_DIR=<stopped Redis's dir>]" >&2; exit 2;) \
	PYTHONPATH=$(CURDIR) $(APP_PY) tools/redis_backup.py restore $(FROM) --redis-dir $(REDIS_DIR)
