// Problems found while reading data files: collected with file:line and reason, or thrown in strict mode.

/** What went wrong on a line. */
export type ProblemKind =
  /** Not valid JSON. */
  | 'json'
  /** Valid JSON, but a field is missing or has the wrong type/value. */
  | 'schema'
  /** A dialogue could not be split into a shared prompt and two final assistant turns. */
  | 'dialogue'
  /** The safer response is labelled unsafe while the other is labelled safe. */
  | 'inconsistent'
  /** Labels that disagree with each other inside one response (e.g. safe but severity 2). */
  | 'label'
  /** A stored checksum does not match the text. */
  | 'checksum';

/** Kinds that mean the line could not be turned into a record at all. */
export const FATAL_KINDS: ReadonlySet<ProblemKind> = new Set(['json', 'schema', 'dialogue']);

export interface DataProblem {
  file: string;
  /** 1-based line number. */
  line: number;
  kind: ProblemKind;
  /** Field path inside the line's JSON object, when the problem is about one field. */
  field?: string;
  /** What was expected and what was found. */
  message: string;
  /** Whether the record was kept (label warnings, inconsistent rows under `inconsistent: 'keep'`). */
  kept: boolean;
}

/** Formats a problem as `file:line: kind: [field: ]message`. */
export function formatProblem(p: DataProblem): string {
  const field = p.field ? `${p.field}: ` : '';
  return `${p.file}:${p.line}: ${p.kind}: ${field}${p.message}${p.kept ? ' (record kept)' : ''}`;
}

/** A line that cannot be read as a record (thrown in strict mode), or a file whose format cannot be told. */
export class DataFormatError extends Error {
  override name = 'DataFormatError';
  constructor(
    readonly problem: DataProblem,
    hint?: string,
  ) {
    super(hint ? `${formatProblem(problem)}\n(${hint})` : formatProblem(problem));
  }
}

/** Thrown when records cannot be written in a format (e.g. PKU-SafeRLHF without safety labels). */
export class DataWriteError extends Error {
  override name = 'DataWriteError';
}

/** Thrown when a data file cannot be opened at all. */
export class DataFileError extends Error {
  override name = 'DataFileError';
}
