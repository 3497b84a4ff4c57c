#!/usr/bin/env bash
# Run docker/Dockerfile's build for one app without a Docker engine: the same turbo prune, frozen
# install, turbo build and pnpm deploy, in a scratch directory. Checks a change to the build (a new
# root file the build reads, a dependency that must stay external) before an image is built.
#
#   bash docker/build-without-docker.sh <api|worker|mcp|cli|web> [out-dir]
#   PLUGINS=@calseta-community/crowdstrike-falcon bash docker/build-without-docker.sh api   (--build-arg PLUGINS)
#   node <out-dir>/deploy/dist/main.js      # what the image runs (web: <out-dir>/work/apps/web/dist)
set -euo pipefail
APP=${1:?usage: docker/build-without-docker.sh <api|worker|mcp|cli|web> [out-dir]}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${2:-$(mktemp -d -t calseta-image-XXXXXX)}
PNPM=$(command -v pnpm || echo "$ROOT/.tools/node_modules/.bin/pnpm")
# turbo looks for the package manager on PATH.
PATH="$(dirname "$PNPM"):$PATH"
export CI=true TURBO_TELEMETRY_DISABLED=1
rm -rf "$OUT/pruned" "$OUT/work" "$OUT/deploy"
mkdir -p "$OUT/work"

# prune stage
PLUGIN_LIST=$(echo "${PLUGINS:-}" | tr , " ")
# shellcheck disable=SC2086 # one word per plugin
(cd "$ROOT" && "$ROOT/node_modules/.bin/turbo" prune "@calseta/${APP}" $PLUGIN_LIST --docker --out-dir "$OUT/pruned" >/dev/null)
# build stage: manifests, install, sources, root files, build, deploy
cp -r "$OUT/pruned/json/." "$OUT/work/"
cd "$OUT/work"
"$PNPM" install --frozen-lockfile --prefer-offline >"$OUT/install.log" || { tail -20 "$OUT/install.log"; exit 1; }
cp -r "$OUT/pruned/full/." "$OUT/work/"
cp "$ROOT/tsconfig.base.json" ./
mkdir -p scripts docker && cp "$ROOT/scripts/build-app.mjs" scripts/ && cp "$ROOT/docker/add-plugins.sh" docker/
# shellcheck disable=SC2046
"$PNPM" turbo run build --filter="@calseta/${APP}" $(for p in $PLUGIN_LIST; do echo "--filter=$p"; done) --output-logs=errors-only
if [ "$APP" != web ]; then
  "$PNPM" --filter="@calseta/${APP}" deploy --prod --legacy "$OUT/deploy" >"$OUT/deploy.log"
  PNPM="$PNPM" bash docker/add-plugins.sh "$OUT/deploy" "${PLUGINS:-}"
  echo "built: $OUT/deploy (node dist/main.js; node_modules $(du -sh "$OUT/deploy/node_modules" | cut -f1))"
else
  echo "built: $OUT/work/apps/web/dist"
fi
