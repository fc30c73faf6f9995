#!/bin/sh
# Server side of the `deploy` job: `remote.sh COMMIT_SHA IMAGE`, or as the forced command
# of the deploy key (authorized_keys: command="/opt/ragapp/repo/examples/deploy/remote.sh"),
# which reads the two words from $SSH_ORIGINAL_COMMAND. Both are validated before use:
# the key can deploy a commit's image and nothing else.
set -eu
if [ "$#" -eq 0 ] && [ -n "${SSH_ORIGINAL_COMMAND:-}" ]; then
    # shellcheck disable=SC2086  # split the two words on purpose; validated just below
    set -- $SSH_ORIGINAL_COMMAND
fi
[ "$#" -eq 2 ] || { echo "usage: remote.sh COMMIT_SHA IMAGE" >&2; exit 2; }
sha=$1
image=$2
printf '%s' "$sha" | grep -Eq '^[0-9a-f]{40}$' || { echo "remote.sh: bad commit SHA" >&2; exit 2; }
printf '%s' "$image" | grep -Eq "^ghcr\.io/[a-z0-9._/-]+:$sha\$" || { echo "remote.sh: bad image" >&2; exit 2; }

root=${RAGAPP_ROOT:-/opt/ragapp}
git -C "$root/repo" fetch --quiet origin "$sha"
git -C "$root/repo" checkout --quiet --detach "$sha"
docker pull --quiet "$image" >/dev/null
canary=""
[ "${RAGAPP_CANARY:-0}" = "1" ] && canary="--canary"
# shellcheck disable=SC2086  # $canary is empty or one flag
exec "$root/venv/bin/python" "$root/repo/examples/deploy/bluegreen.py" deploy \
    --state "$root/state" --image "$image" --grace "${RAGAPP_GRACE_S:-60}" $canary
