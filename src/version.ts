/**
 * Palisade's version, in a module of its own: SIEM formats and SARIF reports name it, and importing
 * it from app.ts would pull the whole app (every route module) into their import graph — a cycle
 * that left route schemas uninitialized when a test imported a domain module first.
 */
export const VERSION = '0.1.0';
