# Jasiyo. Two commands matter: `make run` and `make test` (see README.md). The other targets are
# their steps, usable on their own. Every step installs what it needs and says so.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Tools cargo installs, then the Node tools of end2end/ (binaryen's wasm-opt 116 first: Debian's
# binaryen 108 produces a module that fails to hydrate).
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/end2end/node_modules/.bin:$(PATH)
# Builds never need a database: the query macros read the committed data in app/.sqlx.
export SQLX_OFFLINE := true
# Debug builds erase Leptos view types (much faster compiles of the app crate). cargo-leptos would
# add this flag only to its own builds, so clippy, tests and the app build would each compile every
# dependency separately; instead every debug cargo command gets it here, and cargo-leptos is told
# not to add it again (disable-erase-components in Cargo.toml). Release builds keep it too: the
# erased views make the browser bundles about a fifth smaller (measured: the hotspot page's
# 397 KB of brotli-compressed wasm became 319 KB with it, then 248 KB in its own bundle), and the
# server then renders exactly what the browser tests check.
export RUSTFLAGS ?= --cfg erase_components

# The demo keeps the key that seals secrets at rest (PPPoE passwords) beside its cluster; the
# server makes it on first use. Production sets JASIYO_SECRET_KEY instead.
export JASIYO_SECRET_KEY_FILE ?= $(CURDIR)/.data/secret.key

ADDR ?= 127.0.0.1:3000
DB := server/scripts/db.sh
TOOLS := server/scripts/tools.sh
SERVER := target/debug/server
say = @printf '\033[1m[make]\033[0m %s\n' "$(1)"

FUZZ_SECONDS ?= 60

.PHONY: help run test build release fuzz bench sizes fmt fmt-check lint sqlx-check sqlx-prepare unit e2e \
        db-up db-down db-psql drop-test-databases

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 22

run: ## set up everything, then serve the app with a demo ISP on http://$(ADDR)
	@$(TOOLS) build
	$(call say,building the app: cargo leptos build)
	cargo leptos build
	@server/scripts/public-bundle.sh
	$(call say,migrating and seeding the demo ISP)
	@$(DB) exec $(SERVER) migrate
	@$(DB) exec $(SERVER) seed-demo
	@printf '\n  Jasiyo is starting on \033[1mhttp://%s\033[0m  (Ctrl-C stops it)\n' "$(ADDR)"
	@printf '  Demo ISP: Demo Networks. Sign in as\n'
	@printf '    owner    owner@demo.jasiyo.test    / demo-owner-pass\n'
	@printf '    admin    admin@demo.jasiyo.test    / demo-admin-pass\n'
	@printf '    support  support@demo.jasiyo.test  / demo-support-pass\n\n'
	@$(DB) exec env JASIYO_DEV_MAIL=1 JASIYO_DEV_PROVIDERS=1 JASIYO_RADIUS_AUTH_ADDR=127.0.0.1:1812 JASIYO_RADIUS_ACCT_ADDR=127.0.0.1:1813 LEPTOS_SITE_ADDR=$(ADDR) $(SERVER) serve

test: fmt-check lint sqlx-check unit e2e ## every check the project has (what CI runs)
	$(call say,all checks passed)

build: ## debug build of server and browser bundle (target/debug/server, target/site)
	@$(TOOLS) build
	cargo leptos build
	@server/scripts/public-bundle.sh

release: ## optimised build, pre-compressed bundle (target/release/server, target/site)
	@$(TOOLS) release
	cargo leptos build --release --precompress
	@server/scripts/public-bundle.sh release

fuzz: ## fuzz the network parsers (RADIUS packets, RouterOS API words) for FUZZ_SECONDS each (default 60) with the committed corpus
	@$(TOOLS) fuzz
	$(call say,cargo fuzz: RADIUS packet decoder and RouterOS API codec, $(FUZZ_SECONDS) s each)
	cd fuzz && cargo +nightly fuzz run -O radius_packet corpus/radius_packet -- -max_total_time=$(FUZZ_SECONDS) -max_len=4096
	cd fuzz && cargo +nightly fuzz run -O routeros_codec corpus/routeros_codec -- -max_total_time=$(FUZZ_SECONDS) -max_len=4096

bench: release ## benchmarks on this machine (release build, 100,000 customers, wrk); writes BENCHMARKS.md and the README figures
	@$(TOOLS) bench
	@$(DB) exec server/scripts/bench.sh

sizes: release ## size of the shipped .wasm and .js, raw and compressed
	@for f in target/site/pkg/jasiyo.wasm target/site/pkg/jasiyo.js target/site/pkg/jasiyo_pay.wasm target/site/pkg/jasiyo_portal.wasm target/site/pkg/jasiyo_hotspot.wasm; do \
	  printf '%-28s raw %8s B   gzip %8s B   brotli %8s B\n' "$$f" "$$(stat -c %s $$f)" \
	    "$$(stat -c %s $$f.gz 2>/dev/null || gzip -9c $$f | wc -c)" "$$(stat -c %s $$f.br 2>/dev/null || echo -)"; \
	done

fmt: ## format the Rust code
	cargo fmt --all

fmt-check:
	$(call say,cargo fmt --check)
	cargo fmt --all -- --check

lint: ## clippy with warnings denied, for the server (ssr) and the browser (hydrate)
	@$(TOOLS) build
	$(call say,clippy: server side (ssr))
	cargo clippy -p app -p server --all-targets --features app/ssr -- -D warnings
	$(call say,clippy: browser side (hydrate, wasm32))
	cargo clippy -p app -p frontend -p frontend-public --all-targets --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

sqlx-check: ## the committed query data (app/.sqlx) matches the queries and the migrations
	$(call say,checking app/.sqlx against a freshly migrated database)
	@$(DB) exec server/scripts/sqlx-prepare.sh --check

sqlx-prepare: ## regenerate app/.sqlx after changing a query or a migration
	@$(DB) exec server/scripts/sqlx-prepare.sh

unit: ## unit, property and database tests (cargo test), as the runtime role
	$(call say,cargo test: unit and database tests)
	@$(DB) exec server/scripts/db.sh drop-test-databases
	@$(DB) exec cargo test --no-fail-fast -p app -p server --features app/ssr
	@$(DB) exec server/scripts/db.sh drop-test-databases

e2e: ## browser tests: Playwright driving Debian's Chromium against a freshly built server
	@$(TOOLS) build browser
	$(call say,browser tests (the harness builds, starts and stops its own server))
	@$(DB) exec bash -c 'cd end2end && npm test'

db-up: ## start the project's PostgreSQL (.data/pg, port 54329) if it is not running
	@$(DB) up

db-down: ## stop the project's PostgreSQL
	@$(DB) down

db-psql: ## a psql shell on the app database as the owner role
	@$(DB) psql

drop-test-databases:
	@$(DB) exec server/scripts/db.sh drop-test-databases
