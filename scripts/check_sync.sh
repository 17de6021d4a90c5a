#!/usr/bin/env bash
# Fails if the notebooks are not clean (nbdev_clean) or netsim/ is out of sync with nbs/ (nbdev_export):
# both commands must leave every file as it was.
set -euo pipefail
sum() { find nbs netsim README.md -type f \( -name '*.ipynb' -o -name '*.py' -o -name '*.md' \) -not -path '*/.ipynb_checkpoints/*' -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha1sum; }
before=$(sum)
.venv/bin/nbdev_clean >/dev/null
.venv/bin/nbdev_export >/dev/null
.venv/bin/python scripts/make_readme.py >/dev/null
.venv/bin/python -c 'from netsim.sweep import sync_packaged_notebook as s; s()'   # the sweep notebook shipped in the package
after=$(sum)
if [ "$before" != "$after" ]; then
  echo "netsim: nbdev_clean / nbdev_export / make_readme changed these files (commit the result):" >&2
  diff <(echo "$before") <(echo "$after") | grep '^>' | awk '{print "  " $3}' >&2
  exit 1
fi
echo "notebooks clean and netsim/ in sync with nbs/"
