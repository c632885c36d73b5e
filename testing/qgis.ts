/**
 * Reads QGIS project files (`.qgs` XML and `.qgz` zip archives) for the
 * in-memory test server: whether bytes are a valid project, its version, its
 * layers and attachment directories, and the per-layer report that
 * `packages/{id}/latest/` returns.
 *
 * This is a small, dependency-free reader, not QGIS: it checks that the XML is
 * well formed and has a `<qgis version="x.y.z…">` root, and decides a layer's
 * validity from whether its data file is among the project's files.
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

/** A `<maplayer>` of a QGIS project. */
export interface QgisLayer {
  /** Layer id (`<id>`), unique in the project. */
  id: string;
  /** Layer name (`<layername>`). */
  name: string;
  /** Data provider key (`<provider>`), e.g. `ogr`, `gdal`, `postgres`, `wms`. */
  provider: string;
  /** Raw data source (`<datasource>`). */
  datasource: string;
  /** Layer type attribute, e.g. `vector`, `raster`. */
  type: string;
  /** Geometry type attribute of vector layers (e.g. `Point`), or null. */
  geometry: string | null;
  /** CRS auth id (`<srs><spatialrefsys><authid>`), or null. */
  crs: string | null;
  /**
   * For file-based providers (ogr, gdal, spatialite, delimitedtext): the data
   * file's path relative to the project root, normalised with `/`; `null` for
   * online or in-memory layers. Absolute paths are kept as they are.
   */
  filename: string | null;
  /** Whether the layer reads a local file (see {@linkcode QgisLayer.filename}). */
  isFileBased: boolean;
  /** Whether the datasource uses QGIS's `localized:` path prefix. */
  isLocalized: boolean;
}

/** What {@linkcode parseQgisProject} reads from a project file. */
export interface QgisProject {
  /** The `version` attribute of the `<qgis>` root, e.g. `3.34.0-Prizren`. */
  version: string;
  /** The `projectname` attribute or `<title>`, possibly empty. */
  title: string;
  /** Project CRS auth id (`<projectCrs>`), or null. */
  crs: string | null;
  /** The layers, in document order. */
  layers: QgisLayer[];
  /**
   * Attachment directories from the QFieldSync project properties
   * (`<properties><qfieldsync><attachmentDirs>`), `["DCIM"]` when not set.
   */
  attachmentDirs: string[];
}

/** The per-layer report of `packages/{id}/latest/` (`layers_by_id` values). */
export interface LayerReport {
  /** Layer id. */
  id: string;
  /** Layer name. */
  name: string;
  /** Whether the layer could be loaded. */
  is_valid: boolean;
  /** `no_error`, `invalid_dataprovider`, `localized_dataprovider`, `missing_dataprovider`. */
  error_code: string;
  /** Human summary of the error, empty when valid. */
  error_summary: string;
  /** `Vector`, `Raster`, `Mesh`, `VectorTile`, `PointCloud`, ... */
  type_name: string;
  /** Data file of file-based layers, or null. */
  filename: string | null;
  /** CRS auth id, or null. */
  crs: string | null;
  /** Data provider key. */
  provider_name: string;
  /** Raw datasource. */
  datasource: string;
}

/**
 * Thrown by {@linkcode parseQgisProject} for bytes that are not a QGIS project.
 *
 * @example
 * ```ts
 * import { InvalidQgisProjectError, parseQgisProject } from "./qgis.ts";
 * try {
 *   await parseQgisProject(new TextEncoder().encode("<html/>"));
 * } catch (error) {
 *   console.log(error instanceof InvalidQgisProjectError); // true
 * }
 * ```
 */
export class InvalidQgisProjectError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidQgisProjectError";
  }
}

const FILE_PROVIDERS = new Set(["ogr", "gdal", "spatialite", "delimitedtext"]);
const TYPE_NAMES: Record<string, string> = {
  vector: "Vector",
  raster: "Raster",
  plugin: "Plugin",
  mesh: "Mesh",
  "vector-tile": "VectorTile",
  annotation: "Annotation",
  "point-cloud": "PointCloud",
  group: "Group",
  "tiled-scene": "TiledScene",
};

/**
 * Whether a file name is a QGIS project file (`.qgs` or `.qgz`, any case).
 *
 * @example
 * ```ts
 * import { isQgisProjectFileName } from "./qgis.ts";
 * isQgisProjectFileName("maps/Survey.QGZ"); // true
 * ```
 */
export function isQgisProjectFileName(name: string): boolean {
  return /\.(qgs|qgz)$/i.test(name);
}

/**
 * Parses a `.qgs` or `.qgz` project. The format is taken from the bytes (a zip
 * starts with `PK`), not from the name.
 *
 * @throws {InvalidQgisProjectError} when the bytes are not a QGIS project.
 * @example
 * ```ts
 * import { parseQgisProject } from "./qgis.ts";
 * const xml = `<qgis version="3.34.0-Prizren"><projectlayers/></qgis>`;
 * const project = await parseQgisProject(new TextEncoder().encode(xml));
 * console.log(project.version); // 3.34.0-Prizren
 * ```
 */
export async function parseQgisProject(bytes: Uint8Array): Promise<QgisProject> {
  const xmlBytes = isZip(bytes) ? await qgsFromZip(bytes) : bytes;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(xmlBytes);
  } catch (cause) {
    throw new InvalidQgisProjectError("QGIS project file is not valid UTF-8", { cause });
  }
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (cause) {
    throw new InvalidQgisProjectError(
      `QGIS project file is not well-formed XML: ${(cause as Error).message}`,
      { cause },
    );
  }
  const version = root.attributes.version ?? "";
  if (root.name !== "qgis" || !/^\d+\.\d+\.\d+/.test(version)) {
    throw new InvalidQgisProjectError(
      `QGIS project file has no <qgis version="x.y.z"> root (found <${root.name}> with version "${version}")`,
    );
  }
  return {
    version,
    title: root.attributes.projectname || textOf(child(root, "title")),
    crs: textOf(find(root, ["projectCrs", "spatialrefsys", "authid"])) || null,
    layers: collectLayers(root),
    attachmentDirs: attachmentDirsOf(root),
  };
}

/**
 * The QGIS version (`x.y.z`) of a project file, read as the server does at upload
 * (`get_qgis_version_from_project_file` in opengisch/QFieldCloud
 * `docker-app/qfieldcloud/filestorage/utils.py`): only the first start tag counts. It
 * must be `<qgis>` with a `version` starting with `x.y.z`; the XML may be broken after
 * it, and such a file is accepted at upload (its package job then fails).
 *
 * @throws {InvalidQgisProjectError} when the first start tag is not such a root.
 * @example
 * ```ts
 * import { qgisProjectFileVersion } from "./qgis.ts";
 * const broken = `<qgis version="3.30.0-'s-Hertogenbosch"><title></qgis>`;
 * await qgisProjectFileVersion(new TextEncoder().encode(broken)); // "3.30.0"
 * ```
 */
export async function qgisProjectFileVersion(bytes: Uint8Array): Promise<string> {
  const xmlBytes = isZip(bytes) ? await qgsFromZip(bytes) : bytes;
  let root: XmlElement;
  try {
    // Python decodes and parses in chunks: bytes after the root tag are never looked at.
    root = parseXml(new TextDecoder().decode(xmlBytes), { rootTagOnly: true });
  } catch (cause) {
    throw new InvalidQgisProjectError(
      `Invalid QGIS project file: ${(cause as Error).message}`,
      { cause },
    );
  }
  if (root.name !== "qgis") {
    throw new InvalidQgisProjectError(`Expected root tag "qgis", got "${root.name}"`);
  }
  const version = root.attributes.version;
  if (!version) {
    throw new InvalidQgisProjectError('Missing "version" attribute in QGIS project file');
  }
  const match = /^\d+\.\d+\.\d+/.exec(version);
  if (!match) throw new InvalidQgisProjectError(`Invalid QGIS version "${version}"`);
  return match[0];
}

/**
 * Whether bytes are a QGIS project file that {@linkcode parseQgisProject} accepts.
 *
 * @example
 * ```ts
 * import { isValidQgisProject } from "./qgis.ts";
 * await isValidQgisProject(new TextEncoder().encode("<html/>")); // false
 * ```
 */
export async function isValidQgisProject(bytes: Uint8Array): Promise<boolean> {
  try {
    await parseQgisProject(bytes);
    return true;
  } catch (error) {
    if (error instanceof InvalidQgisProjectError) return false;
    throw error;
  }
}

/**
 * Builds the `layers_by_id` report of a project: a file-based layer whose data
 * file is not among the project's files is invalid (`invalid_dataprovider`, or
 * `localized_dataprovider` for `localized:` paths); online and in-memory layers
 * are reported valid, as the test server cannot reach their sources.
 *
 * @param project The parsed project.
 * @param hasFile Tells whether a project-relative path is one of the project's files.
 * @example
 * ```ts
 * import { layerReports, parseQgisProject } from "./qgis.ts";
 * const project = await parseQgisProject(new TextEncoder().encode(`<qgis version="3.34.0">
 *   <projectlayers><maplayer type="vector"><id>pts</id><layername>points</layername>
 *   <datasource>./data.gpkg|layername=points</datasource><provider>ogr</provider></maplayer>
 *   </projectlayers></qgis>`));
 * const report = layerReports(project, (name) => name === "data.gpkg");
 * console.log(report.pts.is_valid); // true
 * ```
 */
export function layerReports(
  project: QgisProject,
  hasFile: (path: string) => boolean,
): Record<string, LayerReport> {
  const reports: Record<string, LayerReport> = {};
  for (const layer of project.layers) {
    let valid = true;
    let code = "no_error";
    let summary = "";
    if (layer.isLocalized) {
      valid = false;
      code = "localized_dataprovider";
      summary = `Localized data source "${layer.datasource}" is not available on the server.`;
    } else if (layer.isFileBased && (layer.filename === null || !hasFile(layer.filename))) {
      valid = false;
      code = "invalid_dataprovider";
      summary = `File "${layer.filename ?? layer.datasource}" missing.`;
    }
    reports[layer.id] = {
      id: layer.id,
      name: layer.name,
      is_valid: valid,
      error_code: code,
      error_summary: summary,
      type_name: TYPE_NAMES[layer.type] ?? (layer.type || "Vector"),
      filename: layer.filename,
      crs: layer.crs,
      provider_name: layer.provider,
      datasource: layer.datasource,
    };
  }
  return reports;
}

/**
 * Whether every layer of a project reads a local file: the condition, together
 * with a fresh package, for `needs_repackaging` to be false.
 *
 * @example
 * ```ts
 * import { allLayersFileBased, type QgisProject } from "./qgis.ts";
 * const project: QgisProject = { version: "3.34.0", title: "", crs: null, layers: [], attachmentDirs: ["DCIM"] };
 * allLayersFileBased(project); // true
 * ```
 */
export function allLayersFileBased(project: QgisProject): boolean {
  return project.layers.every((layer) => layer.isFileBased);
}

// ---------------------------------------------------------------------------
// Layers

function collectLayers(root: XmlElement): QgisLayer[] {
  const container = child(root, "projectlayers");
  if (!container) return [];
  const layers: QgisLayer[] = [];
  for (const el of elements(container)) {
    if (el.name !== "maplayer") continue;
    const id = textOf(child(el, "id"));
    if (!id) continue;
    const provider = textOf(child(el, "provider"));
    const datasource = textOf(child(el, "datasource"));
    const isLocalized = datasource.startsWith("localized:");
    const path = FILE_PROVIDERS.has(provider) ? filePathOf(provider, datasource) : null;
    layers.push({
      id,
      name: textOf(child(el, "layername")),
      provider,
      datasource,
      type: el.attributes.type ?? "",
      geometry: el.attributes.geometry ?? null,
      crs: textOf(find(el, ["srs", "spatialrefsys", "authid"])) || null,
      filename: path === null || isLocalized ? path : normalisePath(path),
      isFileBased: path !== null,
      isLocalized,
    });
  }
  return layers;
}

/** Extracts the file path from a file-based provider's datasource, or null. */
function filePathOf(provider: string, datasource: string): string | null {
  let path: string;
  if (provider === "spatialite") {
    const match = /dbname='((?:[^'\\]|\\.)*)'/.exec(datasource);
    if (!match) return null;
    path = match[1].replace(/\\(.)/g, "$1");
  } else if (provider === "delimitedtext") {
    const withoutQuery = datasource.split("?")[0];
    path = withoutQuery.replace(/^file:(\/\/)?/, "");
    try {
      path = decodeURIComponent(path);
    } catch {
      // Keep the raw path: a stray "%" is a literal character here.
    }
  } else {
    path = datasource.split("|")[0];
  }
  path = path.trim();
  if (!path || path.startsWith("/vsicurl/") || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    return null;
  }
  return path.replace(/^\/vsi(zip|gzip|tar)\//, "");
}

/**
 * Normalises a project-relative path: `./a/../b.gpkg` becomes `b.gpkg`,
 * backslashes become `/`; absolute and drive paths stay as they are.
 *
 * @example
 * ```ts
 * import { normalisePath } from "./qgis.ts";
 * normalisePath("maps/./../data\\a.gpkg"); // "data/a.gpkg"
 * ```
 */
export function normalisePath(path: string): string {
  const unified = path.replace(/\\/g, "/").replace(/^localized:/, "");
  if (unified.startsWith("/") || /^[a-zA-Z]:\//.test(unified)) return unified;
  const out: string[] = [];
  for (const part of unified.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      // Leaving the project root: keep the marker so the file is never found.
      if (out.length === 0 || out[out.length - 1] === "..") out.push("..");
      else out.pop();
    } else out.push(part);
  }
  return out.join("/");
}

function attachmentDirsOf(root: XmlElement): string[] {
  const node = find(root, ["properties", "qfieldsync", "attachmentDirs"]);
  if (!node) return ["DCIM"];
  const values = elements(node).filter((e) => e.name === "value").map(textOf).filter((v) => v);
  return values.length > 0 ? values : ["DCIM"];
}

// ---------------------------------------------------------------------------
// Minimal XML reader

function elements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== "string");
}

function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el ? elements(el).find((c) => c.name === name) : undefined;
}

function find(el: XmlElement | undefined, path: string[]): XmlElement | undefined {
  let node = el;
  for (const name of path) node = child(node, name);
  return node;
}

function textOf(el: XmlElement | undefined): string {
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
 * import { parseXml } from "./qgis.ts";
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

// ---------------------------------------------------------------------------
// Zip (.qgz)

function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 &&
    bytes[3] === 4;
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  localHeaderOffset: number;
}

/**
 * Lists the entries of a zip archive from its central directory.
 *
 * @throws {InvalidQgisProjectError} for a damaged archive.
 */
function zipEntries(bytes: Uint8Array): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new InvalidQgisProjectError("QGIS project archive has no zip directory");
  const count = view.getUint16(eocd + 10, true);
  let offset = view.getUint32(eocd + 16, true);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (offset + 46 > bytes.length || view.getUint32(offset, true) !== 0x02014b50) {
      throw new InvalidQgisProjectError("QGIS project archive has a damaged zip directory");
    }
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    entries.push({
      method: view.getUint16(offset + 10, true),
      compressedSize: view.getUint32(offset + 20, true),
      localHeaderOffset: view.getUint32(offset + 42, true),
      name: new TextDecoder().decode(bytes.subarray(offset + 46, offset + 46 + nameLength)),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

async function qgsFromZip(bytes: Uint8Array): Promise<Uint8Array> {
  const entry = zipEntries(bytes).find((e) => /\.qgs$/i.test(e.name) && !e.name.includes("/"));
  if (!entry) throw new InvalidQgisProjectError("QGIS project archive holds no .qgs file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.localHeaderOffset;
  if (at + 30 > bytes.length || view.getUint32(at, true) !== 0x04034b50) {
    throw new InvalidQgisProjectError(`QGIS project archive entry "${entry.name}" is damaged`);
  }
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  const data = bytes.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return data;
  if (entry.method !== 8) {
    throw new InvalidQgisProjectError(
      `QGIS project archive entry "${entry.name}" uses unsupported compression ${entry.method}`,
    );
  }
  try {
    const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("deflate-raw"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (cause) {
    throw new InvalidQgisProjectError(
      `QGIS project archive entry "${entry.name}" cannot be inflated`,
      { cause },
    );
  }
}
