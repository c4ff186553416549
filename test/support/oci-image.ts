/**
 * Writes an OCI image layout tarball (`oci-layout`, `index.json`, `blobs/sha256/*`) holding one single-layer image built
 * from a directory, in the format `ctr image import` accepts. The layer and the outer archive are written by a small
 * ustar writer in this file, so no `tar` binary is needed and the output is byte-for-byte deterministic.
 *
 * Format facts: OCI image-spec v1.0 (image-layout.md, manifest.md, config.md, descriptor.md, annotations.md); the tar
 * header layout is POSIX.1-1988 ustar. containerd 1.6 names an imported image after the `io.containerd.image.name`
 * annotation of its index entry (containerd `images/archive/importer.go`).
 */
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/** Size of one tar block in bytes; headers and data are padded to it. */
export const TAR_BLOCK_BYTES = 512;

/** Media types written into the manifest and index (OCI image-spec v1.0). */
export const OCI_MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerTar: "application/vnd.oci.image.layer.v1.tar",
  layerTarGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/** One member of a tar archive. Paths are relative (no leading `/`); directories need no trailing slash. */
export interface TarEntry {
  readonly path: string;
  readonly type: "file" | "directory" | "symlink";
  /** Permission bits, e.g. 0o755. */
  readonly mode: number;
  /** File contents; only for `file`. */
  readonly data?: Uint8Array;
  /** Link target; only for `symlink`. */
  readonly linkTarget?: string;
  readonly uid?: number;
  readonly gid?: number;
}

/** Modification time stamped on every entry (seconds since the epoch), fixed so that digests are reproducible. */
const FIXED_MTIME_SECONDS = 1_700_000_000;

function writeString(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length) throw new Error(`tar header field too long: "${value}"`);
  bytes.copy(header, offset);
}

/** Writes `value` as zero-padded octal in `length - 1` digits followed by NUL. */
function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8).padStart(length - 1, "0");
  if (digits.length > length - 1) throw new Error(`tar header number too large: ${value}`);
  writeString(header, offset, length, `${digits}\0`);
}

/** Splits a path into ustar `prefix` (≤155 bytes) and `name` (≤100 bytes) at a slash. */
function splitPath(path: string): { prefix: string; name: string } {
  if (Buffer.byteLength(path) <= 100) return { prefix: "", name: path };
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== "/") continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== "")
      return { prefix, name };
  }
  throw new Error(`tar path too long for ustar: "${path}"`);
}

function tarHeader(entry: TarEntry, size: number): Buffer {
  const header = Buffer.alloc(TAR_BLOCK_BYTES);
  const path = entry.type === "directory" && !entry.path.endsWith("/") ? `${entry.path}/` : entry.path;
  const { prefix, name } = splitPath(path);
  writeString(header, 0, 100, name);
  writeOctal(header, 100, 8, entry.mode & 0o7777);
  writeOctal(header, 108, 8, entry.uid ?? 0);
  writeOctal(header, 116, 8, entry.gid ?? 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, FIXED_MTIME_SECONDS);
  header.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  const typeflag = { file: "0", symlink: "2", directory: "5" }[entry.type];
  writeString(header, 156, 1, typeflag);
  writeString(header, 157, 100, entry.linkTarget ?? "");
  writeString(header, 257, 6, "ustar\0");
  writeString(header, 263, 2, "00");
  writeString(header, 265, 32, "root");
  writeString(header, 297, 32, "root");
  writeOctal(header, 329, 8, 0);
  writeOctal(header, 337, 8, 0);
  writeString(header, 345, 155, prefix);
  let sum = 0;
  for (const byte of header) sum += byte;
  writeString(header, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return header;
}

/** Serialises entries, in the given order, as an uncompressed ustar archive ending in two zero blocks. */
export function createTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.type === "file" ? (entry.data ?? new Uint8Array()) : new Uint8Array();
    parts.push(tarHeader(entry, data.length));
    if (data.length > 0) {
      parts.push(Buffer.from(data));
      const padding = (TAR_BLOCK_BYTES - (data.length % TAR_BLOCK_BYTES)) % TAR_BLOCK_BYTES;
      parts.push(Buffer.alloc(padding));
    }
  }
  parts.push(Buffer.alloc(2 * TAR_BLOCK_BYTES));
  return Buffer.concat(parts);
}

/**
 * Lists a directory tree as tar entries, parents before children, names sorted, paths relative to `dir`. Keeps
 * symlinks as links and the owner ids from `lstat`; other file types (sockets, devices) are refused.
 */
export function tarEntriesFromDirectory(dir: string): TarEntry[] {
  const entries: TarEntry[] = [];
  const walk = (relative: string): void => {
    const names = readdirSync(join(dir, relative)).sort();
    for (const name of names) {
      const path = relative === "" ? name : `${relative}/${name}`;
      const full = join(dir, path);
      const stat = lstatSync(full);
      const owner = { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
      if (stat.isSymbolicLink()) {
        entries.push({ path, type: "symlink", linkTarget: readlinkSync(full), ...owner });
      } else if (stat.isDirectory()) {
        entries.push({ path, type: "directory", ...owner });
        walk(path);
      } else if (stat.isFile()) {
        entries.push({ path, type: "file", data: readFileSync(full), ...owner });
      } else {
        throw new Error(`cannot put "${full}" into a layer: not a file, directory or symlink`);
      }
    }
  };
  walk("");
  return entries;
}

/** `sha256:<hex>` of some bytes, the digest form used by OCI descriptors. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Image config values copied into the OCI image config's `config` object. */
export interface OciImageConfig {
  readonly env?: readonly string[];
  readonly cmd?: readonly string[];
  readonly workingDir?: string;
}

/** Options for {@link writeOciImage}. */
export interface OciImageOptions {
  /** Directory whose tree becomes the single layer (e.g. from `makeRootfs`). */
  readonly rootfsDir: string;
  /** Path of the tarball to write (the OCI image layout, as one uncompressed tar). */
  readonly outFile: string;
  /** Full reference the image is imported as, e.g. `docker.io/husk/busybox:e2e`. */
  readonly name: string;
  /** Layer compression; default `gzip`. */
  readonly compression?: "gzip" | "none";
  /** Defaults: `PATH=/usr/sbin:/usr/bin:/sbin:/bin`, `/bin/sh`, `/`. */
  readonly config?: OciImageConfig;
}

/** What {@link writeOciImage} wrote: the digests that identify the image. */
export interface OciImage {
  readonly file: string;
  readonly name: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  /** Digest of the layer blob as stored (compressed when gzip). */
  readonly layerDigest: string;
  /** Digest of the uncompressed layer tar (the config's `rootfs.diff_ids[0]`). */
  readonly diffId: string;
}

/** GOARCH name of the running machine, as OCI platforms spell it. */
export function ociArchitecture(): string {
  const map: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "arm",
    ppc64: "ppc64le",
    s390x: "s390x",
  };
  return map[process.arch] ?? process.arch;
}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), "utf8");
}

/**
 * Builds a one-layer OCI image from `rootfsDir` and writes it as an OCI image layout tarball to `outFile`
 * (synchronously; a busybox rootfs is about 2 MB). Import it with `ctr -n NS image import FILE`; the image is then
 * known as `name`. Counterpart: what `ctr image export` produces (containerd `images/archive/exporter.go`).
 */
export function writeOciImage(options: OciImageOptions): OciImage {
  const layerTar = createTar(tarEntriesFromDirectory(options.rootfsDir));
  const gzip = (options.compression ?? "gzip") === "gzip";
  const layerBlob = gzip ? gzipSync(layerTar) : layerTar;
  const diffId = sha256Digest(layerTar);
  const layerDigest = sha256Digest(layerBlob);
  const platform = { architecture: ociArchitecture(), os: "linux" };

  const config = jsonBytes({
    ...platform,
    created: new Date(FIXED_MTIME_SECONDS * 1000).toISOString(),
    config: {
      Env: options.config?.env ?? ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: options.config?.cmd ?? ["/bin/sh"],
      WorkingDir: options.config?.workingDir ?? "/",
    },
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created_by: "husk test/support/oci-image.ts" }],
  });
  const configDigest = sha256Digest(config);

  const manifest = jsonBytes({
    schemaVersion: 2,
    mediaType: OCI_MEDIA_TYPES.manifest,
    config: { mediaType: OCI_MEDIA_TYPES.config, digest: configDigest, size: config.length },
    layers: [
      {
        mediaType: gzip ? OCI_MEDIA_TYPES.layerTarGzip : OCI_MEDIA_TYPES.layerTar,
        digest: layerDigest,
        size: layerBlob.length,
      },
    ],
  });
  const manifestDigest = sha256Digest(manifest);
  const tag = options.name.slice(options.name.lastIndexOf(":") + 1);

  const index = jsonBytes({
    schemaVersion: 2,
    mediaType: OCI_MEDIA_TYPES.index,
    manifests: [
      {
        mediaType: OCI_MEDIA_TYPES.manifest,
        digest: manifestDigest,
        size: manifest.length,
        platform,
        annotations: { "io.containerd.image.name": options.name, "org.opencontainers.image.ref.name": tag },
      },
    ],
  });

  const blob = (digest: string, data: Uint8Array): TarEntry => ({
    path: `blobs/sha256/${digest.slice("sha256:".length)}`,
    type: "file",
    mode: 0o644,
    data,
  });
  const archive = createTar([
    { path: "oci-layout", type: "file", mode: 0o644, data: jsonBytes({ imageLayoutVersion: "1.0.0" }) },
    { path: "blobs", type: "directory", mode: 0o755 },
    { path: "blobs/sha256", type: "directory", mode: 0o755 },
    blob(layerDigest, layerBlob),
    blob(configDigest, config),
    blob(manifestDigest, manifest),
    { path: "index.json", type: "file", mode: 0o644, data: index },
  ]);
  writeFileSync(options.outFile, archive);
  return { file: options.outFile, name: options.name, manifestDigest, configDigest, layerDigest, diffId };
}
