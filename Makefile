# Parley's two entry points. Both work on a fresh Debian machine with only
# rustup/cargo: they install what is missing first (scripts/setup.sh).
#
#   make run    build the browser app and start the server at http://127.0.0.1:8080
#   make test   every check and test, as CI runs it
#   make cluster  three nodes sharing PostgreSQL and Redis behind nginx at
#               http://127.0.0.1:8080 (deploy/nginx.conf); Ctrl-C stops all
#   make bench  Parley against two peer relays, join storms into big rooms;
#               writes docs/benchmarks.md
#   make bench-cluster  one node on SQLite, one on PostgreSQL, two on
#               PostgreSQL + Redis behind nginx, same load (about 6 min);
#               writes its section of docs/benchmarks.md
#   make fuzz   a long fuzzing run of the frame parser and decoder
#   make soak   good clients among hostile ones for 10 minutes, default
#               limits; writes its section of docs/benchmarks.md

.PHONY: run test setup cluster bench bench-cluster fuzz soak

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

setup:
	bash scripts/setup.sh --browser

cluster:
	bash scripts/cluster.sh

bench:
	bash scripts/bench.sh

bench-cluster:
	bash scripts/bench-cluster.sh --write-docs

fuzz:
	bash scripts/fuzz.sh

soak:
	bash scripts/soak.sh
