#!/bin/sh
# Uploads a QGIS project folder to QFieldCloud, packages it for QField and waits for the
# package job; exits non-zero when any step fails, so the CI build fails with it.
# POSIX sh: runs in any CI (GitHub Actions, GitLab CI, Jenkins, cron).
#
# Usage: qfieldcloud-package.sh [<project id> [<project folder>]]
#
# Environment:
#   QFIELDCLOUD_URL         API base URL, e.g. https://app.qfield.cloud/api/v1/
#   QFIELDCLOUD_TOKEN       API token (store it as a CI secret; this script never prints it)
#   QFIELDCLOUD_PROJECT_ID  the project, unless given as the first argument
#   QFIELDCLOUD_PROJECT_DIR the folder to upload, unless given as the second argument;
#                           default: the current directory
#   QFIELDCLOUD_CLI         the command to run the CLI; default: qfieldcloud-cli
#                           (e.g. "deno run -A cli.ts" to run it from source)
#   PACKAGE_TIMEOUT_MINUTES how long to wait for packaging; default 20
#   PACKAGE_POLL_SECONDS    time between job status checks; default 5
#
# Exit codes: 0 packaged; 2 bad usage or configuration; otherwise the CLI's exit code
# (3 authentication, 5 not found, 8 some files failed to upload, 9 the package job failed,
# 10 timed out; see `qfieldcloud-cli --help`).
#
# Never call `qfieldcloud-cli logout` in CI: the server would revoke every token of the user.
set -u

fail() {
  code=$1
  shift
  echo "qfieldcloud-package: $*" >&2
  exit "$code"
}

[ "$#" -le 2 ] || fail 2 "usage: qfieldcloud-package.sh [<project id> [<project folder>]]"
project_id=${1:-${QFIELDCLOUD_PROJECT_ID:-}}
project_dir=${2:-${QFIELDCLOUD_PROJECT_DIR:-.}}
cli=${QFIELDCLOUD_CLI:-qfieldcloud-cli}
timeout_minutes=${PACKAGE_TIMEOUT_MINUTES:-20}
poll_seconds=${PACKAGE_POLL_SECONDS:-5}

[ -n "${QFIELDCLOUD_URL:-}" ] || fail 2 "set QFIELDCLOUD_URL (e.g. https://app.qfield.cloud/api/v1/)"
[ -n "${QFIELDCLOUD_TOKEN:-}" ] || fail 2 "set QFIELDCLOUD_TOKEN (a CI secret holding an API token)"
[ -n "$project_id" ] || fail 2 "give the project id as the first argument or in QFIELDCLOUD_PROJECT_ID"
[ -d "$project_dir" ] || fail 2 "project folder \"$project_dir\" does not exist"
case $timeout_minutes in
  '' | *[!0-9]*) fail 2 "PACKAGE_TIMEOUT_MINUTES=\"$timeout_minutes\" is not a whole number" ;;
esac
case $poll_seconds in
  '' | .* | *.*.* | *[!0-9.]*) fail 2 "PACKAGE_POLL_SECONDS=\"$poll_seconds\" is not a number of seconds" ;;
esac

export QFIELDCLOUD_URL QFIELDCLOUD_TOKEN

echo "Uploading \"$project_dir\" to project $project_id (unchanged files are skipped)"
# $cli is split on purpose, so that QFIELDCLOUD_CLI may hold a command with arguments.
# shellcheck disable=SC2086
$cli upload-files "$project_id" "$project_dir" ||
  fail $? "uploading \"$project_dir\" failed (see above)"

echo "Packaging project $project_id (waiting up to $timeout_minutes min)"
# shellcheck disable=SC2086
$cli job-trigger "$project_id" package --wait \
  --timeout "$((timeout_minutes * 60))" --interval "$poll_seconds" ||
  fail $? "packaging project $project_id failed (see above)"

echo "Project $project_id is packaged"
