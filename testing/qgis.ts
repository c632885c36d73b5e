/**
 * Reads QGIS project files (`.qgs` XML and `.qgz` zip archives) for the
 * in-memory test server: whether bytes are a valid project, its version, its
 * layers and attachment directories, and the per-layer report that
 * `packages/{id}/latest/` returns.
 *
 * This is a small reader, not QGIS: it checks that the XML is well formed
 * (./xml.ts) and has a `<qgis version="x.y.z…">` root, and decides a layer's
 * validity from whether its data file is among the project's files.
 *
 * @module
 */
import { child, elements, find, parseXml, textOf, type XmlElement } from "./xml.ts";
import { isZip, readZipFile } from "./zip.ts";

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
   * file's path relative to the project root, normalized with `/`; `null` for
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
 *   parseQgisProject(new TextEncoder().encode("<html/>"));
 * } catch (error) {
 *   console.log(error instanceof InvalidQgisProjectError); // true
 * }
 * ```
 */
export class InvalidQgisProjectError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
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
 * const project = parseQgisProject(new TextEncoder().encode(xml));
 * console.log(project.version); // 3.34.0-Prizren
 * ```
 */
export function parseQgisProject(bytes: Uint8Array): QgisProject {
  const xmlBytes = isZip(bytes) ? qgsFromZip(bytes) : bytes;
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
 * qgisProjectFileVersion(new TextEncoder().encode(broken)); // "3.30.0"
 * ```
 */
export function qgisProjectFileVersion(bytes: Uint8Array): string {
  const xmlBytes = isZip(bytes) ? qgsFromZip(bytes) : bytes;
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
 * isValidQgisProject(new TextEncoder().encode("<html/>")); // false
 * ```
 */
export function isValidQgisProject(bytes: Uint8Array): boolean {
  try {
    parseQgisProject(bytes);
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
 * const project = parseQgisProject(new TextEncoder().encode(`<qgis version="3.34.0">
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
      filename: path === null || isLocalized ? path : normalizePath(path),
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
 * Normalizes a project-relative path: `./a/../b.gpkg` becomes `b.gpkg`,
 * backslashes become `/`; absolute and drive paths stay as they are.
 *
 * @example
 * ```ts
 * import { normalizePath } from "./qgis.ts";
 * normalizePath("maps/./../data\\a.gpkg"); // "data/a.gpkg"
 * ```
 */
export function normalizePath(path: string): string {
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

/** The `.qgs` at the top of a `.qgz` archive. */
function qgsFromZip(bytes: Uint8Array): Uint8Array {
  let qgs;
  try {
    qgs = readZipFile(bytes, (name) => /\.qgs$/i.test(name) && !name.includes("/"));
  } catch (cause) {
    throw new InvalidQgisProjectError(
      `QGIS project archive is damaged: ${(cause as Error).message}`,
      { cause },
    );
  }
  if (!qgs) throw new InvalidQgisProjectError("QGIS project archive holds no .qgs file");
  return qgs.content;
}
