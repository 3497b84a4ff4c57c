#!/usr/bin/env bash
# Put the community plugins CALSETA_PLUGINS will name into an app's deployment: each package as it
# would be published (`pnpm pack`: package.json + the self-contained dist bundle, no sources), in
# <deploy-dir>/node_modules/<name>, where the app's `import(name)` finds it. Run from the workspace
# root after `turbo run build` built the plugins (docker/Dockerfile's build stage does both).
#
#   bash docker/add-plugins.sh <deploy-dir> "@calseta-community/crowdstrike-falcon,@calseta-community/greynoise"
set -euo pipefail
DEPLOY=${1:?usage: docker/add-plugins.sh <deploy-dir> <plugin names, comma- or space-separated>}
PLUGINS=${2:-}
PNPM=${PNPM:-pnpm}
PACKS=$(mktemp -d)
trap 'rm -rf "$PACKS"' EXIT
for name in ${PLUGINS//,/ }; do
  dir=$("$PNPM" --filter "$name" exec pwd 2>/dev/null || true)
  if [ ! -f "$dir/package.json" ]; then
    echo "add-plugins: no workspace package named $name" >&2
    exit 1
  fi
  [ -f "$dir/dist/index.js" ] || { echo "add-plugins: $name is not built ($dir/dist/index.js)" >&2; exit 1; }
  rm -f "$PACKS"/*.tgz
  (cd "$dir" && "$PNPM" pack --pack-destination "$PACKS" >/dev/null)
  mkdir -p "$DEPLOY/node_modules/$name"
  tar -xzf "$PACKS"/*.tgz -C "$DEPLOY/node_modules/$name" --strip-components=1
  echo "add-plugins: $name -> $DEPLOY/node_modules/$name"
done
