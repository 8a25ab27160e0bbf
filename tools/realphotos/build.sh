#!/bin/sh
# Rebuilds the real-photo evaluation folder of issue 13 (kept out of the
# repository): 28 photographs from three Debian 12 (bookworm) packages,
# reduced to a short side of 400-799 px, 64 evenly spread 32x32 crops each
# (1792 crops). See main.go for the protocol and the manifest (with the
# SHA-256 of every source file, so a different package version is an
# error, not a silently different folder).
#
#   tools/realphotos/build.sh [FOLDER]      (default: ./realphotos)
#   vgfq eval --model RUN --data FOLDER --batches 0
#
# Needs apt-get (no root: `apt-get download` only fetches the .deb files)
# and dpkg-deb; nothing is installed.
#
# Packages and licences of the photographs used:
#   python3-skimage 0.19.3-8 (scikit-image sample data): astronaut (NASA,
#     public domain), chelsea (CC0), coffee (CC0), rocket (SpaceX, public
#     domain), motorcycle_left (Middlebury 2014 stereo data set)
#   mate-backgrounds 1.26.0-1 (nature/): 12 photographs, GPL-2+
#   plasma-workspace-wallpapers 4:5.27.5-2: 11 photographs, LGPL-3
# Per-file authors and licences: FOLDER/SOURCES.tsv.
set -eu
out=${1:-realphotos}
mkdir -p "$out"
out=$(cd "$out" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/src"
chmod 755 "$work" "$work/debs" # apt's _apt user writes the downloads
cd "$work/debs"
for p in python3-skimage mate-backgrounds plasma-workspace-wallpapers; do
	apt-get download "$p" >/dev/null
	dpkg-deb -x "$p"_*.deb "$work/src/$p"
done
cd "$here/../.."
go run ./tools/realphotos -src "$work/src" -out "$out"
