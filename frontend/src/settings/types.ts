import type { Role } from "../lib/session";

export interface Member {
  id: number;
  email: string;
  name: string;
  role: Role;
  is_active: boolean;
  joined_at: string;
  deactivated_at: string | null;
}

export interface Invitation {
  id: number;
  email: string;
  role: Role;
  status: "pending" | "accepted" | "revoked";
  invited_by: string | null;
  created_at: string;
  expires_at: string;
  is_expired: boolean;
}

export interface WriteKey {
  id: number;
  name: string;
  hint: string;
  created_at: string;
  revoked_at: string | null;
}

export interface ApiToken {
  id: number;
  name: string;
  hint: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor_email: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}
