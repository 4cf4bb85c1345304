/** The outbox's and sending settings' shapes (delivery/api.py), generated from /api/schema/
 * (lib/schema.d.ts: `make types`). `Required<>`: a model serializer writes every field in its
 * answers, even those a request may leave out. */
import type { components } from "../lib/schema";

type Schemas = components["schemas"];

export type MessageSummary = Required<Schemas["Message"]>;
export type SandboxSummary = Required<Schemas["SandboxEmail"]>;
export type SandboxDetail = Required<Schemas["SandboxEmailDetail"]>;
export type MessageDetail = Omit<Required<Schemas["MessageDetail"]>, "sandbox"> & { sandbox: SandboxDetail | null };

export type Topic = Schemas["Topic"];
/** A request may send null for "no limit" (0); the answer always has the number. */
export type SendingSettings = Omit<Required<Schemas["SendingSettings"]>, "send_rate_per_second" | "send_window_limit"> & {
  send_rate_per_second: number;
  send_window_limit: number;
};
export type RecordCheck = Schemas["RecordCheck"];
export type DomainCheck = Schemas["DomainCheck"];
