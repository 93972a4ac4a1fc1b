#!/usr/bin/env bash
# Real PDFs for the ingest benchmark, from Debian's archive (no other network needed):
# the R manuals (r-doc-pdf) and the LaTeX publishers' documentation (texlive-publishers-doc).
set -euo pipefail
dest=${1:-bench-data}
mkdir -p "$dest/debs"
cd "$dest/debs"
for pkg in r-doc-pdf texlive-publishers-doc; do
  ls ${pkg}_*.deb >/dev/null 2>&1 || apt-get download "$pkg"
done
cd ..
for deb in debs/*.deb; do
  name=$(basename "$deb" | cut -d_ -f1)
  [ -d "$name" ] || dpkg -x "$deb" "$name"
done
find . -name '*.pdf' | wc -l | xargs echo "PDF files:"
