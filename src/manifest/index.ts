export { parseDuration, parseSize } from "./duration.js";
export { loadManifest, parseManifest } from "./load.js";
export { ManifestSchema } from "./schema.js";
export type { CurveSettings, Manifest, Platform, RestartPolicy, ServiceSpec, Settings } from "./spec.js";
export { PLATFORMS, RESTART_POLICIES } from "./spec.js";
export { diffServices, type ManifestDiff } from "./diff.js";
