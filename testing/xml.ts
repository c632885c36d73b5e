/**
 * A small reader for well-formed XML, enough for QGIS project files: it turns
 * a document into a tree of {@linkcode XmlElement}s, and can stop after the
 * root's start tag as Python's `iterparse` does for the server's version check
 * (opengisch/QFieldCloud `docker-app/qfieldcloud/filestorage/utils.py`).
 *
 * @module
 */

/** One element of a parsed XML document. */
export interface XmlElement {
  /** Tag name, including any namespace prefix. */
  name: string;
  /** Attributes with entities decoded. */
  attributes: Record<string, string>;
  /** Child elements and text nodes, in document order. */
  children: (XmlElement | string)[];
}

/** The child elements of an element, without its text. */
export function elements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== "string");
}

/** The first child element with a name. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el ? elements(el).find((c) => c.name === name) : undefined;
}

/** The element at a path of child names below an element. */
export function find(el: XmlElement | undefined, path: string[]): XmlElement | undefined {
  let node = el;
  for (const name of path) node = child(node, name);
  return node;
}

/** The text of an element and its descendants, trimmed. */
export function textOf(el: XmlElement | undefined): string {
  if (!el) return "";
  return el.children.map((c) => typeof c === "string" ? c : textOf(c)).join("").trim();
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.startsWith("#x")) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith("#")) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    const value = ENTITIES[ref];
    if (value === undefined) throw new SyntaxError(`Unknown entity "${whole}"`);
    return value;
  });
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;

/**
 * Parses a well-formed XML document into its root element. Supports the
 * subset QGIS writes: declaration, DOCTYPE, comments, CDATA, processing
 * instructions, elements, attributes and the predefined/numeric entities.
 *
 * With `rootTagOnly`, stops after the root's start tag and returns the root without
 * children, as the first `start` event of Python's `iterparse` sees it.
 *
 * @throws {SyntaxError} for malformed XML.
 * @example
 * ```ts
 * import { parseXml } from "./xml.ts";
 * parseXml(`<a x="1"><b>t</b></a>`).attributes.x; // "1"
 * ```
 */
export function parseXml(text: string, options: { rootTagOnly?: boolean } = {}): XmlElement {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  const fail = (message: string): never => {
    const line = text.slice(0, pos).split("\n").length;
    throw new SyntaxError(`${message} at line ${line}`);
  };
  const skipPast = (marker: string, what: string) => {
    const end = text.indexOf(marker, pos);
    if (end < 0) fail(`Unterminated ${what}`);
    pos = end + marker.length;
  };

  while (pos < text.length) {
    const lt = text.indexOf("<", pos);
    const chunk = text.slice(pos, lt < 0 ? text.length : lt);
    if (chunk.length > 0) {
      if (stack.length > 0) stack[stack.length - 1].children.push(decodeEntities(chunk));
      else if (chunk.trim() !== "") fail("Text outside the root element");
    }
    if (lt < 0) break;
    pos = lt;
    if (text.startsWith("<!--", pos)) skipPast("-->", "comment");
    else if (text.startsWith("<![CDATA[", pos)) {
      const end = text.indexOf("]]>", pos);
      if (end < 0 || stack.length === 0) fail("Misplaced or unterminated CDATA");
      stack[stack.length - 1].children.push(text.slice(pos + 9, end));
      pos = end + 3;
    } else if (text.startsWith("<?", pos)) skipPast("?>", "processing instruction");
    else if (text.startsWith("<!DOCTYPE", pos)) {
      if (root || stack.length > 0) fail("Misplaced DOCTYPE");
      const bracket = text.indexOf("[", pos);
      const close = text.indexOf(">", pos);
      if (bracket >= 0 && bracket < close) skipPast("]>", "DOCTYPE");
      else skipPast(">", "DOCTYPE");
    } else if (text.startsWith("</", pos)) {
      pos += 2;
      const name = NAME.exec(text.slice(pos, pos + 256))?.[0] ?? fail("Bad closing tag");
      pos += name.length;
      while (/\s/.test(text[pos] ?? "")) pos++;
      if (text[pos] !== ">") fail(`Bad closing tag </${name}`);
      pos++;
      const open = stack.pop();
      if (!open || open.name !== name) fail(`Mismatched closing tag </${name}>`);
    } else {
      pos++;
      const name = NAME.exec(text.slice(pos, pos + 256))?.[0] ?? fail("Bad tag name");
      pos += name.length;
      const el: XmlElement = { name, attributes: {}, children: [] };
      for (;;) {
        const ws = /^\s*/.exec(text.slice(pos, pos + 4096))![0].length;
        pos += ws;
        if (text.startsWith("/>", pos) || text[pos] === ">") break;
        if (ws === 0) fail(`Expected whitespace in <${name}>`);
        const attr = NAME.exec(text.slice(pos, pos + 256))?.[0] ??
          fail(`Bad attribute in <${name}>`);
        pos += attr.length;
        const eq = /^\s*=\s*(["'])/.exec(text.slice(pos, pos + 256)) ??
          fail(`Expected a quoted value for "${attr}"`);
        pos += eq[0].length;
        const end = text.indexOf(eq[1], pos);
        if (end < 0) fail(`Unterminated value of "${attr}"`);
        const raw = text.slice(pos, end);
        if (raw.includes("<")) fail(`"<" in the value of "${attr}"`);
        if (attr in el.attributes) fail(`Duplicate attribute "${attr}"`);
        el.attributes[attr] = decodeEntities(raw);
        pos = end + 1;
      }
      if (stack.length > 0) stack[stack.length - 1].children.push(el);
      else if (root) fail("More than one root element");
      else root = el;
      if (options.rootTagOnly) return el;
      if (text.startsWith("/>", pos)) pos += 2;
      else {
        pos++;
        stack.push(el);
      }
    }
  }
  if (stack.length > 0) fail(`Unclosed element <${stack[stack.length - 1].name}>`);
  if (!root) fail("No root element");
  return root!;
}
