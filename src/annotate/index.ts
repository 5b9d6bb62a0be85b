// Public API of the annotation app: the server, its database, the agreement maths, resolution and export.
export { createAnnotationServer, type AnnotationServerOptions } from './server.js';
export { serve, ensureAdmin, AdminSetupError, type RunningServer } from './serve.js';
export { ServeConfigSchema, SecuritySchema, type ServeConfig, type SecurityConfig } from './config.js';
export { openDatabase } from './db/open.js';
export { migrate, MIGRATIONS, MigrationError, type Migration } from './db/migrations.js';
export { DatabaseError, UniqueViolationError, RetryableTransactionError, type SqlDriver, type SqlRunner, type SqlValue, type Dialect } from './db/driver.js';
export { cohensKappa, fleissKappa, fleissKappaFromCounts, percentAgreement, majority, type KappaResult, type MajorityResult } from './agreement.js';
export { resolveByMajority, type Resolution, type VotedJudgement } from './aggregate.js';
export { aggregateExport, rawLabelRows, buildExport, toJsonl, type ExportKind, type ProjectExport } from './export.js';
export { projectStats, type ProjectStats } from './stats.js';
export { parseImport, ImportError, type ImportItem } from './import.js';
export {
  ProjectSettingsSchema,
  LabelSubmissionSchema,
  submissionToLabel,
  ROLES,
  ITEM_KINDS,
  type Role,
  type User,
  type Project,
  type ProjectSettings,
  type PairLabel,
  type GoldLabel,
  type LabelSubmission,
} from './model.js';
// Generation needs the libtorch engine; import it from './generate-pairs.js' where wanted.
export type { GeneratePairsOptions } from './generate-pairs.js';
