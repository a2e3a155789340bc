import { PalisadeError, statusesOf } from '../errors.js';
import { GITHUB_ERROR_CODES } from './error-codes.js';

/**
 * Every error code the GitHub integration answers with and its status, from src/github/error-codes.ts
 * (where each is declared once with what it means and what to do). docs/github.md lists each; a test
 * fails when one is undocumented.
 */
export const GITHUB_ERRORS = statusesOf(GITHUB_ERROR_CODES);

export type GithubErrorCode = keyof typeof GITHUB_ERRORS;

export function githubError(code: GithubErrorCode, message: string, details?: Record<string, unknown>): PalisadeError {
  return new PalisadeError<GithubErrorCode>(GITHUB_ERRORS[code], code, message, details ? { details } : {});
}
