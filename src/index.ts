/**
 * husk's public API. Anything not exported here is internal and may change.
 */
export {
  Code,
  codeName,
  HuskError,
  isHuskError,
} from "./errors.js";
export { VERSION } from "./version.js";
