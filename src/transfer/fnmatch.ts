/**
 * Shell-style filename matching with exactly the semantics of Python's
 * `fnmatch.fnmatch` on POSIX, which the official SDK and CLI use for their
 * `--filter` globs.
 *
 * The pattern is translated the way Python's `fnmatch.translate` does it
 * (including its quirks with ranges inside brackets), then matched code point
 * by code point:
 *
 * - `*` matches any run of characters, `/` included;
 * - `?` matches any single character;
 * - `[seq]` matches one character in `seq`, `[!seq]` one character not in it;
 *   ranges such as `[a-z]` work, `[]]` matches `]`, `[?]` matches `?`;
 * - an unclosed `[` is a literal `[`;
 * - a backslash is an ordinary character (there is no escaping);
 * - matching is case-sensitive (Python's `normcase` is a no-op on POSIX).
 *
 * @module
 */

/** One compiled pattern element; each non-star element matches one code point. */
type Token =
  | { kind: "star" }
  | { kind: "any" }
  | { kind: "literal"; cp: number }
  | { kind: "set"; negate: boolean; ranges: [number, number][] };

const BANG = 0x21; // !
const HYPHEN = 0x2d; // -
const BRACKET_OPEN = 0x5b; // [
const BRACKET_CLOSE = 0x5d; // ]
const BACKSLASH = 0x5c; // \
const CARET = 0x5e; // ^

const cache = new Map<string, Token[]>();

/**
 * Tells whether `name` matches the shell-style `pattern`, exactly as Python's
 * `fnmatch.fnmatch(name, pattern)` does on POSIX.
 *
 * @example Match project files
 * ```ts
 * import { fnmatch } from "./fnmatch.ts";
 * fnmatch("DCIM/photo 1.jpg", "*.jpg"); // true: `*` crosses "/"
 * fnmatch("data.gpkg", "[!d]*"); // false
 * fnmatch("a[1", "a[1"); // true: an unclosed "[" is literal
 * ```
 *
 * @param name The name to test, a POSIX-style relative path.
 * @param pattern The glob pattern.
 * @returns Whether the whole name matches.
 */
export function fnmatch(name: string, pattern: string): boolean {
  let tokens = cache.get(pattern);
  if (tokens === undefined) {
    tokens = compile(pattern);
    if (cache.size > 256) cache.clear();
    cache.set(pattern, tokens);
  }
  return matchTokens(Array.from(name, (c) => c.codePointAt(0)!), tokens);
}

/**
 * Tells whether `name` matches at least one of `patterns`. An empty or missing
 * list of patterns matches every name.
 *
 * @example
 * ```ts
 * import { fnmatchAny } from "./fnmatch.ts";
 * fnmatchAny("DCIM/a.jpg", ["*.png", "DCIM/*"]); // true
 * fnmatchAny("a.txt", []); // true
 * ```
 */
export function fnmatchAny(name: string, patterns: readonly string[] | undefined): boolean {
  if (!patterns || patterns.length === 0) return true;
  return patterns.some((p) => fnmatch(name, p));
}

/** Translates a pattern the way `fnmatch.translate` (Python 3.11+) does. */
function compile(pattern: string): Token[] {
  const pat = Array.from(pattern, (c) => c.codePointAt(0)!);
  const tokens: Token[] = [];
  const n = pat.length;
  let i = 0;
  while (i < n) {
    const c = pat[i];
    i++;
    if (c === 0x2a /* * */) {
      // Consecutive stars collapse into one.
      if (tokens.length === 0 || tokens[tokens.length - 1].kind !== "star") {
        tokens.push({ kind: "star" });
      }
    } else if (c === 0x3f /* ? */) {
      tokens.push({ kind: "any" });
    } else if (c === BRACKET_OPEN) {
      let j = i;
      if (j < n && pat[j] === BANG) j++;
      if (j < n && pat[j] === BRACKET_CLOSE) j++;
      while (j < n && pat[j] !== BRACKET_CLOSE) j++;
      if (j >= n) {
        tokens.push({ kind: "literal", cp: BRACKET_OPEN });
        continue;
      }
      tokens.push(bracketToken(pat, i, j));
      i = j + 1;
    } else {
      tokens.push({ kind: "literal", cp: c });
    }
  }
  return tokens;
}

/**
 * Builds the token for `pat[i:j]` (the text between `[` and `]`), reproducing
 * the character-class text Python's `translate` produces and then reading it
 * back the way Python's `re` parser reads a class.
 */
function bracketToken(pat: number[], i: number, j: number): Token {
  // Class body as Python builds it: a list of items, each either a literal
  // (escaped in Python's regex text) or a range marker "-" between chunks.
  type Literal = { cp: number; escaped: boolean };
  type Item = Literal | "range";
  let body: Item[];
  const lit = (cp: number): Literal => ({
    cp,
    // Python escapes "\" and, inside ranges, "-"; and always "&", "~", "|".
    escaped: cp === BACKSLASH || cp === 0x26 || cp === 0x7e || cp === 0x7c,
  });
  const stuff = pat.slice(i, j);
  if (!stuff.includes(HYPHEN)) {
    body = stuff.map(lit);
  } else {
    const chunks: number[][] = [];
    let k = pat[i] === BANG ? i + 2 : i + 1;
    while (true) {
      k = indexOf(pat, HYPHEN, k, j);
      if (k < 0) break;
      chunks.push(pat.slice(i, k));
      i = k + 1;
      k = k + 3;
    }
    const chunk = pat.slice(i, j);
    if (chunk.length > 0) chunks.push(chunk);
    else chunks[chunks.length - 1].push(HYPHEN);
    // Remove empty ranges (Python: they would be invalid in a regex).
    for (let m = chunks.length - 1; m > 0; m--) {
      const prev = chunks[m - 1];
      if (prev[prev.length - 1] > chunks[m][0]) {
        chunks[m - 1] = prev.slice(0, -1).concat(chunks[m].slice(1));
        chunks.splice(m, 1);
      }
    }
    body = [];
    chunks.forEach((ch, index) => {
      if (index > 0) body.push("range");
      for (const cp of ch) {
        const item = lit(cp);
        if (cp === HYPHEN) item.escaped = true;
        body.push(item);
      }
    });
  }
  if (body.length === 0) return { kind: "set", negate: false, ranges: [] }; // never matches
  const first = body[0];
  if (body.length === 1 && first !== "range" && first.cp === BANG && !first.escaped) {
    return { kind: "any" }; // negated empty set
  }
  let negate = false;
  if (first !== "range" && first.cp === BANG && !first.escaped) {
    negate = true;
    body = body.slice(1);
  } else if (first !== "range" && (first.cp === CARET || first.cp === BRACKET_OPEN)) {
    first.escaped = true;
  }
  return { kind: "set", negate, ranges: parseClass(body, negate) };
}

/**
 * Reads a class body the way Python's `sre_parse` does: a "]" first is a
 * literal, `x-y` is a range, a "-" that cannot start a range is a literal.
 * Here "range" markers are unescaped hyphens; escaped items are literals.
 */
function parseClass(
  body: ({ cp: number; escaped: boolean } | "range")[],
  negate: boolean,
): [number, number][] {
  // Flatten back to (code point, escaped) pairs: an unescaped "-" is a range operator.
  const src = body.map((it) => it === "range" ? { cp: HYPHEN, escaped: false } : it);
  const ranges: [number, number][] = [];
  let p = 0;
  const text = `[${negate ? "^" : ""}${
    src.map((s) => (s.escaped ? "\\" : "") + String.fromCodePoint(s.cp)).join("")
  }]`;
  while (true) {
    if (p >= src.length) {
      throw new TypeError(`Unterminated character set in "${text}": close it with "]"`);
    }
    const cur = src[p++];
    const lo = cur.cp;
    // The class ends at an unescaped "]" that is not the first item; the
    // closing "]" itself is not part of `src`, so the end of `src` ends it.
    if (p < src.length && src[p].cp === HYPHEN && !src[p].escaped) {
      if (p + 1 >= src.length) {
        // "x-" at the end: both are literals.
        ranges.push([lo, lo], [HYPHEN, HYPHEN]);
        break;
      }
      const hi = src[p + 1].cp;
      if (hi < lo) {
        throw new TypeError(`Bad character range in "${text}": put the lower character first`);
      }
      ranges.push([lo, hi]);
      p += 2;
    } else {
      ranges.push([lo, lo]);
    }
    if (p >= src.length) break;
  }
  return ranges;
}

function indexOf(arr: number[], value: number, from: number, to: number): number {
  for (let k = from; k < to; k++) if (arr[k] === value) return k;
  return -1;
}

function matchOne(token: Token, cp: number): boolean {
  switch (token.kind) {
    case "any":
      return true;
    case "literal":
      return token.cp === cp;
    case "set": {
      const inSet = token.ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
      return inSet !== token.negate;
    }
    default:
      return false;
  }
}

/** Wildcard matching with backtracking to the last star (every other token eats one code point). */
function matchTokens(name: number[], tokens: Token[]): boolean {
  let t = 0;
  let s = 0;
  let starT = -1;
  let starS = 0;
  while (s < name.length) {
    if (t < tokens.length && tokens[t].kind === "star") {
      starT = t++;
      starS = s;
    } else if (t < tokens.length && matchOne(tokens[t], name[s])) {
      t++;
      s++;
    } else if (starT >= 0) {
      t = starT + 1;
      s = ++starS;
    } else {
      return false;
    }
  }
  while (t < tokens.length && tokens[t].kind === "star") t++;
  return t === tokens.length;
}
