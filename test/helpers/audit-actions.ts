import type { AuditAction } from '../../src/audit/actions.js';

/**
 * An undeclared action name, for tests and benchmarks of the audit chain itself (volume, ordering,
 * odd values) where what the event means does not matter. Product code cannot do this: recordAudit
 * accepts only the declared catalog.
 */
export const testAction = (name: string): AuditAction => name as AuditAction;
