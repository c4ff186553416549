export { type BinaryLogger, startBinaryLogger } from "./binary-logger.js";
export { readableFromFd, readableFromPtyMaster, writableFromFd } from "./fd-streams.js";
export { openProcessIO, type ProcessIO, type RuntimeStdio } from "./process-io.js";
export {
  type LoggerSpec,
  NULL_STREAM,
  type StdioSpec,
  type StreamSpec,
  stdioFromContainerd,
} from "./spec.js";
