"""A deliberately small Markdown subset for problem statements, escaped first.

Statements come from the repository, but they are still rendered as if hostile: every
character is HTML-escaped before the few constructs we support (headings, paragraphs,
fenced code, inline code, bold) are turned into tags. No raw HTML, no links, no images.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_INLINE_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def _inline(text: str) -> str:
    html = str(escape(text))
    html = _INLINE_CODE.sub(r"<code>\1</code>", html)
    return _BOLD.sub(r"<strong>\1</strong>", html)


def render_statement(source: str) -> Markup:
    blocks: list[str] = []
    paragraph: list[str] = []
    code: list[str] | None = None

    def flush() -> None:
        if paragraph:
            blocks.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()

    for line in source.splitlines():
        if code is not None:
            if line.strip().startswith("```"):
                blocks.append(f"<pre><code>{escape(chr(10).join(code))}</code></pre>")
                code = None
            else:
                code.append(line)
            continue
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            code = []
        elif match := re.match(r"^(#{1,4})\s+(.*)$", stripped):
            flush()
            level = min(len(match.group(1)) + 1, 5)  # the page title is the h1
            blocks.append(f"<h{level}>{_inline(match.group(2))}</h{level}>")
        elif not stripped:
            flush()
        else:
            paragraph.append(stripped)
    flush()
    if code is not None:
        blocks.append(f"<pre><code>{escape(chr(10).join(code))}</code></pre>")
    return Markup("\n".join(blocks))  # noqa: S704  (built only from escaped text and our own tags)
