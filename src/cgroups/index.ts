/**
 * cgroup statistics (v1 and v2) and OOM watching for containers.
 */
export * from "./cgroup.js";
export * from "./metrics.js";
export * from "./mode.js";
export * from "./parse.js";
export * from "./v1.js";
export * from "./v2.js";
