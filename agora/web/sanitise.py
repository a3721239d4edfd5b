"""The one step that turns text from anyone (students, models, persona files, imported cards) into
HTML the page shows: an allow-list of harmless tags and attributes, applied by ``nh3`` (the Python
binding of ammonia, a maintained sanitiser) on the server, before anything reaches a browser.

Markdown still works: it is text to a sanitiser.  Scripts, event handlers, ``style``, forms, SVG,
MathML, frames and every URL scheme but http(s) and mailto are dropped; what a markdown link could
still aim at ``javascript:`` after entities are decoded is defused by name.  Gradio's own cleaning
in the browser stays on behind this.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set

import nh3

TAGS: Set[str] = frozenset({
    "a", "b", "i", "em", "strong", "u", "s", "del", "ins", "mark", "small", "sub", "sup", "kbd", "code", "pre",
    "br", "hr", "p", "span", "div", "blockquote", "ul", "ol", "li", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
})
ATTRIBUTES: Mapping[str, Set[str]] = {"a": frozenset({"href", "title"}), "td": frozenset({"colspan", "rowspan"}),
                                      "th": frozenset({"colspan", "rowspan"})}
SCHEMES: Set[str] = frozenset({"http", "https", "mailto"})
#: Agora's own classes, for the HTML it builds itself (the persona card).
CLASSES: Mapping[str, Set[str]] = {"div": frozenset({"agora-card", "agora-name", "agora-tagline"}),
                                   "span": frozenset({"agora-avatar", "agora-dates"})}

_GAP = r"[\s\x00-\x1f]*"  # what URL parsers skip inside a scheme
_SCRIPT_SCHEME = re.compile("(" + _GAP.join("javascript") + "|" + _GAP.join("vbscript") + ")" + _GAP + ":",
                            re.IGNORECASE)


def safe_html(text: str, *, classes: Mapping[str, Set[str]] | None = None) -> str:
    """``text`` with only allow-listed HTML left in it (markdown untouched)."""
    if not text:
        return text
    cleaned = nh3.clean(text, tags=set(TAGS), attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                        url_schemes=set(SCHEMES), link_rel="noopener noreferrer nofollow", strip_comments=True,
                        allowed_classes={k: set(v) for k, v in (classes or {}).items()} or None)
    # A lone '>' cannot open markup, and markdown needs it for quotes; '<' and '&' stay escaped.
    cleaned = cleaned.replace("&gt;", ">")
    return _SCRIPT_SCHEME.sub(lambda m: re.sub(r"[\s\x00-\x1f]", "", m.group(1)) + "\ua789", cleaned)
