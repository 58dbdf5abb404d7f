#!/bin/sh
# Debian's chromium for the console's browser tests: Playwright drives it by its path and never
# downloads a browser of its own. Installs it when missing and we are root (CI); otherwise says
# so, and the browser tests skip locally (with CI=true they fail).
set -e
if [ -n "${LOYALTY_TEST_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the console's browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  exit 0
fi
echo "chromium is not installed (apt-get install chromium as root): the browser tests will skip" >&2
