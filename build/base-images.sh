#!/usr/bin/env bash
# Makes, on this machine, the base image the Dockerfile names — debian:bookworm-slim — because no image
# registry is reachable here. A stand-in built from Debian's own archive: `debootstrap --variant=minbase
# bookworm` from the apt mirror this machine uses, trimmed like the official slim image (no docs, man
# pages, locales, apt lists), then `podman import`ed under the official name, so the Dockerfile is the
# same one you would build anywhere else. Runs as root (debootstrap, podman).
#
# The trimmed root filesystem is cached as a tarball in .cache/base-images/ (gitignored, dockerignored):
# the first run takes a minute or two, later runs only re-import it when the image is missing.
#   build/base-images.sh            make the image unless it exists
#   REBUILD=1 build/base-images.sh  debootstrap again and re-import
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=docker.io/library/debian:bookworm-slim
CACHE=.cache/base-images
TARBALL="$CACHE/debian-bookworm-slim.tar"

# The mirror apt uses here (first URIs: line of a deb822 source, else the first deb line), so the
# download goes where this machine is allowed to go.
mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security | head -1 | awk '{print $2}' || true)
  [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list | grep -v security | head -1 | awk '{print $2}' || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

for tool in debootstrap podman; do
  command -v "$tool" >/dev/null || { echo "base-images: $tool is missing (apt-get install -y $tool)" >&2; exit 1; }
done

if [ -n "${REBUILD:-}" ]; then rm -f "$TARBALL"; podman rmi -f "$IMAGE" >/dev/null 2>&1 || true; fi
if [ -z "${REBUILD:-}" ] && podman image exists "$IMAGE"; then
  echo "base-images: $IMAGE exists"
  exit 0
fi

if [ ! -f "$TARBALL" ]; then
  mkdir -p "$CACHE"
  root="$CACHE/rootfs"
  rm -rf "$root"
  echo "base-images: debootstrap --variant=minbase bookworm from $(mirror) (a minute or two)"
  debootstrap --variant=minbase bookworm "$root" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  # What Debian's slim images drop: documentation, manuals, translations, package lists, caches, logs.
  rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
    "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old "$root"/var/log/* "$root"/tmp/*
  tar -C "$root" --numeric-owner -cf "$TARBALL.part" .
  mv "$TARBALL.part" "$TARBALL"
  rm -rf "$root"
fi

podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' \
  --message "debootstrap --variant=minbase bookworm, slimmed (build/base-images.sh)" \
  "$TARBALL" "$IMAGE" >/dev/null
echo "base-images: $IMAGE imported ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
