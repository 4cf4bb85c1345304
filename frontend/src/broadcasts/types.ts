/**
 * The broadcasts API's shapes (journeys/broadcasts_api.py), generated from /api/schema/
 * (lib/schema.d.ts: `make types`).
 */
import type { components } from "../lib/schema";

type Schemas = components["schemas"];

export type Broadcast = Schemas["Broadcast"];
export type BroadcastKind = Broadcast["kind"];
export type BroadcastSchedule = Broadcast["schedule"];
export type BroadcastStatus = Broadcast["status"];
/** `segment` null: the form before a segment is chosen (the server answers 400 naming the field). */
export type BroadcastInput = Omit<Schemas["BroadcastInputRequest"], "segment"> & { segment: number | null };
