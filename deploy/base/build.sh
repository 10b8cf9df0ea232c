#!/usr/bin/env bash
# Makes finlake's one base image, finlake/base:bookworm: a Debian bookworm
# minbase root file system (what debian:bookworm-slim is made of) built by
# debootstrap from a Debian mirror, imported with `docker import`. Every
# Dockerfile in deploy/ starts FROM it, so no image registry is needed.
# Idempotent: an existing image is kept (FINLAKE_BASE_REBUILD=1 rebuilds).
#
# Where debootstrap cannot run (macOS, or Linux without root), the script
# takes debian:bookworm-slim from Docker Hub instead and tags it with the
# same name: the same Debian release and variant, so the images build the
# same; set FINLAKE_BASE_PULL to pin it by digest
# (debian:bookworm-slim@sha256:...).
#
#   FINLAKE_BASE_IMAGE    the image name (finlake/base:bookworm)
#   FINLAKE_DEBIAN_MIRROR the mirror (the one of /etc/apt/sources.list.d, else http://deb.debian.org/debian)
set -euo pipefail

image=${FINLAKE_BASE_IMAGE:-finlake/base:bookworm}
suite=bookworm

if [ -z "${FINLAKE_BASE_REBUILD:-}" ] && docker image inspect "$image" >/dev/null 2>&1; then
    echo "base image $image is present ($(docker image inspect -f '{{.Id}}' "$image"))"
    exit 0
fi

# The machine's own Debian mirror, so a network that reaches only its mirror works.
mirror=${FINLAKE_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

if [ "$(uname -s)" != Linux ] || [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null; then
    from=${FINLAKE_BASE_PULL:-debian:bookworm-slim}
    echo "debootstrap needs Linux, root and the debootstrap package; taking $from instead" >&2
    docker pull "$from"
    docker tag "$from" "$image"
    exit 0
fi

old=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
root=$(mktemp -d "${TMPDIR:-/tmp}/finlake-base.XXXXXX")
trap 'rm -rf "$root"' EXIT
echo "debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 || {
    tail -20 "$root.log" >&2
    echo "debootstrap failed (log above); set FINLAKE_DEBIAN_MIRROR to a reachable Debian mirror" >&2
    exit 1
}
rm -f "$root.log"
# What the slim image trims: apt's lists and caches (a Dockerfile's apt-get
# update fetches fresh lists), documentation, and the machine's identity.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/tmp/*
# Packages such as openjdk-17 link their man pages into man1 in postinst.
mkdir -p "$root"/usr/share/man/man1
: >"$root/etc/machine-id"
# apt inside builds: no recommends, no docs, no interactive questions.
cat >"$root/etc/apt/apt.conf.d/90finlake" <<'CONF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Retries "3";
Acquire::Languages "none";
CONF
cat >"$root/etc/dpkg/dpkg.cfg.d/90finlake-nodoc" <<'CONF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
CONF
printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$suite" "$mirror" "$suite" >"$root/etc/apt/sources.list"
# Sorted names and fixed owners make the tar stream depend on the files only.
tar --numeric-owner --sort=name -C "$root" -c . |
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' \
        - "$image" >/dev/null
# A rebuild leaves the old image untagged; Engine 20.10's BuildKit was seen to keep resolving the name to
# it while it exists, so it goes.
if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
    docker image rm "$old" >/dev/null 2>&1 || true
fi
echo "base image $image: $(docker image inspect -f '{{.Id}} {{.Size}}' "$image")"
