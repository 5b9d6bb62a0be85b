// Domain types of the annotation app (roles, project settings, labels) and their zod schemas at the HTTP edge.
import { z } from 'zod';
import { HARM_CATEGORIES, type HarmCategory, type ResponseId, type Severity } from '../data/record.js';

export const ROLES = ['admin', 'reviewer', 'annotator'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: number;
  username: string;
  role: Role;
  /** A disabled account cannot sign in and has no sessions. */
  disabled: boolean;
  createdAt: string;
}

export const ITEM_KINDS = ['task', 'gold', 'qualification'] as const;
/** task: real work; gold: known-answer items mixed into batches; qualification: the entry test. */
export type ItemKind = (typeof ITEM_KINDS)[number];

/** Settings of one project (stored as JSON with the project). */
export const ProjectSettingsSchema = z
  .object({
    annotatorsPerPair: z.number().int().min(1).max(50).default(3).describe('different annotators who label each pair'),
    passMark: z.number().min(0).max(1).default(0.9).describe('share of qualification judgements that must match the gold labels'),
    maxQualificationAttempts: z.number().int().min(1).max(100).default(2).describe('qualification attempts allowed per annotator'),
    goldShare: z.number().min(0).max(1).default(0.1).describe("share of each annotator's assignments that are gold items"),
    auditShare: z.number().min(0).max(1).default(0.1).describe("share of each batch's pairs sampled into the reviewer audit queue"),
    assignmentTimeoutMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .default(120)
      .describe('an unanswered assignment is released to others after this many minutes'),
    instructions: z.string().max(20_000).default('').describe('guidelines shown to annotators above each pair'),
  })
  .strict();
export type ProjectSettings = z.output<typeof ProjectSettingsSchema>;

export interface Project {
  id: number;
  name: string;
  settings: ProjectSettings;
  createdAt: string;
}

/** PKU-SafeRLHF severity names for levels 1-3 (0 is "safe"). */
export const SEVERITY_NAMES = ['minor', 'moderate', 'severe'] as const;
export type SeverityName = (typeof SEVERITY_NAMES)[number];

/** A complete label of one pair in the pair's original order (response 0, response 1). */
export interface PairLabel {
  better: ResponseId;
  safer: ResponseId;
  isSafe: [boolean, boolean];
  categories: [HarmCategory[], HarmCategory[]];
  severity: [Severity, Severity];
}

/** The answer for one response as the annotator gave it. */
const ResponseAnswerSchema = z
  .object({
    safe: z.boolean(),
    categories: z.array(z.enum(HARM_CATEGORIES)).max(HARM_CATEGORIES.length),
    severity: z.enum(SEVERITY_NAMES).nullable(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.safe && (r.categories.length > 0 || r.severity !== null)) {
      ctx.addIssue({ code: 'custom', message: 'a safe response takes no harm category and no severity' });
    }
    if (!r.safe && r.categories.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['categories'], message: 'an unsafe response needs at least one harm category' });
    }
    if (!r.safe && r.severity === null) {
      ctx.addIssue({ code: 'custom', path: ['severity'], message: 'an unsafe response needs a severity (minor, moderate or severe)' });
    }
    if (new Set(r.categories).size !== r.categories.length) {
      ctx.addIssue({ code: 'custom', path: ['categories'], message: 'a harm category is listed twice' });
    }
  });

/**
 * What the page submits, in display terms: the pair is shown as left/right in a random order
 * recorded with the assignment, so the server maps it back to response 0/1.
 */
export const LabelSubmissionSchema = z
  .object({
    moreHelpful: z.enum(['left', 'right']),
    moreHarmless: z.enum(['left', 'right']),
    left: ResponseAnswerSchema,
    right: ResponseAnswerSchema,
  })
  .strict();
export type LabelSubmission = z.output<typeof LabelSubmissionSchema>;

/** Maps a display-order submission back to response ids. `swapped`: response 1 was shown on the left. */
export function submissionToLabel(s: LabelSubmission, swapped: boolean): PairLabel {
  const idOf = (side: 'left' | 'right'): ResponseId => ((side === 'left') === !swapped ? 0 : 1);
  const [r0, r1] = swapped ? [s.right, s.left] : [s.left, s.right];
  const sev = (r: typeof r0): Severity => (r.severity === null ? 0 : ((SEVERITY_NAMES.indexOf(r.severity) + 1) as Severity));
  return {
    better: idOf(s.moreHelpful),
    safer: idOf(s.moreHarmless),
    isSafe: [r0.safe, r1.safe],
    categories: [sortCategories(r0.categories), sortCategories(r1.categories)],
    severity: [sev(r0), sev(r1)],
  };
}

/** Categories in the dataset's canonical order. */
export function sortCategories(cats: readonly HarmCategory[]): HarmCategory[] {
  const set = new Set(cats);
  return HARM_CATEGORIES.filter((c) => set.has(c));
}

/** Gold answer of a gold or qualification item; categories and severity only when the source had them. */
export interface GoldLabel {
  better: ResponseId;
  safer: ResponseId;
  isSafe: [boolean, boolean];
  categories?: [HarmCategory[], HarmCategory[]];
  severity?: [Severity, Severity];
}

export const GoldLabelSchema: z.ZodType<GoldLabel> = z.object({
  better: z.union([z.literal(0), z.literal(1)]),
  safer: z.union([z.literal(0), z.literal(1)]),
  isSafe: z.tuple([z.boolean(), z.boolean()]),
  categories: z.tuple([z.array(z.enum(HARM_CATEGORIES)), z.array(z.enum(HARM_CATEGORIES))]).optional(),
  severity: z
    .tuple([z.number().int().min(0).max(3), z.number().int().min(0).max(3)])
    .transform((s) => s as [Severity, Severity])
    .optional(),
}) as z.ZodType<GoldLabel>;

/** The judgements compared against gold answers: both preferences and each response's safety. */
export const SCORED_JUDGEMENTS = ['better', 'safer', 'safe0', 'safe1'] as const;

/** Per-judgement matches of a label against a gold answer. */
export function goldMatches(label: Pick<PairLabel, 'better' | 'safer' | 'isSafe'>, gold: GoldLabel): boolean[] {
  return [label.better === gold.better, label.safer === gold.safer, label.isSafe[0] === gold.isSafe[0], label.isSafe[1] === gold.isSafe[1]];
}
