import { VERSION } from "../version.js";

// Placeholder until the shim issue: answers -v honestly and refuses everything else.
if (process.argv.includes("-v") || process.argv.includes("--version")) {
  process.stdout.write(`containerd-shim-husk-v2:\n  Version:  ${VERSION}\n`);
} else {
  process.stderr.write("containerd-shim-husk-v2: not implemented yet\n");
  process.exitCode = 1;
}
