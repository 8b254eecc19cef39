#!/usr/bin/env bash
# Build the three images (api, app, mlflow) from the repo's Dockerfiles, reusing Docker's layer cache.
# BASE_IMAGE defaults to a local stand-in for python:3.11-slim-bookworm made by build_base_image.sh
# (Docker Hub may be out of reach); BASE_IMAGE=python:3.11-slim-bookworm builds what Render builds.
# Tags: credit-scoring-<service>:${IMAGE_TAG:-local}. Logs: ${IMAGE_LOG_DIR:-/tmp}/image-build-<service>.log
# Classic builder and host network: BuildKit's frontend image and a bridge network are not needed.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE="${BASE_IMAGE:-credit-scoring-base:bookworm}"
IMAGE_TAG="${IMAGE_TAG:-local}"
LOG_DIR="${IMAGE_LOG_DIR:-/tmp}"
SERVICES=("$@")
[ ${#SERVICES[@]} -gt 0 ] || SERVICES=(api app mlflow)

case "$BASE_IMAGE" in
    credit-scoring-base:*) bash scripts/build_base_image.sh "$BASE_IMAGE" ;;
esac

mkdir -p "$LOG_DIR"
pids=()
for service in "${SERVICES[@]}"; do
    DOCKER_BUILDKIT=0 docker build --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" \
        -f "Dockerfile.$service" -t "credit-scoring-$service:$IMAGE_TAG" . \
        >"$LOG_DIR/image-build-$service.log" 2>&1 &
    pids+=($!)
done
failed=0
for i in "${!SERVICES[@]}"; do
    service=${SERVICES[$i]}
    if wait "${pids[$i]}"; then
        echo "built credit-scoring-$service:$IMAGE_TAG ($(docker image inspect -f '{{.Size}}' "credit-scoring-$service:$IMAGE_TAG" | awk '{printf "%d MB", $1/1e6}'))"
    else
        echo "building $service failed; the end of $LOG_DIR/image-build-$service.log:" >&2
        tail -n 30 "$LOG_DIR/image-build-$service.log" >&2
        failed=1
    fi
done
exit $failed
