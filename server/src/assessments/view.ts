import { z } from 'zod';
import { iso, isoOrNull } from '../http';
import { AssessmentFacts } from './evaluate';
import type { AssessmentRow, eventsOf, sanctionsOfSubject } from './repository';
import { ManagementLevel, Sanction } from './rules';

/** The API shapes of assessments, their history and sanctions. */
export const AssessmentStatus = z
  .enum(['recommended', 'confirmed', 'overridden'])
  .describe(
    'recommended: waiting for a decision; confirmed as recommended; overridden with a reason',
  );

export const AssessmentEventView = z.object({
  id: z.number().int(),
  at: z.string(),
  action: z.enum(['computed', 'recomputed', 'confirmed', 'overridden']),
  /** null = the platform. */
  actorId: z.string().nullable(),
  actorName: z.string().nullable(),
  data: z.unknown(),
});

export const AssessmentView = z.object({
  id: z.string(),
  subjectId: z.string(),
  subjectName: z.string(),
  jurisdictionCode: z.string(),
  /** 'YYYY-MM' (China time). */
  month: z.string(),
  score: z.number(),
  recommendedLevel: ManagementLevel,
  recommendedSanction: Sanction,
  status: AssessmentStatus,
  finalLevel: ManagementLevel.nullable(),
  finalSanction: Sanction.nullable(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  decisionReason: z.string().nullable(),
  computedAt: z.string(),
  /** The subject's management level now. */
  currentLevel: ManagementLevel,
  facts: AssessmentFacts,
  /** Oldest first. */
  events: z.array(AssessmentEventView),
});
export type AssessmentView = z.infer<typeof AssessmentView>;

export const SanctionView = z.object({
  id: z.string(),
  subjectId: z.string(),
  kind: Sanction.exclude(['none']),
  decidedAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedByName: z.string().nullable(),
  assessmentId: z.string().nullable(),
  /** 'YYYY-MM' of the assessment it came from. */
  assessmentMonth: z.string().nullable(),
  reason: z.string(),
});

type Row = AssessmentRow & {
  jurisdiction_code: string;
  subject_name: string;
  management_level: z.infer<typeof ManagementLevel>;
};
type EventRow = Awaited<ReturnType<typeof eventsOf>>[number];

export function toAssessmentView(a: Row, events: EventRow[]): AssessmentView {
  return {
    id: a.id,
    subjectId: a.subject_id,
    subjectName: a.subject_name,
    jurisdictionCode: a.jurisdiction_code,
    month: a.month.slice(0, 7),
    score: a.score,
    recommendedLevel: a.recommended_level,
    recommendedSanction: a.recommended_sanction,
    status: a.status,
    finalLevel: a.final_level,
    finalSanction: a.final_sanction,
    decidedBy: a.decided_by,
    decidedAt: isoOrNull(a.decided_at),
    decisionReason: a.decision_reason,
    computedAt: iso(a.computed_at),
    currentLevel: a.management_level,
    facts: a.facts as AssessmentView['facts'],
    events: events
      .filter((e) => e.assessment_id === a.id)
      .map((e) => ({
        id: e.id,
        at: iso(e.at),
        action: e.action,
        actorId: e.actor_id,
        actorName: e.actor_name,
        data: e.data,
      })),
  };
}

export function toSanctionView(
  s: Awaited<ReturnType<typeof sanctionsOfSubject>>[number],
): z.infer<typeof SanctionView> {
  return {
    id: s.id,
    subjectId: s.subject_id,
    kind: s.kind,
    decidedAt: iso(s.decided_at),
    decidedBy: s.decided_by,
    decidedByName: s.decided_by_name,
    assessmentId: s.assessment_id,
    assessmentMonth: s.month ? s.month.slice(0, 7) : null,
    reason: s.reason,
  };
}
