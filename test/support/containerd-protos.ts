/**
 * Fetches containerd's own protocol definitions from Debian at test time, for the descriptor
 * conformance test: `apt-get download` of containerd's, gogo's and cgroups' -dev packages (plus
 * ttrpc's and genproto's for the Go structs of the ttrpc envelope), `dpkg -x`, then `buf build` of the
 * .proto files that define what husk speaks into a FileDescriptorSet. Nothing is committed; the
 * result is cached in the temp dir under a key made of the package versions.
 *
 * Throws (never skips) with a clear message when the Debian archive cannot be reached.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorSet, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const run = promisify(execFile);

/** Debian packages whose sources hold the definitions husk is checked against. */
export const DEBIAN_PACKAGES = [
  "golang-github-containerd-containerd-dev",
  "golang-github-gogo-protobuf-dev",
  "golang-github-containerd-cgroups-dev",
  "golang-github-containerd-ttrpc-dev",
  "golang-google-genproto-dev",
] as const;

const GOCODE = "usr/share/gocode/src";

/** containerd's .proto files compared with husk's, as import paths (relative to the Go source root). */
export const COMPARED_PROTO_PATHS = [
  "github.com/containerd/containerd/runtime/v2/task/shim.proto",
  "github.com/containerd/containerd/api/types/mount.proto",
  "github.com/containerd/containerd/api/types/task/task.proto",
  "github.com/containerd/containerd/api/events/task.proto",
  "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.proto",
  "github.com/containerd/containerd/runtime/v2/runc/options/oci.proto",
  "github.com/containerd/containerd/runtime/linux/runctypes/runc.proto",
  "github.com/containerd/containerd/pkg/runtimeoptions/v1/api.proto",
  "github.com/containerd/cgroups/stats/v1/metrics.proto",
  "github.com/containerd/cgroups/v2/stats/metrics.proto",
] as const;

/** Imports those files need that are not compared themselves. */
const SUPPORT_PROTO_PATHS = ["github.com/containerd/containerd/protobuf/plugin/fieldpath.proto"] as const;

/** Go sources holding the ttrpc envelope structs and google.rpc.Status (no .proto exists for them). */
export const GO_SOURCES = {
  ttrpcTypes: "github.com/containerd/ttrpc/types.go",
  rpcStatus: "google.golang.org/genproto/googleapis/rpc/status/status.pb.go",
} as const;

/** What {@link loadContainerdProtos} returns. */
export interface ContainerdProtos {
  /** containerd's definitions compiled by buf (with their imports). */
  readonly fileSet: FileDescriptorSet;
  /** Text of the Go sources in {@link GO_SOURCES}. */
  readonly goSources: { readonly ttrpcTypes: string; readonly rpcStatus: string };
  /** `package=version` of every downloaded package. */
  readonly packages: readonly string[];
  /** Where the cached artefacts live. */
  readonly cacheDir: string;
}

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BUF = join(REPO_ROOT, "node_modules", ".bin", "buf");

/** Downloads (once per package versions) and compiles containerd's definitions. */
export async function loadContainerdProtos(): Promise<ContainerdProtos> {
  const packages = await candidateVersions(DEBIAN_PACKAGES);
  const key = createHash("sha256")
    .update(packages.join("\n"))
    .update(COMPARED_PROTO_PATHS.join("\n"))
    .digest("hex");
  const cacheDir = join(tmpdir(), `husk-containerd-protos-${key.slice(0, 16)}`);
  if (!existsSync(join(cacheDir, "complete"))) await populate(cacheDir, packages);
  return {
    fileSet: fromBinary(FileDescriptorSetSchema, await readFile(join(cacheDir, "containerd.binpb"))),
    goSources: {
      ttrpcTypes: await readFile(join(cacheDir, "ttrpc-types.go"), "utf8"),
      rpcStatus: await readFile(join(cacheDir, "rpc-status.pb.go"), "utf8"),
    },
    packages,
    cacheDir,
  };
}

/** `package=version` for each package, from one apt-cache call ("unknown" when apt cannot say). */
async function candidateVersions(names: readonly string[]): Promise<string[]> {
  const versions = new Map<string, string>();
  try {
    const { stdout } = await run("apt-cache", ["show", "--no-all-versions", ...names]);
    for (const stanza of stdout.split(/\n\n+/)) {
      const name = /^Package: (.+)$/m.exec(stanza)?.[1];
      const version = /^Version: (.+)$/m.exec(stanza)?.[1];
      if (name !== undefined && version !== undefined) versions.set(name, version);
    }
  } catch {
    // apt-get download below reports the real problem
  }
  return names.map((name) => `${name}=${versions.get(name) ?? "unknown"}`);
}

async function populate(cacheDir: string, packages: readonly string[]): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "husk-containerd-protos-build-"));
  try {
    const debs = join(work, "debs");
    await mkdir(debs);
    await download(debs);
    const tree = join(work, "tree");
    for (const deb of (await readdir(debs)).filter((f) => f.endsWith(".deb"))) {
      // Extract only what is needed (genproto alone unpacks to ~50 MB).
      await run("sh", [
        "-c",
        'mkdir -p "$2" && dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "*.proto" "*/ttrpc/types.go" "*/rpc/status/status.pb.go"',
        "sh",
        join(debs, deb),
        tree,
      ]).catch((error: unknown) => {
        // tar exits non-zero when a package has none of the patterns; that is fine.
        if (!String((error as { stderr?: string }).stderr).includes("Not found in archive")) throw error;
      });
    }
    const src = join(tree, GOCODE);

    // Stage exactly the files to compile, laid out by import path, so buf sees no stray definitions.
    const stage = join(work, "stage");
    for (const path of [...COMPARED_PROTO_PATHS, ...SUPPORT_PROTO_PATHS]) {
      await copyInto(join(src, path), join(stage, path));
    }
    await copyInto(
      join(src, "github.com/gogo/protobuf/gogoproto/gogo.proto"),
      join(stage, "gogoproto/gogo.proto"),
    );
    // runtimeoptions imports gogo.proto by its full Go path, every other file by "gogoproto/gogo.proto";
    // two copies of gogo.proto cannot be compiled together, so point that one import at the shared copy.
    const runtimeOptions = join(stage, "github.com/containerd/containerd/pkg/runtimeoptions/v1/api.proto");
    const text = await readFile(runtimeOptions, "utf8");
    await writeFile(
      runtimeOptions,
      text.replace('"github.com/gogo/protobuf/gogoproto/gogo.proto"', '"gogoproto/gogo.proto"'),
    );
    await writeFile(join(stage, "buf.yaml"), "version: v2\n");

    const out = join(work, "out");
    await mkdir(out);
    await run(
      BUF,
      [
        "build",
        stage,
        "--as-file-descriptor-set",
        "--exclude-source-info",
        "-o",
        join(out, "containerd.binpb"),
      ],
      { cwd: stage, timeout: 300_000 },
    ).catch((error: unknown) => {
      throw new Error(
        `buf build of containerd's protos failed: ${(error as { stderr?: string }).stderr ?? String(error)}`,
        { cause: error },
      );
    });
    await copyFile(join(src, GO_SOURCES.ttrpcTypes), join(out, "ttrpc-types.go"));
    await copyFile(join(src, GO_SOURCES.rpcStatus), join(out, "rpc-status.pb.go"));
    await writeFile(join(out, "packages.txt"), `${packages.join("\n")}\n`);
    await writeFile(join(out, "complete"), "");
    // Rename is atomic: a concurrent run either sees the finished cache or builds its own.
    await rename(out, cacheDir).catch((error: unknown) => {
      if (!existsSync(join(cacheDir, "complete"))) throw error;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function download(dir: string): Promise<void> {
  const args = ["-q", "-o", "APT::Sandbox::User=root", "download", ...DEBIAN_PACKAGES];
  const attempt = () => run("apt-get", args, { cwd: dir, timeout: 180_000 });
  try {
    await attempt();
    return;
  } catch (first) {
    // A machine without package lists cannot locate the packages; refresh them once and retry.
    try {
      await run("apt-get", ["-q", "update"], { timeout: 300_000 });
      await attempt();
    } catch (second) {
      const detail = (e: unknown) => ((e as { stderr?: string }).stderr ?? String(e)).trim();
      throw new Error(
        `cannot fetch containerd's .proto files from Debian: "apt-get download ${DEBIAN_PACKAGES.join(" ")}" failed ` +
          `(${detail(first)}; after apt-get update: ${detail(second)}). The descriptor conformance test needs the ` +
          "Debian archive (network access and apt sources for bookworm).",
        { cause: second },
      );
    }
  }
}

async function copyInto(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
}
