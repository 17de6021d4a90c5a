# Sphinx configuration of the offline docs site (built by scripts/build_docs.sh, never needs the network).
# Title, description and chapter order come from the top-level _quarto.yml (docs/nb2sphinx.py turns it into the
# landing page's toctree), so Quarto/nbdev_docs and this build read one definition of the site.
import configparser, sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS))
from nb2sphinx import read_site, BUILD

_site = read_site(ROOT/'_quarto.yml', ROOT/'nbs')
_ini = configparser.ConfigParser(); _ini.read(ROOT/'settings.ini')
_cfg = _ini['DEFAULT']

project = _site['title']
author = _cfg.get('author', '')
copyright = _cfg.get('copyright', '')
release = version = _cfg.get('version', '')
html_title = _site['title']

extensions = ['myst_nb']
root_doc = 'index'
exclude_patterns = ['_build', '**.ipynb_checkpoints']
templates_path = ['_templates']
html_static_path = ['_static']
html_css_files = ['netsim.css']
# MathJax 3 is served from the site itself (installed from npm by build_docs.sh into _build/docs/extra/mathjax, copied
# to <site>/mathjax/): no CDN. Sphinx resolves this path against _static/, hence the '../'. Not in _static on purpose:
# Sphinx would add every .js found there to every page.
html_extra_path = [str(BUILD/'extra')]
mathjax_path = '../mathjax/tex-mml-chtml.js'

# MyST / MyST-NB: notebooks are committed with their outputs, so nothing is executed here.
nb_execution_mode = 'off'
nb_render_markdown_format = 'myst'        # markdown outputs get math and links like markdown cells
nb_ipywidgets_js = {}                     # would pull require.js and the widget manager from a CDN
myst_enable_extensions = ['dollarmath', 'amsmath', 'colon_fence', 'html_image', 'attrs_inline']
myst_dmath_double_inline = True
myst_heading_anchors = 4                  # `[x](page.ipynb#make_model)` links (nbdev doc links) resolve to sections
myst_title_to_header = True
# show_doc sections are level-3 headings that may follow the title directly; that is fine in a page.
suppress_warnings = ['myst.header']

html_theme = 'sphinx_book_theme'
html_theme_options = {
    'home_page_in_toc': True,
    'show_toc_level': 2,
    'use_download_button': False,
    'use_fullscreen_button': False,
    'navigation_with_keys': False,
    'search_bar_text': 'Search the book...',
}
html_context = {'default_mode': 'light'}   # also what the screenshots show; readers can switch
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
pygments_style = 'sphinx'

# Notebooks in nbs/ that _quarto.yml's sidebar does not list are built (as Quarto would) but are not chapters of the
# book: mark them orphan so Sphinx does not warn that they are in no toctree. nb2sphinx.py names them in site.json.
import json
_pages = json.loads((BUILD/'site.json').read_text())['pages'] if (BUILD/'site.json').exists() else []
_orphans = {p['docname'] for p in _pages if not p.get('listed', True)}

def _mark_orphans(app, doctree):
    if app.env.docname in _orphans: app.env.metadata[app.env.docname]['orphan'] = True

def setup(app):
    app.connect('doctree-read', _mark_orphans, priority=900)
