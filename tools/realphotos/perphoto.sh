#!/bin/sh
# Scores a model on each photograph of the real-photo folder separately
# (its 64 crops), next to bilinear upscaling: one line per photograph,
#   name  model-PSNR  bilinear-PSNR  difference   (dB, RGB)
# then the mean of the differences (= the folder's PSNR minus bilinear's,
# since `vgfq eval --batches 0` averages the photographs' PSNR).
#
#   tools/realphotos/perphoto.sh FOLDER RUN
#
# FOLDER is what build.sh wrote; RUN anything `vgfq eval --model` takes.
# The vgfq binary is $VGFQ (default: `vgfq` on PATH). Needs python3 to read
# the JSON.
set -eu
folder=$(cd "$1" && pwd)
run=$2
vgfq=${VGFQ:-vgfq}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in "$folder"/train/*.png; do
	b=$(basename "$f" .png)
	mkdir -p "$work/$b/train" "$work/$b/test"
	ln -s "$f" "$work/$b/train/"
	ln -s "$folder"/test/"$b"_*.png "$work/$b/test/"
	"$vgfq" eval --model "$run" --data "$work/$b" --batches 0 --json --grid "" --no-ssim 2>/dev/null |
		python3 -c 'import json,sys; j=json.load(sys.stdin); print("%-14s %6.2f %6.2f %+6.2f" % (sys.argv[1], j["psnr"], j["baseline_psnr"], j["psnr"]-j["baseline_psnr"]))' "$b"
done | tee "$work/out"
awk '{s+=$4; n++} END {printf "mean difference %+.2f dB over %d photographs\n", s/n, n}' "$work/out"
