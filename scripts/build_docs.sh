#!/usr/bin/env bash
# Builds the docs site offline into _site/ (open _site/index.html; works from disk, no network, no CDN):
#   1. MathJax 3 from the npm registry into _build/docs/npm (once; cached), served from _site/mathjax/
#   2. docs/nb2sphinx.py: nbdev's notebook processing (show_doc, doc links) + chapter list from _quarto.yml
#   3. Sphinx + MyST-NB + sphinx-book-theme, warnings are errors (-W --keep-going); -E: every page is re-read each
#      time, so a warning is reported on every build, not only on the one after its notebook changed
# Options: --force  rebuild even if no input changed since the last good build
#          --check  also open every page in headless Chromium (docs/check_site.py; screenshots in artifacts/docs/)
#          --quarto also run nbdev_docs (Quarto site in _docs/) when `quarto` is on PATH
# Env: DOCS_OUT (default _site), PY (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${DOCS_OUT:-_site}
B=_build/docs
check=0; quarto=0; force=0
for a in "$@"; do case $a in --check) check=1;; --quarto) quarto=1;; --force) force=1;;
  *) echo "build_docs.sh: unknown option $a" >&2; exit 2;; esac; done
mkdir -p $B
exec 9>$B/.lock
flock 9   # one build at a time (make docs and the docs test may run together)
t0=$(date +%s)
# Up to date? Every input of the site: the site definition, notebooks, package source (show_doc), this build, the report.
inputs() { { echo "$OUT"; cat _quarto.yml settings.ini;
  { find nbs docs netsim scripts/build_docs.sh runs/report.html runs/report.md -type f -not -path '*/__pycache__/*' \
    -not -path '*/.ipynb_checkpoints/*' -print0 2>/dev/null || true; } | sort -z | xargs -0 sha1sum; } | sha1sum | cut -c1-40; }
stamp=$(inputs)
if [ $force = 0 ] && [ -f "$OUT/index.html" ] && [ "$(cat $B/.stamp 2>/dev/null)" = "$stamp" ]; then
  echo "build_docs.sh: $OUT/ is up to date (0 warnings; --force rebuilds)"
else
rm -f $B/.stamp

MJ_VERSION=3.2.2
mj=$B/npm/node_modules/mathjax
if [ ! -f $mj/es5/tex-mml-chtml.js ] || ! grep -q "\"version\": \"$MJ_VERSION\"" $mj/package.json; then
  command -v npm >/dev/null || { echo "build_docs.sh: npm is needed once to fetch MathJax (apt-get install npm)" >&2; exit 1; }
  echo "build_docs.sh: installing mathjax@$MJ_VERSION from the npm registry into $B/npm"
  npm install --silent --no-audit --no-fund --no-save --prefix $B/npm "mathjax@$MJ_VERSION" 2>&1 | grep -v 'Unknown user config' >&2 || true
  test -f $mj/es5/tex-mml-chtml.js || { echo "build_docs.sh: npm install mathjax@$MJ_VERSION failed" >&2; exit 1; }
fi
# only what tex-mml-chtml needs: the component, TeX extensions it autoloads, CHTML fonts, menu and accessibility
ex=$B/extra/mathjax
if [ ! -f $ex/.v$MJ_VERSION ]; then
  rm -rf $ex; mkdir -p $ex/output
  cp -r $mj/es5/tex-mml-chtml.js $mj/es5/input $mj/es5/ui $mj/es5/a11y $mj/es5/sre $mj/es5/adaptors $ex/
  cp -r $mj/es5/output/chtml $ex/output/
  cp $mj/LICENSE $ex/ 2>/dev/null || true
  touch $ex/.v$MJ_VERSION
fi

# Sphinx writes into $B/html (MyST-NB puts a jupyter_execute/ folder beside its output folder), then $OUT is replaced.
html=$B/html
rc=0; MPLBACKEND=Agg $PY docs/nb2sphinx.py --src $B/src --out $html || rc=$?
[ $rc = 0 ] || [ $rc = 2 ] || exit $rc   # 2: some notebooks could not be processed; build the rest, then fail
log=$B/sphinx.log
if ! $PY -m sphinx -b html -E -W --keep-going -q -c docs -d $B/doctrees $B/src $html 2>$log; then
  $PY docs/nb2sphinx.py --src $B/src --explain $log >&2 || cat $log >&2
  echo "build_docs.sh: Sphinx reported $(grep -c 'WARNING\|ERROR' $log) warning(s)/error(s) (treated as errors)" >&2
  exit 1
fi
if [ -s $log ]; then cat $log >&2; echo "build_docs.sh: Sphinx wrote to stderr (see above)" >&2; exit 1; fi
rm -rf "$OUT.new"; cp -a $html "$OUT.new"; rm -rf "$OUT"; mv "$OUT.new" "$OUT"
if [ $rc = 2 ]; then echo "build_docs.sh: built $OUT/ WITHOUT the notebooks named above (errors); failing" >&2; exit 1; fi
echo "$stamp" > $B/.stamp
echo "build_docs.sh: built $OUT/index.html ($(find $B/src -name "*.ipynb" -o -name "*.md" | wc -l) pages, 0 warnings) in $(( $(date +%s) - t0 ))s"
fi

if [ $check = 1 ]; then $PY docs/check_site.py "$OUT" --shots artifacts/docs; fi
if [ $quarto = 1 ]; then
  if command -v quarto >/dev/null; then .venv/bin/nbdev_docs; else echo "build_docs.sh: quarto is not on PATH; skipped nbdev_docs" >&2; fi
fi
