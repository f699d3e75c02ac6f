import type { Role } from '@ccm/db';

/** The signed-in user of a request, with the jurisdiction path that scopes every read. */
export interface AuthUser {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  jurisdictionCode: string;
  /** Dotted path of the user's jurisdiction node ('450000.450100'). */
  jurisdictionPath: string;
  sessionId: string;
  sessionScope: 'full' | 'totp_enroll';
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: AuthUser;
  }
  interface FastifyContextConfig {
    /** No sign-in needed (login, health, docs, broker hooks). */
    public?: boolean;
    /** Roles allowed; absent = every signed-in role. */
    roles?: readonly Role[];
    /** Reachable with a 'totp_enroll' session (second-factor set-up, logout). */
    allowDuringTotpEnrolment?: boolean;
  }
}
