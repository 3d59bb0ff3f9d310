/** The public API of the `flowinit` package: re-exports only. */
export { Client, RequestError, request, sendRaw, type ClientOptions } from "./client/client.js";
export { defaultEndpoint } from "./platform/endpoints.js";
export { subscribe, type StatusMessage, type SubscribeOptions } from "./client/subscribe.js";
export { loadManifest, parseManifest } from "./manifest/load.js";
export type { CurveSettings, GateCondition, GateSpec, Manifest, Platform, RestartPolicy, ServiceSpec, Settings } from "./manifest/spec.js";
export { PLATFORMS, RESTART_POLICIES } from "./manifest/spec.js";
export type {
  AnyEvent,
  DaemonInfo,
  EventMessage,
  GateEventMessage,
  Health,
  HealthMessage,
  HistoryEntry,
  Phase,
  ReloadReply,
  Request,
  ServiceEntry,
  Snapshot,
  Stamp,
  Topic,
} from "./bus/protocol.js";
export type { GateView } from "./supervisor/gates.js";
export type { StateName } from "./supervisor/states.js";
export { runDaemon } from "./daemon.js";
export type { DaemonOptions } from "./daemon-options.js";
export { EXIT, UserError, type Diagnostic, type Result } from "./errors.js";
