/** The members, keys and audit API's shapes (accounts/api.py), generated from /api/schema/ (lib/schema.d.ts: `make types`). */
import type { components } from "../lib/schema";

type Schemas = components["schemas"];

export type Member = Schemas["Member"];
export type Invitation = Schemas["Invitation"];
export type WriteKey = Schemas["WriteKey"];
export type ApiToken = Schemas["ApiToken"];
export type AuditEntry = Required<Schemas["AuditEntry"]>;
