#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# checkpatch.pl --strict over src/ and include/. Debian's headers do not
# ship checkpatch.pl, so it comes from the linux-source tarball, extracted
# once into the cache.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${MKVM_CACHE:-/var/cache/mkvm}/checkpatch
tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1)
[ -n "$tarball" ] || { echo "checkpatch: no /usr/src/linux-source-*.tar.xz (tests/vm/deps.sh installs it)" >&2; exit 1; }
if [ ! -x "$cache/scripts/checkpatch.pl" ]; then
	mkdir -p "$cache"
	tar -C "$cache" --strip-components=1 -xf "$tarball" --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
fi
cd "$top"
files=$(find src include -name '*.[ch]' | sort)
# --no-tree: this is not a kernel tree. C99 comments are fine in .c SPDX lines.
"$cache/scripts/checkpatch.pl" --no-tree --strict --quiet --show-types \
	--ignore FILE_PATH_CHANGES -f $files
echo "checkpatch: clean ($(echo "$files" | wc -l) files)"
