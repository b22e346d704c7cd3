#!/bin/sh
# Builds the GCIDE corpus of `scion experiment --preset papers-cpu|papers-gpu` (docs/experiments.md).
#
# Source: Debian's `dict-gcide` 0.48.5+nmu2 (the GNU Collaborative International Dictionary of
# English, from Webster's 1913 and WordNet), license GPL-2-or-later (the package's
# /usr/share/doc/dict-gcide/copyright). The .deb is pinned by its SHA-256; it is fetched with
# `apt-get download` (no root needed) unless a copy is given, then unpacked with `dpkg -x`.
#
# Output (in OUT, default ./corpus/gcide): gcide.txt, every line of the dictionary with its
# indentation and trailing blanks removed and blank lines dropped: 34,902,197 bytes, pure ASCII.
# The presets train on it as bytes (vocab 256, one token per byte): 34.9M tokens, so a run
# reads fresh tokens throughout (`--sampler sequential`), and the source's training window,
# the target runs' window and the validation split never overlap (see the presets).
#
# usage: scripts/make-corpus.sh [OUT] [path/to/dict-gcide_0.48.5+nmu2_all.deb]
set -eu
OUT=${1:-corpus/gcide}
DEB=${2:-}
SHA=7b0af5cfde3cbdef5e9d6e78f92ec335ced7c2790f37a40f49bebc6f7347ac0f
BYTES=34902197
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ -z "$DEB" ]; then
  (cd "$WORK" && apt-get download dict-gcide=0.48.5+nmu2 >/dev/null 2>&1) || {
    echo "make-corpus: 'apt-get download dict-gcide=0.48.5+nmu2' failed (needs a Debian/Ubuntu apt source); pass the .deb as the second argument" >&2
    exit 1
  }
  DEB=$(ls "$WORK"/dict-gcide_*.deb)
fi
echo "$SHA  $DEB" | sha256sum -c --quiet - || {
  echo "make-corpus: $DEB is not dict-gcide 0.48.5+nmu2 (SHA-256 differs)" >&2
  exit 1
}
dpkg -x "$DEB" "$WORK/x"
cp "$WORK/x/usr/share/doc/dict-gcide/copyright" "$OUT/COPYRIGHT"
zcat "$WORK/x/usr/share/dictd/gcide.dict.dz" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' | grep -v '^$' >"$WORK/gcide.txt"
GOT=$(wc -c <"$WORK/gcide.txt")
if [ "$GOT" -ne "$BYTES" ]; then
  echo "make-corpus: built $GOT bytes, expected $BYTES (sed/grep differ?)" >&2
  exit 1
fi
mv "$WORK/gcide.txt" "$OUT/gcide.txt"
echo "$OUT/gcide.txt: $GOT bytes (= tokens as bytes), license GPL-2-or-later ($OUT/COPYRIGHT)"
