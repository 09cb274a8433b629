// Markdown for run notes, rendered safely: the text is parsed into DOM nodes built with
// createElement and textContent, never innerHTML, so raw HTML in a note ("<img onerror=...>")
// is shown as text and cannot run. Links keep only http(s), mailto and relative targets
// ("javascript:" and "data:" links become plain text). A deliberate subset: headings,
// paragraphs, lists, quotes, fenced code, inline code, bold, italics, links.

const SAFE_LINK = /^(https?:\/\/|mailto:|\/|\.\/|\.\.\/|#|\?)/i;

/** Whether a link target may become an <a href> (exported for tests). */
export function safeHref(target) {
  const href = String(target).trim();
  if (SAFE_LINK.test(href)) return true;
  // A relative path without a scheme ("runs/abc"): no ":" before the first "/", "?" or "#".
  return !/^[^/?#]*:/.test(href) && href.length > 0;
}

const INLINE = /(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|\[([^\]]+)\]\(([^)\s]+)\)/;

function inline(text) {
  const out = [];
  let rest = text;
  while (rest) {
    const m = INLINE.exec(rest);
    if (!m) { out.push(document.createTextNode(rest)); break; }
    if (m.index) out.push(document.createTextNode(rest.slice(0, m.index)));
    if (m[1]) out.push(wrap("code", [document.createTextNode(m[2])]));
    else if (m[3] || m[4]) out.push(wrap("strong", inline(m[3] || m[4])));
    else if (m[5] || m[6]) out.push(wrap("em", inline(m[5] || m[6])));
    else if (m[7]) {
      if (safeHref(m[8])) {
        const a = wrap("a", inline(m[7]));
        a.setAttribute("href", m[8]);
        a.setAttribute("rel", "noopener noreferrer nofollow");
        a.setAttribute("target", "_blank");
        out.push(a);
      } else {
        out.push(document.createTextNode(m[0]));
      }
    }
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

function wrap(tag, children) {
  const node = document.createElement(tag);
  for (const child of children) node.append(child);
  return node;
}

function paragraphLines(lines) {
  const nodes = [];
  lines.forEach((line, i) => {
    if (i) nodes.push(document.createElement("br"));
    nodes.push(...inline(line));
  });
  return nodes;
}

/** Render Markdown text into a <div class="markdown">. */
export function renderMarkdown(text) {
  const root = document.createElement("div");
  root.className = "markdown";
  const lines = String(text || "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i += 1; continue; }
    const fence = /^```/.exec(line);
    if (fence) {
      const body = [];
      i += 1;
      while (i < lines.length && !/^```/.test(lines[i])) body.push(lines[i++]);
      i += 1;
      root.append(wrap("pre", [wrap("code", [document.createTextNode(body.join("\n"))])]));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      // Notes sit under the run's own <h1>: their headings start one level below it.
      const level = Math.min(heading[1].length + 1, 6);
      root.append(wrap(`h${level}`, inline(heading[2])));
      i += 1;
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quoted = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s*>\s?/, ""));
      root.append(wrap("blockquote", paragraphLines(quoted)));
      continue;
    }
    const bullet = /^\s*([-*+]|\d+[.)])\s+/;
    if (bullet.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = document.createElement(ordered ? "ol" : "ul");
      while (i < lines.length && bullet.test(lines[i])) {
        list.append(wrap("li", inline(lines[i].replace(bullet, ""))));
        i += 1;
      }
      root.append(list);
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !/^(```|#{1,6}\s|\s*>|\s*([-*+]|\d+[.)])\s)/.test(lines[i])) para.push(lines[i++]);
    root.append(wrap("p", paragraphLines(para)));
  }
  return root;
}
