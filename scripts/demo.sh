#!/usr/bin/env bash
# The main job on the embedded default: set up the machine, build, ingest the
# bundled fixtures into ./ffo-data and serve them on http://127.0.0.1:7411.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --locked
FFO="${CARGO_TARGET_DIR:-target}/debug/ffo"
DATA="${FFO_DATA:-ffo-data}"
"$FFO" --data "$DATA" ingest all fixtures || [ $? -eq 3 ]
exec "$FFO" --data "$DATA" serve "$@"
